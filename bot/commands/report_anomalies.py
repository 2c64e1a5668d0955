"""``orderbot report anomalies --since DATE [--json]``: the anomaly figures for a period.

The same aggregates ``/metrics`` serves (``storage.anomaly_stats``), over anomalies opened
since DATE: counts by class and code, how they were closed, the self-healing rate (closed
automatically or by one tap on the suggestion / all closed), mean time to first action,
escalations, and how often each health rule hit (shadow rules only show up here and in
``/metrics``: they never open an anomaly). A table for people, ``--json`` for scripts.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, time
from typing import TextIO

from bot.app import open_database
from bot.config import Config
from core.anomalies import Resolution
from core.anomaly_stats import AnomalyStats
from core.clock import SHANGHAI
from storage.anomaly_stats import anomaly_stats

EXIT_OK, EXIT_USAGE = 0, 2
CLASS_NAMES = {"A": "数据修正", "B": "决策", "C": "冻结"}


def parse_since(text: str) -> datetime:
    """``2026-01-08`` (the start of that day in Beijing) or an ISO time with an offset."""
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day, time(), tzinfo=SHANGHAI)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since: expected YYYY-MM-DD or an ISO time, got {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"--since: {text!r} has no UTC offset (or give a date)")
    return moment


async def report_command(config: Config, since_text: str, as_json: bool,
                         out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        since = parse_since(since_text)
    except ValueError as error:
        print(f"orderbot report anomalies: {error}", file=err)
        return EXIT_USAGE
    database = open_database(config)
    try:
        stats = await anomaly_stats(database.engine, since=since)
    finally:
        await database.engine.dispose()
    if as_json:
        print(json.dumps(stats.report(), ensure_ascii=False), file=out)
    else:
        out.write(render(stats))
    return EXIT_OK


def render(stats: AnomalyStats) -> str:
    """The report as aligned plain-text tables."""
    doc = stats.report()
    since = stats.since.astimezone(SHANGHAI).isoformat(timespec="minutes") if stats.since \
        else "the beginning"
    lines = [f"Anomalies opened since {since} (Asia/Shanghai)", ""]
    rate = doc["self_healing_rate"]
    healed = f"{rate:.1%} ({stats.self_healed}/{stats.closed})" if rate is not None \
        else "n/a (none closed)"
    mean = doc["mean_time_to_first_action_s"]
    lines += [f"opened                      {stats.opened}",
              f"closed                      {stats.closed}  ("
              + ", ".join(f"{how.value} {doc['closed_by'][how.value]}" for how in Resolution)
              + ")",
              f"self-healing rate           {healed}",
              f"mean time to first action   {'n/a' if mean is None else f'{mean:.1f} s'}",
              f"escalations                 {stats.escalations}", ""]
    open_now = dict(stats.open_by_code)
    rows = [[klass, CLASS_NAMES.get(klass, ""), code, str(n), str(open_now.get((klass, code), 0))]
            for (klass, code), n in sorted(stats.opened_by_code.items())]
    lines += _table(["class", "", "code", "opened", "open now"], rows, "no anomalies opened")
    lines.append("")
    hits = [[rule, code, mode, str(n)] for (rule, code, mode), n in sorted(
        stats.rule_hits.items(), key=lambda item: (item[0][2] != "shadow", item[0]))]
    lines.append("Health rule hits (shadow rules are only counted):")
    lines += _table(["rule", "code", "mode", "hits"], hits, "no rule hits")
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]], empty: str) -> list[str]:
    if not rows:
        return [f"  ({empty})"]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(_pad(cell, width, numeric=cell.isdigit())
                                for cell, width in zip(cells, widths, strict=True)).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int, *, numeric: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if numeric else text + gap

