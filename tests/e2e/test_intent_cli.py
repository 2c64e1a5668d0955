"""`orderbot intent` as a person runs it: the installed console script, one message or a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "orderbot"


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"console script missing: {SCRIPT} (pip install -e .)"
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


def test_one_message_prints_one_json_line_and_nothing_on_stderr(tmp_path: Path) -> None:
    result = run("intent", "急单！１２３４５６７ 今天必須發，地址改成浙江省杭州市西湖区文三路90号",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # jieba's start-up chatter is silenced
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert "浙江省" in lines[0]  # ensure_ascii=False
    out = json.loads(lines[0])
    assert (out["intent"], out["secondary"]) == ("change_address", "urgent")
    assert 0.9 <= out["confidence"] <= 1.0
    assert out["entities"]["order_no"] == "1234567"
    assert out["entities"]["tracking_no"] is None
    assert out["entities"]["new_address"]["district"] == "西湖区"
    assert out["entities"]["new_address"]["detail"] == "文三路90号"
    assert out["ask_back"] is None


def test_a_file_prints_one_line_per_message_and_fails_at_the_end_on_a_bad_line(
    tmp_path: Path,
) -> None:
    messages = tmp_path / "messages.jsonl"
    messages.write_text("\n".join([
        json.dumps({"text": "顺丰 SF1234567890123 到哪了"}, ensure_ascii=False),
        '{"text": "broken',
        "",
        json.dumps({"text": "地址不用改了"}, ensure_ascii=False),
        json.dumps({"message": "no text key"}),
        json.dumps({"text": "+86 139-1234-5678 要退款"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    result = run("intent", "--file", str(messages), cwd=tmp_path)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["intent"] == "query_status"
    assert out[0]["entities"]["tracking_no"] == "SF1234567890123"
    assert out[0]["entities"]["carriers"] == ["sf"]
    assert out[1]["line"] == 2 and "not JSON" in out[1]["error"]
    assert (out[2]["intent"], out[2]["retracted"]) == ("change_address", ["change_address"])
    assert out[3] == {"line": 5, "error": 'expected an object with a string "text"'}
    assert (out[4]["intent"], out[4]["entities"]["phone"]) == ("refund_return", "13912345678")
    assert "line 2: not JSON" in result.stderr and "line 5:" in result.stderr


def test_stdin_threshold_from_config_and_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "strict.toml").write_text("[intent]\nask_back_below = 0.95\n", encoding="utf-8")
    result = run("--config", "strict.toml", "intent", "--file", "-", cwd=tmp_path,
                 stdin=json.dumps({"text": "查一下1234567"}, ensure_ascii=False) + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ask_back"] == "unclear"
    assert run("intent", cwd=tmp_path).returncode == 2
    assert run("intent", "x", "--file", "y", cwd=tmp_path).returncode == 2
    missing = run("intent", "--file", "nope.jsonl", cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read nope.jsonl" in missing.stderr
