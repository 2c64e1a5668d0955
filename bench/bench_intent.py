"""Intent extraction throughput on one core: the labelled chat messages, repeated.

The measurement runs in a child process pinned to a single CPU (``sched_setaffinity``), so the
figure is what one worker core does, whatever else the machine runs, and the pin does not leak
into the other benchmarks of ``python -m bench``. The child first builds jieba's dictionary
(``intent_startup_s``, paid once per process), then extracts every message of
``tests/data/intent/*.jsonl`` (343 messages: staff and customer styles, addresses, several
number shapes) in rounds for at least ``SECONDS``. ``core.address`` keeps an LRU cache of parsed
addresses, as it does in the service; everything else is computed afresh for every message.

Figures: ``intents_per_s`` (wall clock on the pinned core; target >= 2,000),
``intents_per_cpu_s`` (messages per CPU second of that process: what a core does when it is not
shared; on a busy machine the wall-clock figure is lower by the share other processes take, so
both are printed with the load average), ``intent_startup_s``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from bench.common import Figure

DATA = Path(__file__).parents[1] / "tests" / "data" / "intent"
SECONDS = 5.0


def _messages() -> list[str]:
    texts = []
    for part in sorted(DATA.glob("*.jsonl")):
        for line in part.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def measure() -> dict[str, float]:
    """Runs in the pinned child."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    from core.intent import extract, warm_up

    warm_up()
    startup = time.perf_counter() - started
    texts = _messages()
    done, began, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - began < SECONDS:
        for text in texts:
            extract(text)
        done += len(texts)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {"intents_per_s": done / elapsed, "intents_per_cpu_s": done / cpu,
            "intent_startup_s": startup, "messages": done}


async def run() -> list[Figure]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_intent", stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"intent bench child failed with exit code {child.returncode}")
    result = json.loads(out)
    print(f"# {result['messages']:.0f} messages extracted on one core; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    return [Figure("intents_per_s", round(result["intents_per_s"]), "intents/s"),
            Figure("intents_per_cpu_s", round(result["intents_per_cpu_s"]), "intents/cpu-s"),
            Figure("intent_startup_s", round(result["intent_startup_s"], 2), "s")]


if __name__ == "__main__":
    print(json.dumps(measure()))
