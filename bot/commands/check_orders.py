"""``orderbot check [FILE|-]``: the health of canonical orders, one JSON line in, one out.

Runs ``core.health.check_order`` with the rules from the same config the service loads, so a
rule can be tried on exported orders before it is enforced. Input lines are the canonical
contract (``core.order``) plus the optional facts ``weight_g``, ``promise_hours`` and
``custom`` (``core.health.facts``). Output per order::

    {"channel_order_id", "healthy", "findings": [{"code", "class", "dimension", "message",
                                                  "rule", "mode"}]}

``healthy`` counts enforced findings only; shadow findings are listed with ``"mode":
"shadow"``. A malformed line prints ``line N: ...`` on stderr and the command goes on; the
exit status is then 1. Progress goes to stderr about once a second on long input.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from core.errors import InvalidOrderError
from core.health import HealthReport, HealthRules, StockTable, check_order, facts_from_json
from core.order import from_canonical

EXIT_OK, EXIT_MALFORMED, EXIT_USAGE = 0, 1, 2
PROGRESS_EVERY_S = 1.0


def check_command(rules: HealthRules, source: str, stdin: TextIO, stdout: TextIO,
                  stderr: TextIO, *, stock: str | None = None) -> int:
    try:
        snapshot = _stock(stock) if stock else None
        if source == "-":
            bad = _check_lines(stdin, rules, snapshot, stdout, stderr)
        else:
            with Path(source).open(encoding="utf-8") as handle:
                bad = _check_lines(handle, rules, snapshot, stdout, stderr)
    except (OSError, ValueError) as error:  # unreadable file, bad --stock, not UTF-8
        stderr.write(f"orderbot check: {error}\n")
        return EXIT_USAGE
    return EXIT_MALFORMED if bad else EXIT_OK


def _check_lines(lines: Iterable[str], rules: HealthRules, snapshot: StockTable | None,
                 stdout: TextIO, stderr: TextIO) -> int:
    bad = done = 0
    last = started = time.monotonic()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            report, order_id = _check_line(line, rules, snapshot)
        except (ValueError, InvalidOrderError) as error:
            bad += 1
            stderr.write(f"line {number}: {error}\n")
            continue
        stdout.write(report_line(order_id, report))
        done += 1
        if done % 1000 == 0 and (now := time.monotonic()) - last >= PROGRESS_EVERY_S:
            last = now
            stderr.write(f"checked {done} orders ({done / (now - started):,.0f}/s)\n")
    if done >= 1000:
        stderr.write(f"checked {done} orders, {bad} malformed lines\n")
    return bad


def _check_line(line: str, rules: HealthRules, snapshot: StockTable | None
                ) -> tuple[HealthReport, str]:
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(doc, Mapping):
        raise ValueError("expected a JSON object (one canonical order)")
    order = from_canonical(doc)
    return check_order(order, rules, snapshot, facts=facts_from_json(doc)), order.channel_order_id


def report_line(order_id: str, report: HealthReport) -> str:
    findings = [finding.to_json() for finding in report.findings]
    return json.dumps({"channel_order_id": order_id, "healthy": report.healthy,
                       "findings": findings}, ensure_ascii=False) + "\n"


def _stock(path: str) -> StockTable:
    """``--stock FILE``: a JSON object of SKU -> units available now."""
    try:
        levels = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"--stock {path}: not JSON: {error}") from None
    if not isinstance(levels, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in levels.values()):
        raise ValueError(f"--stock {path}: expected an object of SKU -> integer units")
    return StockTable(levels)
