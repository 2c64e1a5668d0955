"""``orderbot map``: every documented sample maps to canonical JSON; bad payloads exit 1."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.commands.map_orders import map_command
from core.order import from_canonical

DATA = Path(__file__).parents[2] / "data" / "channels"
SAMPLES = sorted(p for p in DATA.glob("*/*") if p.name != "SOURCES.md")
# Samples that are not orders, with the reason map must give. Every other sample must map.
NOT_ORDERS = {
    "douyin/error_throttled.json": "50002",
    "pdd/error_throttled.json": "70031",
    "taobao/error_throttled.json": "App Call Limited",
    "douyin/push_trade_paid.json": "only order ids",
    "wechat_shop/order_list_get.json": "only order ids (3705115058471208928, ",
    "wechat_shop/push_order_pay_decrypted.json": "only order ids (3705115058471208928)",
}


def run(channel: str, source: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = map_command(channel, source, io.BytesIO(stdin), out, err)
    return code, out.getvalue(), err.getvalue()


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", [p for p in SAMPLES if _key(p) not in NOT_ORDERS], ids=_key)
def test_every_order_sample_maps_to_canonical_lines(path: Path) -> None:
    code, out, err = run(path.parent.name, str(path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines, "a sample of orders printed nothing"
    raw = path.read_bytes()
    for line in lines:
        doc = json.loads(line)
        assert from_canonical(doc).channel == path.parent.name  # the contract shape, parsed back
        # ids keep every digit: the printed id is the one in the file, character for character
        assert doc["channel_order_id"].encode() in raw or path.suffix == ".txt"


@pytest.mark.parametrize("key", sorted(NOT_ORDERS))
def test_error_and_ids_only_samples_exit_1_with_the_reason(key: str) -> None:
    code, out, err = run(key.split("/")[0], str(DATA / key))
    assert (code, out) == (1, "")
    assert NOT_ORDERS[key] in err and err.startswith("orderbot map: ")


def test_reads_stdin_and_keeps_big_ids_and_chinese_readable() -> None:
    raw = (DATA / "taobao" / "increment_single_line.json").read_bytes()
    code, out, _ = run("taobao", "-", raw)
    assert code == 0 and '"channel_order_id": "3849562017384920183"' in out
    assert "杭州" in out  # ensure_ascii=False


def test_multi_order_response_prints_one_line_per_order() -> None:
    path = DATA / "jd" / "pop_order_search_single_line_and_locked.json"
    code, out, _ = run("jd", str(path))
    assert code == 0 and len(out.splitlines()) == 2


@pytest.mark.parametrize(("channel", "payload", "reason"), [
    ("taobao", b'{"trades_sold_get_response": {"trades": {"trade": [', "not JSON"),
    ("youzan", b"\xff\xfe garbage", "not UTF-8"),
    ("jd", b"\xff\xfe garbage", "not UTF-8"),
    ("taobao", (DATA / "taobao" / "increment_single_line.json").read_bytes().replace(
        b"3849562017384920183", b"3849562017384920183.0"), "$.trades_sold_increment_get_"
     "response.trades.trade[0].tid: id given as a float"),
    ("douyin", b'{"order_id": "1", "order_status": 2, "sku_order_list": null}',
     "$.sku_order_list: expected a list"),
    ("pdd", b'{"order_sn": "1", "order_status": 99, "item_list": []}', "unknown status '99'"),
    ("pos", b"receipt_no,sku_code\nR1,A\n", "header: missing column"),
    ("wechat_shop", b"[]", "$: expected an object"),
])  # fmt: skip
def test_broken_payload_exits_1_with_the_reason(channel: str, payload: bytes,
                                                reason: str) -> None:
    code, out, err = run(channel, "-", payload)
    assert (code, out) == (1, "")
    assert reason in err and f"orderbot map: {channel}: bad payload: " in err


def test_unknown_channel_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    code, _, err = run("tmall", "-")
    assert code == 2 and "known channels: douyin, jd" in err
    code, _, err = run("taobao", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err and "missing.json" in err
