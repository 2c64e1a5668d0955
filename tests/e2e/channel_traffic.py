"""Realistic push traffic from the seven channels' fake platforms, for end-to-end tests.

Each ``Platform`` builds orders from its channel's documented sample (tests/data/channels/<ch>/,
deep-copied; the id, times, phone, quantities, prices and number of lines vary with ``n``),
breaks one on request (an unknown status word, a missing required field, a bad amount), moves
one to its next status, and turns orders into a ``Delivery``: the HTTP push exactly as that
platform signs it (the fakes' signing helpers). 抖店 and 微信小店 push only ids, and so do
some 京东 notices: ``deliver`` then loads the order into the running fake platform first, so the
bot's ``fetch_orders`` finds it there.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import unquote_plus

from aiohttp import web

from bot.config import ShopConfig
from core.clock import SHANGHAI
from tests.fakes.channels import douyin as fake_douyin
from tests.fakes.channels import jd as fake_jd
from tests.fakes.channels import pdd as fake_pdd
from tests.fakes.channels import pos as fake_pos
from tests.fakes.channels import taobao as fake_taobao
from tests.fakes.channels import wechat_shop as fake_wechat
from tests.fakes.channels import youzan as fake_youzan

DATA = Path(__file__).resolve().parents[1] / "data" / "channels"
Doc = Any  # one order as its platform shapes it (a JSON object; a POS receipt is CSV rows)

# What each kind of malformed order is (``Platform.malformed(doc, kind)``).
UNKNOWN_STATUS, MISSING_FIELD, BAD_AMOUNT = 0, 1, 2


@dataclass(frozen=True)
class Delivery:
    """One HTTP push as a platform sends it to ``/webhooks/<channel>/<shop>``."""

    channel: str
    shop: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    keys: tuple[str, ...]  # "channel:id" of the orders the push carries or names
    version: int  # 1 = as first pushed, 2 = after a status change on the platform


class Platform(Protocol):
    channel: str
    shop: ShopConfig

    def order(self, n: int, paid: datetime) -> Doc: ...

    def order_id(self, doc: Doc) -> str: ...

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        """The order broken in way ``kind``, and the words the dead-letter reason must name."""
        ...

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        """The order after its next status change, and the canonical state it maps to."""
        ...

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery: ...


def load(relative: str) -> Any:
    return json.loads((DATA / relative).read_text(encoding="utf-8"))


def shanghai(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def quantity(n: int) -> int:
    return 1 + n % 3


def price_fen(n: int, line: int = 0) -> int:
    return 990 + (n * 37 + line * 1234) % 90000


def two_lines(n: int) -> bool:
    return n % 4 == 0


def phone(n: int) -> str:
    """One buyer per order: no two orders look like cross-channel duplicates of each other."""
    return f"139{n:08d}"


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


class Taobao:
    """淘宝 奇门 push: the trades.sold.increment.get response, query-signed (several trades fit)."""

    channel = "taobao"
    shop = ShopConfig(channel="taobao", shop_id="tb", app_key="12345678",
                      webhook_secret="qimen-secret")
    _sample = load("taobao/increment_single_line.json")

    def order(self, n: int, paid: datetime) -> Doc:
        trade = copy.deepcopy(self._sample["trades_sold_increment_get_response"]["trades"][
            "trade"][0])
        tid = 3849562017000000000 + n
        lines = []
        for i in range(2 if two_lines(n) else 1):
            line = copy.deepcopy(trade["orders"]["order"][0])
            unit, num = price_fen(n, i), quantity(n)
            line.update(oid=tid * 10 + i, num=num, price=yuan(unit), payment=yuan(unit * num),
                        divide_order_fee=yuan(unit * num), outer_sku_id=f"SOFA-GRY-{i + 3}")
            lines.append(line)
        total = sum(price_fen(n, i) * quantity(n) for i in range(len(lines)))
        trade.update(tid=tid, tid_str=str(tid), created=shanghai(paid - timedelta(seconds=30)),
                     pay_time=shanghai(paid), modified=shanghai(paid), total_fee=yuan(total),
                     payment=yuan(total + 1000), discount_fee="0.00", receiver_mobile=phone(n))
        trade["orders"]["order"] = lines
        return trade

    def order_id(self, doc: Doc) -> str:
        return str(doc["tid_str"])

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        if kind == UNKNOWN_STATUS:
            doc["status"] = "TRADE_TELEPORTED"
            return doc, "unknown status 'TRADE_TELEPORTED'"
        if kind == MISSING_FIELD:
            del doc["created"]
            return doc, "created: missing"
        doc["total_fee"] = "19.9.9"
        return doc, "total_fee: not an amount: '19.9.9'"

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        doc = copy.deepcopy(doc)
        doc["status"] = "WAIT_BUYER_CONFIRM_GOODS"  # the seller entered a waybill
        for line in doc["orders"]["order"]:
            line["status"] = "WAIT_BUYER_CONFIRM_GOODS"
        return doc, "label_printed"

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery:
        response = {"trades_sold_increment_get_response": {
            "total_results": len(docs), "has_next": False, "trades": {"trade": list(docs)},
            "request_id": "16mlx9cmx7y3l"}}
        query, body = fake_taobao.signed_push(response, self.shop.app_key,
                                              self.shop.webhook_secret, datetime.now(UTC))
        return Delivery(self.channel, self.shop.shop_id, {"Content-Type": "application/json"},
                        query, body, keys(self, docs), version)


class Douyin:
    """抖店 message push (ids only); the order is served by the fake's order.orderDetail."""

    channel = "douyin"
    _sample = load("douyin/search_list_single_line.json")

    def __init__(self, fake: web.Application, api_base: str) -> None:
        self.fake = fake
        self.shop = ShopConfig(channel="douyin", shop_id="dy", app_key="dy-app",
                               app_secret="dy-secret", access_token="dy-token",
                               api_base=api_base, webhook_secret="dy-secret")

    def order(self, n: int, paid: datetime) -> Doc:
        order = copy.deepcopy(self._sample["data"]["shop_order_list"][0])
        order_id = str(6920123456000000000 + n)
        skus = []
        for i in range(2 if two_lines(n) else 1):
            sku = copy.deepcopy(order["sku_order_list"][0])
            unit, num = price_fen(n, i), quantity(n)
            sku.update(order_id=str(int(order_id) + 500000000 + i), parent_order_id=order_id,
                       item_num=num, origin_amount=unit, sum_amount=unit * num,
                       pay_amount=unit * num, out_sku_id=f"MAT-BK-0{i + 1}")
            skus.append(sku)
        total = sum(s["pay_amount"] for s in skus)
        order.update(order_id=order_id, create_time=unix(paid) - 30, pay_time=unix(paid),
                     update_time=unix(paid), order_amount=total, pay_amount=total,
                     promotion_amount=0, post_tel=phone(n), sku_order_list=skus)
        return order

    def order_id(self, doc: Doc) -> str:
        return str(doc["order_id"])

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        if kind == UNKNOWN_STATUS:
            doc["order_status"] = 42
            return doc, "unknown status '42'"
        if kind == MISSING_FIELD:
            del doc["create_time"]
            return doc, "create_time: missing"
        doc["order_amount"] = -100
        return doc, "order_amount: expected a non-negative integer of fen, got -100"

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        doc = copy.deepcopy(doc)
        doc.update(order_status=3, order_status_desc="已发货", update_time=doc["update_time"] + 60)
        for sku in doc["sku_order_list"]:
            sku["order_status"] = 3
        return doc, "label_printed"

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery:
        messages: list[Mapping[str, Any]] = []
        for doc in docs:
            fake_douyin.serve(self.fake, doc)
            tag = "101" if version == 1 else "102"  # paid; then shipped
            data = {"p_id": int(doc["order_id"]),
                    "s_ids": [int(s["order_id"]) for s in doc["sku_order_list"]],
                    "shop_id": 4463798, "order_status": doc["order_status"], "biz": 2}
            messages.append(fake_douyin.message(tag, f"{doc['order_id']}{version}", data))
        headers, body = fake_douyin.signed_push(messages, self.shop.app_key,
                                                self.shop.app_secret)
        return Delivery(self.channel, self.shop.shop_id, headers, {}, body, keys(self, docs),
                        version)


class Pdd:
    """拼多多 HTTP push: a bare order object, POP-signed in headers."""

    channel = "pdd"
    shop = ShopConfig(channel="pdd", shop_id="pdd", webhook_secret="pdd-secret")
    client_id = "pdd-client"
    _sample = load("pdd/increment_single_line.json")

    def order(self, n: int, paid: datetime) -> Doc:
        order = copy.deepcopy(self._sample["order_sn_increment_get_response"]["order_sn_list"][0])
        items = []
        for i in range(2 if two_lines(n) else 1):
            item = copy.deepcopy(order["item_list"][0])
            item.update(goods_count=quantity(n), goods_price=price_fen(n, i) / 100,
                        outer_id=f"PAD-FRONT-0{i + 1}", sku_id=1234567890123456789 + i)
            items.append(item)
        total = sum(price_fen(n, i) * quantity(n) for i in range(len(items)))
        order.update(order_sn=f"261123-{n:015d}", created_time=shanghai(paid - timedelta(
            seconds=30)), pay_time=shanghai(paid), confirm_time=shanghai(paid),
            updated_at=shanghai(paid), goods_amount=total / 100, pay_amount=(total + 500) / 100,
            discount_amount=0, receiver_phone=phone(n), item_list=items)
        return order

    def order_id(self, doc: Doc) -> str:
        return str(doc["order_sn"])

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        if kind == UNKNOWN_STATUS:
            doc["order_status"] = 9
            return doc, "unknown status '9'"
        if kind == MISSING_FIELD:
            del doc["created_time"]
            return doc, "created_time: missing"
        doc["goods_amount"] = "abc"
        return doc, "goods_amount: not an amount: 'abc'"

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        doc = copy.deepcopy(doc)
        doc.update(order_status=2, shipping_time=doc["updated_at"])  # 已发货待签收
        return doc, "label_printed"

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery:
        (doc,) = docs
        headers, body = fake_pdd.signed_push(doc, self.client_id, self.shop.webhook_secret,
                                             datetime.now(UTC))
        return Delivery(self.channel, self.shop.shop_id, headers, {}, body, keys(self, docs),
                        version)


class Jd:
    """京东 form push signed with JOS md5; every third order is an id-only notice that the bot
    completes with jingdong.pop.order.get against the fake JOS."""

    channel = "jd"
    _sample = load("jd/pop_order_get_multi_line.json")

    def __init__(self, fake: fake_jd.FakeJos, api_base: str) -> None:
        self.fake = fake
        self.shop = ShopConfig(channel="jd", shop_id="jd", app_key=fake.app_key,
                               app_secret=fake.app_secret, access_token=fake.access_token,
                               api_base=api_base, webhook_secret=fake.app_secret)
        self._sent = 0

    def order(self, n: int, paid: datetime) -> Doc:
        info = copy.deepcopy(self._sample["jingdong_pop_order_get_responce"]["orderDetailInfo"][
            "orderInfo"])
        items = info["itemInfoList"][: 2 if two_lines(n) else 1]
        for i, item in enumerate(items):
            item.update(jdPrice=yuan(price_fen(n, i)), itemTotal=str(quantity(n)))
        total = sum(price_fen(n, i) * quantity(n) for i in range(len(items)))
        info.update(orderId=str(298790000000 + n),
                    orderStartTime=shanghai(paid - timedelta(seconds=30)),
                    paymentConfirmTime=shanghai(paid), modified=shanghai(paid),
                    orderTotalPrice=yuan(total), orderSellerPrice=yuan(total),
                    orderPayment=yuan(total + 1000), itemInfoList=items)
        info["consigneeInfo"]["mobile"] = phone(n)
        return info

    def order_id(self, doc: Doc) -> str:
        return str(doc["orderId"])

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        if kind == UNKNOWN_STATUS:
            doc["orderState"] = "TELEPORTED"
            return doc, "unknown status 'TELEPORTED'"
        if kind == MISSING_FIELD:
            del doc["orderStartTime"]
            return doc, "orderStartTime: missing"
        doc["orderTotalPrice"] = "12,00"
        return doc, "orderTotalPrice: not an amount: '12,00'"

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        doc = copy.deepcopy(doc)
        doc.update(orderState="FINISHED_L", orderEndTime=doc["modified"])
        return doc, "completed"

    def id_only(self, doc: Doc) -> bool:
        return int(doc["orderId"]) % 3 == 0

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery:
        (doc,) = docs
        self._sent += 1  # JOS signs a timestamp inside the body: every send is new bytes
        stamp = shanghai(datetime(2026, 1, 5, tzinfo=UTC) + timedelta(seconds=self._sent))
        content = doc
        if self.id_only(doc):
            self.fake.serve(doc)
            content = {"orderId": doc["orderId"]}
        body = fake_jd.push_body(content, app_key=self.shop.app_key,
                                 app_secret=self.shop.app_secret, timestamp=stamp)
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}
        return Delivery(self.channel, self.shop.shop_id, headers, {}, body, keys(self, docs),
                        version)


class Youzan:
    """有赞 push: the trade URL-encoded in ``msg``, ``sign`` in the body and ``Event-Sign``."""

    channel = "youzan"
    shop = ShopConfig(channel="youzan", shop_id="yz", webhook_secret="cid:secret")
    _push = load("youzan/push_presale_deposit_paid.json")
    _sample = json.loads(unquote_plus(_push["msg"]))["full_order_info"]

    def order(self, n: int, paid: datetime) -> Doc:
        order = copy.deepcopy(self._sample)
        lines = []
        for i in range(2 if two_lines(n) else 1):
            line = copy.deepcopy(order["orders"][0])
            unit, num = price_fen(n, i), quantity(n)
            line.update(oid=str(2791512317217210490 + n * 10 + i), num=num, price=yuan(unit),
                        payment=yuan(unit * num), total_fee=yuan(unit * num),
                        discount_price=yuan(unit), outer_sku_id=f"CRIB-OAK-{i + 1}")
            lines.append(line)
        total = sum(price_fen(n, i) * quantity(n) for i in range(len(lines)))
        info = order["order_info"]
        info.update(tid=f"E20261123{n:015d}", created=shanghai(paid - timedelta(seconds=30)),
                    pay_time=shanghai(paid), update_time=shanghai(paid))
        pay = order["pay_info"]
        pay.update(total_fee=yuan(total), payment=yuan(total))
        deposit, balance = pay["phase_payments"]
        deposit.update(real_price=yuan(total // 10), pay_start_time=shanghai(paid))
        balance.update(real_price=yuan(total - total // 10))
        order["address_info"]["receiver_tel"] = phone(n)
        order["orders"] = lines
        return order

    def order_id(self, doc: Doc) -> str:
        return str(doc["order_info"]["tid"])

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        if kind == UNKNOWN_STATUS:
            doc["order_info"]["status"] = "TELEPORTED"
            return doc, "unknown status 'TELEPORTED'"
        if kind == MISSING_FIELD:
            del doc["order_info"]["created"]
            return doc, "created: missing"
        doc["pay_info"]["total_fee"] = "abc"
        return doc, "total_fee: not an amount: 'abc'"

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        doc = copy.deepcopy(doc)  # the buyer paid the balance: the shop now has to ship
        doc["order_info"]["status"] = "WAIT_SELLER_SEND_GOODS"
        doc["pay_info"]["phase_payments"][1]["outer_transaction_no"] = "4200002026011112345678"
        return doc, "paid"

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery:
        (doc,) = docs
        kind = "trade_TradeBuyerPay" if version == 1 else "trade_TradePaid"
        headers, body = fake_youzan.signed_push(doc, client_id="cid", client_secret="secret",
                                                kind=kind)
        return Delivery(self.channel, self.shop.shop_id, headers, {}, body, keys(self, docs),
                        version)


class WechatShop:
    """微信小店 push: encrypted (安全模式), naming the order id; served by the fake's order/get."""

    channel = "wechat_shop"
    _sample = load("wechat_shop/order_get_single_line.json")

    def __init__(self, fake: fake_wechat.FakeWechatShop, api_base: str, secret: str) -> None:
        self.fake, self.secret = fake, secret
        self.shop = ShopConfig(channel="wechat_shop", shop_id="wx", app_key=fake.appid,
                               app_secret=fake.app_secret, access_token=fake.token,
                               api_base=api_base, webhook_secret=secret)

    def order(self, n: int, paid: datetime) -> Doc:
        order = copy.deepcopy(self._sample["order"])
        detail = order["order_detail"]
        products = []
        for i in range(2 if two_lines(n) else 1):
            product = copy.deepcopy(detail["product_infos"][0])
            unit, num = price_fen(n, i), quantity(n)
            product.update(sku_cnt=num, sale_price=unit, market_price=unit,
                           real_price=unit * num, sku_code=f"TEE-WHT-{'ML'[i]}",
                           sku_id=str(2000012345 + i))
            products.append(product)
        total = sum(p["real_price"] for p in products)
        order.update(order_id=3705115058000000000 + n, create_time=unix(paid) - 30,
                     update_time=unix(paid))
        detail["product_infos"] = products
        detail["pay_info"].update(prepay_time=unix(paid) - 30, pay_time=unix(paid))
        detail["price_info"].update(product_price=total, order_price=total)
        detail["delivery_info"]["address_info"]["tel_number"] = phone(n)
        return order

    def order_id(self, doc: Doc) -> str:
        return str(doc["order_id"])

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        if kind == UNKNOWN_STATUS:
            doc["status"] = 99
            return doc, "unknown status '99'"
        if kind == MISSING_FIELD:
            del doc["create_time"]
            return doc, "create_time: missing"
        doc["order_detail"]["price_info"]["product_price"] = -1
        return doc, "product_price: expected a non-negative integer of fen, got -1"

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        doc = copy.deepcopy(doc)
        doc.update(status=30, update_time=doc["update_time"] + 60)  # 待收货: shipped
        return doc, "label_printed"

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery:
        (doc,) = docs
        self.fake.serve(doc)
        event = "channels_ec_order_pay" if version == 1 else "channels_ec_order_deliver"
        message = {"ToUserName": "gh_0123456789ab", "FromUserName": "OPENID",
                   "CreateTime": int(datetime.now(UTC).timestamp()), "MsgType": "event",
                   "Event": event, "order_info": {"order_id": doc["order_id"]}}
        query, body = fake_wechat.encrypted_push(message, self.secret, self.fake.appid)
        return Delivery(self.channel, self.shop.shop_id, {"Content-Type": "application/json"},
                        query, body, keys(self, docs), version)


class Pos:
    """POS CSV upload (several receipts per file, GBK or UTF-8 with BOM), HMAC-signed."""

    channel = "pos"
    shop = ShopConfig(channel="pos", shop_id="sh01", webhook_secret="pos-secret")
    _rows: ClassVar[list[dict[str, str]]] = list(csv.DictReader(io.StringIO(
        (DATA / "pos" / "multi_line_gbk.csv").read_bytes().decode("gbk"))))

    def order(self, n: int, paid: datetime) -> Doc:
        rows = []
        for i in range(2 if two_lines(n) else 1):
            row = dict(self._rows[i])
            unit, num = price_fen(n, i), quantity(n)
            row.update(receipt_no=f"SH01-20261123-{n:05d}",
                       created_at=shanghai(paid - timedelta(seconds=30)), paid_at=shanghai(paid),
                       receiver_phone=phone(n), quantity=str(num), unit_price=yuan(unit),
                       line_amount=yuan(unit * num))
            rows.append(row)
        return rows

    def order_id(self, doc: Doc) -> str:
        return str(doc[0]["receipt_no"])

    def malformed(self, doc: Doc, kind: int) -> tuple[Doc, str]:
        if kind == UNKNOWN_STATUS:
            for row in doc:
                row["status"] = "TELEPORTED"
            return doc, "unknown status 'TELEPORTED'"
        if kind == MISSING_FIELD:
            for row in doc:
                row["created_at"] = ""
            return doc, "created_at: missing"
        doc[0]["unit_price"] = "abc"
        return doc, "unit_price: not an amount: 'abc'"

    def advanced(self, doc: Doc) -> tuple[Doc, str]:
        return [{**row, "status": "COMPLETED"} for row in doc], "completed"

    def deliver(self, docs: Sequence[Doc], version: int) -> Delivery:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(self._rows[0]), lineterminator="\r\n")
        writer.writeheader()
        for doc in docs:
            writer.writerows(doc)
        first = int(self.order_id(docs[0])[-5:])
        csv_bytes = out.getvalue().encode("gbk" if first % 2 else "utf-8-sig")
        headers, body = fake_pos.signed_push(csv_bytes, secret=self.shop.webhook_secret)
        return Delivery(self.channel, self.shop.shop_id, headers, {}, body, keys(self, docs),
                        version)


def keys(platform: Platform, docs: Sequence[Doc]) -> tuple[str, ...]:
    return tuple(f"{platform.channel}:{platform.order_id(doc)}" for doc in docs)
