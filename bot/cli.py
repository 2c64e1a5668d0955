"""The ``orderbot`` command. Exit codes: 0 ok, 1 failure or not found, 2 bad config or usage."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.config import Config, ConfigError, load_config
from bot.logs import configure

EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="orderbot", description="Order fulfilment assistant.")
    root.add_argument("--config", type=Path, help="TOML file (default: ./config.toml if any)")
    root.add_argument("--version", action="version", version=f"orderbot {__version__}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="serve the bot (web chat, webhooks, workers)",
                        description="Start the service and serve until Ctrl-C.")
    db = commands.add_parser("db", help="database schema", description="Database schema.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    db_commands.add_parser("upgrade", help="apply migrations up to the latest",
                           description="Apply all pending migrations.")
    order = commands.add_parser("order", help="inspect orders", description="Inspect orders.")
    order_commands = order.add_subparsers(dest="order_command", required=True,
                                          metavar="SUBCOMMAND")
    for name, text in (("show", "the order as canonical JSON"),
                       ("trace", "the order's event history and chain check")):
        sub = order_commands.add_parser(name, help=text, description=f"Print {text}.")
        sub.add_argument("ref", metavar="ID",
                         help="channel:order_id, a channel order id, or a database id")
        sub.add_argument("--reveal", action="store_true",
                         help="print phone and address unmasked")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    configure(config.log.level, config.log.format)
    if args.command == "run":
        return _run(config)
    if args.command == "db":
        return _db_upgrade(config)
    return asyncio.run(_order(config, args.order_command, args.ref, args.reveal))


def _run(config: Config) -> int:
    from bot.app import SchemaOutOfDateError, run

    try:
        run(config)
    except SchemaOutOfDateError as error:
        print(f"orderbot: {error}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _db_upgrade(config: Config) -> int:
    from storage.migrate import head_revision, upgrade

    upgrade(config.database.url)
    print(f"database at revision {head_revision()}")
    return EXIT_OK


async def _order(config: Config, command: str, ref: str, reveal: bool) -> int:
    from bot.app import open_database
    from bot.order_views import render_order, render_trace

    database = open_database(config)
    try:
        async with database.new_uow() as uow:
            keys = await uow.orders.find(ref)
            if len(keys) != 1:
                print(_not_one(ref, keys), file=sys.stderr)
                return EXIT_FAIL
            stored = await uow.orders.get(keys[0])
            events = await uow.orders.events(keys[0])
    finally:
        await database.engine.dispose()
    assert stored is not None
    if command == "show":
        print(json.dumps(render_order(stored, reveal=reveal), ensure_ascii=False, indent=2))
    else:
        print(render_trace(keys[0], events))
    return EXIT_OK


def _not_one(ref: str, keys: list[str]) -> str:
    if not keys:
        return f"orderbot: no order matches {ref!r}"
    return f"orderbot: {ref!r} is ambiguous, use one of: {', '.join(keys)}"


if __name__ == "__main__":
    sys.exit(main())
