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
    commands.add_parser("worker", help="run inbox workers only (no HTTP)",
                        description="Process the inbox until Ctrl-C; start several next to "
                                    "one `orderbot run` to use more cores.")
    db = commands.add_parser("db", help="database schema", description="Database schema.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    db_commands.add_parser("upgrade", help="apply migrations up to the latest",
                           description="Apply all pending migrations.")
    mapping = commands.add_parser(
        "map", help="print a channel payload as canonical JSON lines",
        description="Map a platform payload (full API response with envelope, or a bare "
                    "order; POS: CSV) to canonical JSON, one order per line.")
    mapping.add_argument("--channel", required=True, help="taobao, douyin, pdd, jd, youzan, "
                                                          "wechat_shop or pos")
    mapping.add_argument("file", nargs="?", default="-", help="payload file (default: stdin)")
    ingest = commands.add_parser(
        "ingest", help="feed a payload file through the real pipeline",
        description="Parse, snapshot and store the orders in a payload file, exactly as a "
                    "webhook push would be.")
    ingest.add_argument("--channel", required=True, help="the channel the payload came from")
    ingest.add_argument("--shop", help="configured shop id (needed for encrypted pushes)")
    ingest.add_argument("file", help="payload file, or - for stdin")
    check = commands.add_parser(
        "check", help="health-check canonical orders (JSON lines)",
        description="Check canonical orders, one JSON object per line, with the [health] "
                    "rules of the config; print one JSON result per order.")
    check.add_argument("file", nargs="?", default="-", help="orders file (default: stdin)")
    check.add_argument("--stock", metavar="FILE",
                       help="JSON object of SKU -> units available (checks stock too)")
    stock = commands.add_parser("stock", help="the stock snapshot the health checks read",
                                description="Stock levels per SKU (until an inventory "
                                            "service exists).")
    stock_commands = stock.add_subparsers(dest="stock_command", required=True,
                                          metavar="SUBCOMMAND")
    stock_load = stock_commands.add_parser(
        "load", help="load a CSV of sku,available",
        description="Load units available per SKU from a CSV with the columns sku and "
                    "available; SKUs not loaded are not judged by the stock rule.")
    stock_load.add_argument("file", help="CSV file, or - for stdin")
    stock_load.add_argument("--replace", action="store_true",
                            help="the file is the whole snapshot: drop SKUs not in it")
    report = commands.add_parser("report", help="reports", description="Reports.")
    report_commands = report.add_subparsers(dest="report_command", required=True,
                                            metavar="SUBCOMMAND")
    anomalies = report_commands.add_parser(
        "anomalies", help="anomaly figures since a date",
        description="Anomalies opened since DATE by class and code, self-healing rate, mean "
                    "time to first action, escalations and health rule hits (shadow too).")
    anomalies.add_argument("--since", required=True, metavar="DATE",
                           help="YYYY-MM-DD (Beijing day) or an ISO time with offset")
    anomalies.add_argument("--json", action="store_true", help="one JSON object")
    dead = commands.add_parser("deadletter", help="payloads that failed",
                               description="Payloads that failed, kept with the reason.")
    dead_commands = dead.add_subparsers(dest="dead_command", required=True, metavar="SUBCOMMAND")
    listing = dead_commands.add_parser("list", help="list dead letters (not yet replayed)",
                                       description="List dead letters, newest first.")
    listing.add_argument("--all", action="store_true", help="include replayed ones")
    replay = dead_commands.add_parser("replay", help="process a dead letter again",
                                      description="Process a dead letter again (after a "
                                                  "mapping or configuration fix).")
    replay.add_argument("id", type=int, metavar="ID", help="dead letter id (from list)")
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
    intent = commands.add_parser(
        "intent", help="what the bot reads in a chat message (JSON line)",
        description="Print the intent, entities and confidence of a message, or of every "
                    '{"text": ...} line of a JSONL file, as one JSON line each.')
    intent.add_argument("text", nargs="?", help="the message")
    intent.add_argument("--file", help="JSONL file of {\"text\": ...} lines (- for stdin)")
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
    if args.command == "worker":
        from bot.app import new_event_loop, serve_workers

        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(serve_workers(config))
        return EXIT_OK
    if args.command == "db":
        return _db_upgrade(config)
    if args.command == "map":
        from bot.commands.map_orders import map_command

        return map_command(args.channel, args.file, sys.stdin.buffer, sys.stdout, sys.stderr)
    if args.command == "check":
        from bot.commands.check_orders import check_command

        return check_command(config.health.rules(), args.file, sys.stdin, sys.stdout,
                             sys.stderr, stock=args.stock)
    if args.command == "ingest":
        from bot.commands.ingest_files import ingest_file

        return asyncio.run(ingest_file(config, args.channel, args.shop, args.file))
    if args.command == "stock":
        from bot.commands.stock_levels import load_command

        return asyncio.run(load_command(config, args.file, args.replace))
    if args.command == "report":
        from bot.commands.report_anomalies import report_command

        return asyncio.run(report_command(config, args.since, args.json))
    if args.command == "deadletter":
        from bot.commands import ingest_files

        if args.dead_command == "list":
            return asyncio.run(ingest_files.list_dead_letters(config, args.all))
        return asyncio.run(ingest_files.replay_dead_letter(config, args.id))
    if args.command == "intent":
        from bot.commands.intent_text import intent_command

        return intent_command(args.text, args.file, config.intent.ask_back_below, sys.stdin,
                              sys.stdout, sys.stderr)
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
