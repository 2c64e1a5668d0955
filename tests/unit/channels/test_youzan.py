"""有赞 adapter: documented samples map to the canonical order; statuses; signatures; polling."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from core.errors import InvalidOrderError, UnknownStatusError
from core.order import InvoiceKind
from core.privacy import needs_decryption
from core.states import OrderState
from integrations.channels import youzan
from integrations.channels.base import ChannelAuthError, ChannelPayloadError, ShopCredentials
from integrations.channels.youzan.api import fetch_since
from integrations.channels.youzan.signing import push_sign, sign_request, token_request
from tests.fakes.channels import webhook_request as req
from tests.fakes.channels.youzan import FakeYouzan, push_body

DATA = Path(__file__).parents[2] / "data" / "channels" / "youzan"
SECRET = "c346b8b39599aaa677:test-client-secret"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text("utf-8"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_sold_get_single_line_with_invoice_and_remark() -> None:
    first, _ = youzan.parse((DATA / "trades_sold_get_single_line_and_refunding.json").read_bytes())
    assert first.channel == "youzan"
    assert first.channel_order_id == "E20260102100000069904107"
    assert first.status is OrderState.PAID
    assert first.channel_status == "WAIT_SELLER_SEND_GOODS"
    assert first.created_at == utc(2026, 1, 2, 2, 0, 0)
    assert first.paid_at == utc(2026, 1, 2, 2, 1, 30)
    assert (first.total_fen, first.paid_fen, first.freight_fen) == (199900, 199900, 0)
    assert first.remark == "周末送货"
    assert first.invoice is not None and first.invoice.kind is InvoiceKind.COMPANY
    assert first.invoice.title == "杭州某某家居有限公司"
    assert first.buyer_id == "fmYKJi5S780402721424506880"
    assert first.receiver.name == "王小明" and first.receiver.district == "顺义区"
    (line,) = first.lines
    assert (line.sku, line.channel_sku_id, line.quantity) == ("SOFA-GREY-3", "37155730", 1)
    assert (line.unit_price_fen, line.paid_fen) == (199900, 199900)


def test_refund_in_progress_is_after_sale_and_sku_falls_back_to_platform_id() -> None:
    _, second = youzan.parse(load("trades_sold_get_single_line_and_refunding.json"))
    assert second.status is OrderState.AFTER_SALE
    assert second.channel_status == "WAIT_SELLER_SEND_GOODS"
    assert second.lines[0].sku == "37155731"
    assert second.freight_fen == 1000


def test_trade_get_multi_line_keeps_encrypted_receiver() -> None:
    (order,) = youzan.parse(load("trade_get_multi_line_encrypted_receiver.json"))
    assert order.status is OrderState.LABEL_PRINTED
    assert [line.sku for line in order.lines] == ["CUR-LINEN-200", "574609900"]
    assert [line.paid_fen for line in order.lines] == [30000, 1250]
    assert order.receiver.name == "$Qn/ZHaMby1MzBq3Rw2t7fw==$1$"
    assert needs_decryption(order.receiver)
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (32850, 32050, 800)
    assert order.invoice is None and order.remark is None


def test_push_presale_with_deposit_paid() -> None:
    (order,) = youzan.parse(load("push_presale_deposit_paid.json"))
    assert order.presale is True
    assert order.status is OrderState.DEPOSIT_PAID
    assert order.channel_status == "WAIT_BUYER_PAY"
    assert order.paid_fen == 20000
    assert order.total_fen == 259900


def test_presale_without_deposit_stays_pending() -> None:
    doc = load("push_presale_deposit_paid.json")
    body = push_body(_bare_presale(), client_id="c", client_secret="s")
    (order,) = youzan.parse(body)
    assert order.presale and order.status is OrderState.PENDING_PAYMENT and order.paid_fen == 0
    assert doc["type"] == "trade_TradeBuyerPay"


def _bare_presale() -> dict[str, Any]:
    from urllib.parse import unquote_plus

    inner = json.loads(unquote_plus(load("push_presale_deposit_paid.json")["msg"]))
    info = inner["full_order_info"]
    info["pay_info"]["phase_payments"][0]["outer_transaction_no"] = ""
    return info


def test_push_without_the_trade_gives_its_tid() -> None:
    doc = load("push_presale_deposit_paid.json")
    memo = {**doc, "type": "trade_TradeMemoModified", "msg": "%7B%7D", "id": "E2026"}
    assert youzan.parse_push(req(json.dumps(memo).encode()), SECRET).order_ids == ("E2026",)
    with pytest.raises(ChannelPayloadError, match="only tid E2026"):
        youzan.parse(memo)
    other = {**memo, "type": "item_ItemUpdate"}
    assert youzan.parse_push(req(json.dumps(other).encode()), SECRET).order_ids == ()
    (order,) = youzan.parse_push(req((DATA / "push_presale_deposit_paid.json").read_bytes()),
                                 SECRET).orders
    assert order.status is OrderState.DEPOSIT_PAID


def test_bare_full_order_info_and_closed_after_refund() -> None:
    info = load("trade_get_multi_line_encrypted_receiver.json")["data"]["full_order_info"]
    info = copy.deepcopy(info)
    info["order_info"].update(status="TRADE_CLOSED", refund_state=12)
    (order,) = youzan.parse(info)
    assert order.status is OrderState.REFUNDED


@pytest.mark.parametrize(("word", "state"), sorted(youzan.statuses.table.items()))
def test_every_documented_status_maps(word: str, state: OrderState) -> None:
    assert youzan.statuses.map(word) is state


def test_unknown_status_raises() -> None:
    info = copy.deepcopy(load("trade_get_multi_line_encrypted_receiver.json"))
    info["data"]["full_order_info"]["order_info"]["status"] = "TRADE_SOMETHING_NEW"
    with pytest.raises(UnknownStatusError, match="TRADE_SOMETHING_NEW"):
        youzan.parse(info)


@pytest.mark.parametrize(("mutate", "error", "path"), [
    (lambda o: o["order_info"].pop("tid"), ChannelPayloadError, "order_info.tid"),
    (lambda o: o.pop("orders"), ChannelPayloadError, "full_order_info.orders"),
    (lambda o: o["orders"][0].update(price="12.345"), InvalidOrderError, "orders[0].price"),
    (lambda o: o["order_info"].update(created="2026/01/02"), InvalidOrderError, "created"),
    (lambda o: o["orders"][0].update(num="two"), InvalidOrderError, "orders[0].num"),
])
def test_malformed_payload_names_the_path(mutate: Any, error: type[Exception], path: str) -> None:
    doc = copy.deepcopy(load("trade_get_multi_line_encrypted_receiver.json"))
    mutate(doc["data"]["full_order_info"])
    with pytest.raises(error, match=path.replace("[", r"\[").replace("]", r"\]")):
        youzan.parse(doc)


def test_garbage_and_error_envelopes_are_payload_errors() -> None:
    with pytest.raises(ChannelPayloadError, match="not JSON"):
        youzan.parse(b"{not json")
    with pytest.raises(ChannelPayloadError, match="4203"):
        youzan.parse({"gw_err_resp": {"err_code": 4203, "err_msg": "token无效"}})


def test_large_ids_stay_exact_and_float_ids_are_refused() -> None:
    doc = load("trade_get_multi_line_encrypted_receiver.json")
    doc["data"]["full_order_info"]["orders"][0]["sku_id"] = 2**63 - 25
    raw = json.dumps(doc).encode()
    (order,) = youzan.parse(raw)
    assert order.lines[0].channel_sku_id == str(2**63 - 25)
    with pytest.raises(ChannelPayloadError, match="float"):
        youzan.parse(raw.replace(str(2**63 - 25).encode(), b"9.223372036854775e18"))


def test_push_signature_header_and_body_sign() -> None:
    body = (DATA / "push_presale_deposit_paid.json").read_bytes()
    good = hashlib.md5(b"c346b8b39599aaa677" + body + b"test-client-secret").hexdigest()
    assert youzan.verify_webhook(req(body, headers={"Event-Sign": good}), SECRET)
    tampered = body.replace(b"200.00", b"2.00")
    assert not youzan.verify_webhook(req(tampered, headers={"Event-Sign": good}), SECRET)
    assert not youzan.verify_webhook(req(body, headers={"Event-Sign": "0" * 32}), SECRET)
    assert youzan.verify_webhook(req(body), SECRET)  # the body's own md5 sign field
    forged = json.loads(body)
    forged["msg"] = forged["msg"].replace("200.00", "2.00")
    assert not youzan.verify_webhook(req(json.dumps(forged).encode()), SECRET)
    assert not youzan.verify_webhook(req(body), "c346b8b39599aaa677:another-secret")


def test_push_sign_fixed_vector_and_request_auth() -> None:
    # md5("cid" + "{}" + "secret") computed independently with coreutils md5sum.
    assert push_sign("cid", "{}", "secret") == hashlib.md5(b"cid{}secret").hexdigest()
    assert sign_request("tok") == {"access_token": "tok"}
    assert token_request("cid", "sec", "123")["authorize_type"] == "silent"


def _orders(n: int) -> list[dict[str, Any]]:
    base = load("trade_get_multi_line_encrypted_receiver.json")["data"]["full_order_info"]
    out = []
    for i in range(n):
        info = copy.deepcopy(base)
        info["order_info"]["tid"] = f"E2026010300000000000{i:04d}"
        info["order_info"]["update_time"] = f"2026-01-03 {9 + i % 3:02d}:{i % 60:02d}:00"
        out.append(info)
    return out


async def test_fetch_since_pages_through_the_fake_with_one_throttle() -> None:
    fake = FakeYouzan(_orders(230), throttle_once=True)
    async with TestServer(fake.app, host="127.0.0.1", port=0) as server:
        shop = ShopCredentials("youzan", "13027865", "cid", "secret", None,
                               str(server.make_url("")).rstrip("/"))
        async with aiohttp.ClientSession() as session:
            pages = [page async for page in fetch_since(
                session, shop, utc(2026, 1, 3, 0, 0), utc(2026, 1, 3, 3, 59, 59))]
    tids = [youzan.parse(item)[0].channel_order_id for page in pages for item in page]
    assert len(tids) == len(set(tids)) == 230
    assert [len(p) for p in pages] == [100, 100, 30]
    assert fake.calls[0]["start_update"] == "2026-01-03 08:00:00"


async def test_fetch_since_window_excludes_and_bad_token_is_auth_error() -> None:
    fake = FakeYouzan(_orders(5))
    async with TestServer(fake.app, host="127.0.0.1", port=0) as server:
        base = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as session:
            shop = ShopCredentials("youzan", "13027865", "cid", "secret", None, base)
            pages = [p async for p in fetch_since(session, shop, utc(2026, 1, 3, 2, 0),
                                                  utc(2026, 1, 3, 2, 59, 59))]
            assert sum(len(p) for p in pages) == 2  # updated 10:01 and 10:04 Beijing time
            bad = ShopCredentials("youzan", "13027865", "cid", "secret", "revoked", base)
            with pytest.raises(ChannelAuthError):
                _ = [p async for p in fetch_since(session, bad, utc(2026, 1, 3), utc(2026, 1, 4))]
