"""The real service as `make run` starts it: health, clean Ctrl-C, refusals at start-up."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import aiohttp
import pytest

from storage.migrate import head_revision
from tests.e2e.service import env_for, free_port, orderbot, start, wait_healthy


async def test_run_serves_healthz_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = env_for(f"sqlite+aiosqlite:///{tmp_path}/orderbot.db")
    upgrade = orderbot("db", "upgrade", env=env, cwd=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    process = start("run", env=env | {"ORDERBOT_SERVER__PORT": str(port)}, cwd=tmp_path)
    try:
        response = await wait_healthy(port)
        assert response is not None and response.status == 200
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as again:
                body = await again.json()
        assert body["status"] == "ok"
        assert body["schema"] == body["schema_head"] == head_revision()
        assert body["app"]
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=5)
        assert code == 0 and time.monotonic() - sent < 5
    finally:
        if process.poll() is None:
            process.kill()
    _, stderr = process.communicate()
    assert f"listening on http://127.0.0.1:{port}" in stderr


def test_run_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = env_for(f"sqlite+aiosqlite:///{tmp_path}/empty.db",
                  ORDERBOT_SERVER__PORT=str(free_port()))
    result = orderbot("run", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "run `orderbot db upgrade`" in result.stderr


@pytest.mark.parametrize(
    ("toml", "key"),
    [("[server]\nport = \"x\"\n", "[server] port"), ("[server]\nprot = 1\n", "[server] prot")],
)
def test_broken_config_prints_one_line_and_exits_2(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "bad.toml").write_text(toml, encoding="utf-8")
    result = orderbot("--config", "bad.toml", "run", env=env_for("sqlite+aiosqlite:///x.db"),
                      cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and key in result.stderr
    assert result.stdout == ""


def test_config_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[log]\nlevel = \"LOUD\"\n", encoding="utf-8")
    result = orderbot("run", env=env_for("sqlite+aiosqlite:///x.db"), cwd=tmp_path)
    assert result.returncode == 2 and "[log] level" in result.stderr


@pytest.mark.parametrize("args", [[], ["run"], ["db"], ["db", "upgrade"], ["order"],
                                  ["order", "show"], ["order", "trace"]])
def test_help_everywhere(tmp_path: Path, args: list[str]) -> None:
    result = orderbot(*args, "--help", env=env_for("sqlite+aiosqlite:///x.db"), cwd=tmp_path)
    assert result.returncode == 0 and "usage: orderbot" in result.stdout
