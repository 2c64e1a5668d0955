"""``orderbot stock load FILE.csv``: the stock snapshot the stock health rule reads.

There is no inventory service yet; until there is, the warehouse exports what can be reserved
(a CSV with the columns ``sku`` and ``available``, other columns ignored) and this loads it
into ``stock_levels``. SKUs not in the table are not judged, so a shop that tracks only a few
products lists only those. All or nothing: a bad row names its line and nothing is written.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.app import open_database
from bot.config import Config
from storage.health import load_stock

EXIT_OK, EXIT_FAIL = 0, 1
MAX_UNITS = 10**12


class StockFileError(ValueError):
    """The file is not a stock CSV; the message names the line and the problem."""


def read_levels(text: str) -> dict[str, int]:
    """SKU -> units from CSV text (a SKU listed twice: the last row wins)."""
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    fields = {name.strip().lower() for name in rows.fieldnames or ()}
    if not {"sku", "available"} <= fields:
        raise StockFileError("line 1: expected a header with the columns sku and available, "
                             f"got {', '.join(rows.fieldnames or ()) or 'nothing'}")
    levels: dict[str, int] = {}
    for row in rows:
        line = rows.line_num
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        sku, units = values.get("sku", ""), values.get("available", "")
        if not sku:
            raise StockFileError(f"line {line}: sku is empty")
        if not units.isdigit() or int(units) > MAX_UNITS:
            raise StockFileError(f"line {line}: available must be a whole number >= 0, "
                                 f"got {units!r}")
        levels[sku] = int(units)
    return levels


async def load_command(config: Config, path: str, replace_all: bool,
                       out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        text = sys.stdin.read() if path == "-" else await asyncio.to_thread(
            Path(path).read_text, encoding="utf-8")
        levels = read_levels(text)
    except (OSError, UnicodeDecodeError, StockFileError) as error:
        print(f"orderbot stock load: {path}: {error}", file=err)
        return EXIT_FAIL
    database = open_database(config)
    try:
        async with database.engine.begin() as conn:
            written = await load_stock(conn, levels, at=datetime.now(UTC),
                                       replace_all=replace_all)
    finally:
        await database.engine.dispose()
    how = "replaced the table" if replace_all else "upserted"
    print(f"{written} SKU stock level(s) loaded ({how})", file=out)
    return EXIT_OK
