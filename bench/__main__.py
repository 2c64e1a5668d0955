"""Run every benchmark, print ``name: value unit`` per figure, write ``var/bench.json``.

Each ``bench/bench_*.py`` has ``async def run() -> list[Figure]``. ``python -m bench NAME``
runs only the modules whose name contains NAME.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from pathlib import Path

from bench.common import Figure

OUT = Path("var/bench.json")


def modules(filters: list[str]) -> list[str]:
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    return [n for n in names if not filters or any(f in n for f in filters)]


def main(argv: list[str]) -> int:
    figures: dict[str, dict[str, float | str]] = {}
    if OUT.exists():
        figures = json.loads(OUT.read_text())
    for name in modules(argv):
        started = time.perf_counter()
        print(f"# {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.{name}")
        results: list[Figure] = asyncio.run(module.run())
        for figure in results:
            print(f"{figure.name}: {figure.value:g} {figure.unit}", flush=True)
            figures[figure.name] = {"value": figure.value, "unit": figure.unit}
        print(f"# {name} took {time.perf_counter() - started:.1f}s", file=sys.stderr)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(f"# wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
