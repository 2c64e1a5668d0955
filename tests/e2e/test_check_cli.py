"""`orderbot check` as a person runs it: the installed console script on a file and on stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from core.order import Invoice, InvoiceKind, Receiver, to_canonical
from tests.factories import make_order

SCRIPT = Path(sys.executable).parent / "orderbot"
CONFIG = '''
[health]
modes = { "phone.invalid" = "shadow" }

[[health.custom]]
id = "sofa_floor_plan"
category = "sofa"
when = "depth_cm < 45"
attachments = ["floor_plan"]
'''


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"console script missing: {SCRIPT} (pip install -e .)"
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


def line(n: int, **changes: object) -> str:
    order = make_order(n, invoice=Invoice(InvoiceKind.COMPANY, "华为技术有限公司",
                                          "914403001922038216"))
    doc = to_canonical(replace(order, **changes) if changes else order)
    return json.dumps(doc, ensure_ascii=False)


def test_check_a_file(tmp_path: Path) -> None:
    (tmp_path / "health.toml").write_text(CONFIG, encoding="utf-8")
    sofa = json.loads(line(4))
    sofa["custom"] = [{"sku": "SOFA-1", "category": "sofa", "spec": {"depth_cm": 40}}]
    orders = tmp_path / "orders.jsonl"
    orders.write_text("\n".join([
        line(1),
        line(2, receiver=Receiver(name="李四", phone="13812345678", address="鼓楼区中山路1号")),
        '{"channel": "jd"',
        line(3, receiver=Receiver(name="王五", phone="12345", province="浙江省", city="杭州市",
                                  district="西湖区", address="文三路90号")),
        json.dumps(sofa, ensure_ascii=False),
        line(5, invoice=Invoice(InvoiceKind.COMPANY, "华为技术有限公司", "914403001922038217")),
    ]) + "\n", encoding="utf-8")
    result = run("--config", "health.toml", "check", str(orders), cwd=tmp_path)
    assert result.returncode == 1  # one malformed line
    assert result.stderr.strip().startswith("line 3: not JSON")
    out = [json.loads(text) for text in result.stdout.splitlines()]
    assert [o["channel_order_id"] for o in out] == [str(3_900_000_000_000_000 + n)
                                                    for n in (1, 2, 3, 4, 5)]
    assert [o["healthy"] for o in out] == [True, False, True, False, False]
    assert out[0]["findings"] == []
    [ambiguous] = out[1]["findings"]
    assert (ambiguous["code"], ambiguous["class"], ambiguous["dimension"]) == (
        "ADDRESS_AMBIGUOUS", "A", "address")
    assert "南京市" in ambiguous["message"] and "福州市" in ambiguous["message"]
    [shadow] = out[2]["findings"]  # invalid phone, but the rule is in shadow mode
    assert (shadow["code"], shadow["mode"]) == ("PHONE_INVALID", "shadow")
    assert [f["code"] for f in out[3]["findings"]] == ["CUSTOM_SPEC_INCOMPLETE"]
    assert [f["code"] for f in out[4]["findings"]] == ["TAX_ID_INVALID"]


def test_check_stdin_with_a_stock_file_and_exit_zero(tmp_path: Path) -> None:
    order = json.loads(line(9))
    sku = order["lines"][0]["sku"]
    (tmp_path / "stock.json").write_text(json.dumps({sku: 0}), encoding="utf-8")
    result = run("check", "--stock", "stock.json", "-", cwd=tmp_path,
                 stdin=json.dumps(order) + "\n\n" + line(10) + "\n")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(text) for text in result.stdout.splitlines())
    assert [f["code"] for f in first["findings"]] == ["OUT_OF_STOCK_SUBSTITUTE"]
    assert sku not in {ln["sku"] for ln in json.loads(line(10))["lines"]}
    assert second["healthy"]


def test_long_input_shows_progress_and_a_bad_config_is_refused(tmp_path: Path) -> None:
    many = "\n".join(line(n) for n in range(1, 3001)) + "\n"
    result = run("check", "-", cwd=tmp_path, stdin=many)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 3000
    assert "checked 3000 orders, 0 malformed lines" in result.stderr
    (tmp_path / "bad.toml").write_text('[health]\nmodes = { "phone" = "shadow" }\n')
    refused = run("--config", "bad.toml", "check", "-", cwd=tmp_path, stdin="")
    assert refused.returncode == 2
    assert refused.stderr.startswith("config: [health] modes.phone: unknown rule")
