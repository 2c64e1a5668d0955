"""Run the real ``orderbot`` command in a child process (what `make run` does)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(db_url: str, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERBOT_")}
    env["ORDERBOT_DATABASE__URL"] = db_url
    env.update(overrides)
    return env


def orderbot(*args: str, env: dict[str, str], cwd: Path,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env | {"PYTHONPATH": str(ROOT)},
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )


def start(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args], env=env | {"PYTHONPATH": str(ROOT)}, cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


async def wait_healthy(port: int, deadline_s: float = 20) -> aiohttp.ClientResponse | None:
    """The first answer of ``GET /healthz`` once the service listens, or None by the deadline."""
    until = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < until:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    await response.read()
                    return response
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    return None
