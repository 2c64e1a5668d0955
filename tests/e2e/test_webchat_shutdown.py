"""Ctrl-C with a web chat tab open: the service closes the page's live socket (1001 Going
Away, the page reconnects when the service is back) and exits at once, instead of waiting
``server.shutdown_timeout_s`` for the socket's handler to give up.

The real ``orderbot run`` in a child process, as ``make run`` starts it, with the shutdown
timeout raised to 60 s so that a socket left open would visibly hold the exit.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import aiohttp

from tests.e2e.service import env_for, free_port, orderbot, start, wait_healthy

HOLD_S = 60


async def test_ctrl_c_closes_open_chat_pages_and_exits(tmp_path: Path) -> None:
    env = env_for(f"sqlite+aiosqlite:///{tmp_path}/orderbot.db")
    assert orderbot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    port = free_port()
    process = start("run", env=env | {"ORDERBOT_SERVER__PORT": str(port),
                                      "ORDERBOT_SERVER__SHUTDOWN_TIMEOUT_S": str(HOLD_S)},
                    cwd=tmp_path)
    try:
        assert await wait_healthy(port) is not None
        async with aiohttp.ClientSession() as session:
            pages = [await session.ws_connect(f"http://127.0.0.1:{port}/chat/ws?as=customer")
                     for _ in range(2)]  # two tabs
            sent = time.monotonic()
            process.send_signal(signal.SIGINT)
            for page in pages:
                message = await page.receive(timeout=HOLD_S / 2)
                assert message.type is aiohttp.WSMsgType.CLOSE
                assert page.close_code == aiohttp.WSCloseCode.GOING_AWAY
        assert process.wait(timeout=HOLD_S / 2) == 0
        assert time.monotonic() - sent < HOLD_S / 2  # not held until the shutdown timeout
    finally:
        if process.poll() is None:
            process.kill()
    _, stderr = process.communicate()
    assert "closed 2 web chat socket(s) for shutdown" in stderr
