"""POS adapter: the documented CSV format, statuses, upload signature with replay window."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.errors import InvalidOrderError, UnknownStatusError
from core.order import InvoiceKind
from core.privacy import needs_decryption
from core.states import OrderState
from integrations.channels import pos
from integrations.channels.base import ChannelPayloadError
from integrations.channels.pos.signing import signature
from integrations.channels.webhook import read_request
from tests.fakes.channels import webhook_request as req
from tests.fakes.channels.pos import push

DATA = Path(__file__).parents[2] / "data" / "channels" / "pos"
HEADER = (DATA / "single_line_utf8_bom.csv").read_text("utf-8-sig").splitlines()[0]


def test_single_line_utf8_bom() -> None:
    (order,) = pos.parse((DATA / "single_line_utf8_bom.csv").read_bytes())
    assert (order.channel, order.channel_order_id) == ("pos", "SH01-20260106-0001")
    assert order.status is OrderState.COMPLETED
    assert order.created_at == datetime(2026, 1, 6, 7, 2, 11, tzinfo=UTC)
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (25800, 23800, 0)
    assert order.invoice is not None and order.invoice.kind is InvoiceKind.PERSONAL
    assert order.buyer_id == "M10086" and order.receiver.name is None
    (line,) = order.lines
    assert (line.sku, line.channel_sku_id, line.quantity) == ("DIAPER-L-52", "6901234567892", 2)


def test_multi_line_gbk() -> None:
    (order,) = pos.parse((DATA / "multi_line_gbk.csv").read_bytes())
    assert [x.sku for x in order.lines] == ["STROLLER-X1", "RAINCOVER-X1"]
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (135800, 127300, 1500)
    assert order.remark == "下午送" and order.receiver.district == "浦东新区"
    assert order.invoice is not None and order.invoice.tax_id == "91310115MA1K3XXXX"


def test_presale_deposit_and_refunding() -> None:
    presale, refunding = pos.parse((DATA / "presale_deposit_and_refunding.csv").read_text())
    assert presale.presale and presale.status is OrderState.DEPOSIT_PAID
    assert presale.paid_fen == 50000 and needs_decryption(presale.receiver)
    assert refunding.status is OrderState.AFTER_SALE and refunding.paid_fen == 11970


@pytest.mark.parametrize(("word", "state"), sorted(pos.statuses.table.items()))
def test_every_status_maps(word: str, state: OrderState) -> None:
    assert pos.statuses.map(word) is state


def _row(**changes: str) -> str:
    values = dict.fromkeys(HEADER.split(","), "")
    values.update(receipt_no="R1", created_at="2026-01-06 10:00:00", status="PAID",
                  sku_code="A", quantity="1", unit_price="1.00", line_amount="1.00")
    values.update(changes)
    return HEADER + "\n" + ",".join(values[c] for c in HEADER.split(",")) + "\n"


def test_unknown_status_raises() -> None:
    with pytest.raises(UnknownStatusError, match="LOST"):
        pos.parse(_row(status="LOST"))


@pytest.mark.parametrize(("changes", "error", "path"), [
    ({"quantity": "1.5"}, InvalidOrderError, r"row 2.quantity"),
    ({"unit_price": "1.001"}, InvalidOrderError, r"row 2.unit_price"),
    ({"created_at": "06/01/2026"}, InvalidOrderError, r"row 2.created_at"),
    ({"sku_code": ""}, ChannelPayloadError, r"row 2.sku_code"),
    ({"invoice_type": "vat"}, ChannelPayloadError, r"row 2.invoice_type"),
])
def test_malformed_rows_name_the_row(changes: dict[str, str], error: type[Exception],
                                     path: str) -> None:
    with pytest.raises(error, match=path):
        pos.parse(_row(**changes))


def test_receipt_columns_must_agree_and_header_must_be_complete() -> None:
    text = _row() + _row(freight="5.00").splitlines()[1] + "\n"
    with pytest.raises(ChannelPayloadError, match=r"row 3\.freight"):
        pos.parse(text)
    with pytest.raises(ChannelPayloadError, match="header: missing column"):
        pos.parse("receipt_no,sku_code\nR1,A\n")
    with pytest.raises(ChannelPayloadError, match="neither UTF-8 nor GBK"):
        pos.parse(b"\xff\xff\xff")


def test_long_receipt_numbers_stay_text() -> None:
    (order,) = pos.parse(_row(receipt_no="900719925474099312345"))
    assert order.channel_order_id == "900719925474099312345"


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_signature_fixed_vector_and_replay_window() -> None:
    body = b"receipt_no\n"
    expected = hmac.new(b"pos-secret", b"1767600000.receipt_no\n", hashlib.sha256).hexdigest()
    assert signature("1767600000", body, "pos-secret") == expected
    headers = pos.sign_request(body, "pos-secret", now=1767600000)
    def verify(raw: bytes, sent: dict[str, str], at: int, secret: str = "pos-secret") -> bool:
        return pos.verify_webhook(req(raw, headers=sent, received_at=_at(at)), secret)

    assert verify(body, headers, 1767600100)
    assert verify(body, headers, 1767599800)  # the uploader's clock is ahead: within the window
    assert not verify(body, headers, 1767600301)  # replayed
    assert not verify(body + b"x", headers, 1767600000)
    assert not verify(body, headers, 1767600000, "other")
    assert not verify(body, {}, 1767600000)


async def test_fake_uploader_signs_what_the_adapter_accepts() -> None:
    received: list[bool] = []

    async def intake(request: web.Request) -> web.Response:
        upload = await read_request(request, datetime.now(UTC))
        received.append(pos.verify_webhook(upload, "pos-secret"))
        received.append(len(pos.parse_push(upload, "pos-secret").orders) == 1)
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/webhooks/pos", intake)
    async with TestServer(app, host="127.0.0.1", port=0) as server:
        body = (DATA / "multi_line_gbk.csv").read_bytes()
        assert await push(str(server.make_url("/webhooks/pos")), body) == 202
    assert received == [True, True]
