"""``orderbot map --channel CH [FILE|-]``: a channel payload -> canonical JSON, one order a line.

Why a plain function with the streams as parameters: ``bot/cli.py`` owns argparse and wires
this in one line, and tests call it directly with in-memory streams (no subprocess).

The payload is read as raw bytes and handed to the adapter untouched, so ids above 2**53 are
never parsed by anything but the adapter's exact reader. Exit codes: 0 every order printed,
1 the payload is bad (the reason, naming the JSON path or CSV row, goes to stderr and nothing
goes to stdout), 2 usage (unknown channel, unreadable file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO, TextIO

from core.errors import DomainError
from core.order import Order, to_canonical
from integrations.channels import registry

EXIT_OK, EXIT_BAD_PAYLOAD, EXIT_USAGE = 0, 1, 2


def map_command(channel: str, source: str, stdin: BinaryIO, stdout: TextIO,
                stderr: TextIO) -> int:
    """Map the payload in ``source`` (a path, or ``-`` for ``stdin``) for ``channel``."""
    try:
        adapter = registry.get(channel)
        raw = stdin.read() if source == "-" else Path(source).read_bytes()
    except (registry.UnknownChannelError, OSError) as error:
        stderr.write(f"orderbot map: {_reason(error)}\n")
        return EXIT_USAGE
    try:
        orders = adapter.parse(raw)
    except (DomainError, UnicodeError) as error:
        stderr.write(f"orderbot map: {channel}: bad payload: {error}\n")
        return EXIT_BAD_PAYLOAD
    stdout.write("".join(canonical_line(order) for order in orders))
    return EXIT_OK


def canonical_line(order: Order) -> str:
    """One order as its canonical JSON on one line (Chinese text kept readable)."""
    return json.dumps(to_canonical(order), ensure_ascii=False) + "\n"


def _reason(error: Exception) -> str:
    if isinstance(error, OSError):
        return f"cannot read {error.filename}: {error.strerror}"
    return str(error.args[0] if error.args else error)
