"""快递鸟 (Kdniao): instant query, track subscription, and verified pushes.

From its API documentation (kdniao.com 即时查询 / 在途监控 / 物流跟踪, mirrored on apifox
docs-site 2538027) and its official .NET demos (KdApiSearchDemo, KdApiSubscribeDemo):

* every call: ``POST {base}/Ebusiness/EbusinessOrderHandle.aspx``, form ``RequestData`` (JSON,
  URL-encoded), ``EBusinessID``, ``RequestType`` (1002 即时查询, 8001 在途监控即时查询,
  8008 在途监控订阅), ``DataSign`` = urlencode(base64(md5_hex_lower(RequestData + AppKey))),
  ``DataType=2`` (JSON). The form encoding is the URL-encoding step.
* query RequestData ``{OrderCode, ShipperCode, LogisticCode, CustomerName}`` (顺丰/中通:
  CustomerName = the receiver phone's last 4); answer ``{EBusinessID, ShipperCode,
  LogisticCode, Success, Reason, State, StateEx, Location, Traces: [{AcceptTime,
  AcceptStation, Location, Action, Remark}], EstimatedDeliveryTime}`` (oldest first).
* push to our callback (RequestType 101 / 8008 pushes): form ``RequestData`` = ``{PushTime,
  EBusinessID, Count, Data: [answer, ...]}``, ``DataSign`` as above; we answer
  ``{EBusinessID, UpdateTime, Success, Reason}``. The push URL is set in the 快递鸟 console.

State (物流状态): 0 暂无轨迹, 1 已揽收, 2 在途中, 3 签收, 4 问题件, 5 转寄, 6 清关; StateEx
(增值物流状态) refines it, e.g. 201 到达派件城市, 202 派件中, 211 已放入快递柜或驿站,
301 正常签收, 302 派件异常后最终签收, 304 代收签收, 311 快递柜或驿站签收, 401 发货无信息,
402 超时未签收, 403 超时未更新, 404 拒收(退件), 405 派件异常, 406 退货签收, 407 退货未签收,
412 快递柜或驿站超时未取.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import aiohttp

from core.carriers import Carrier, UnknownCarrierError, by_provider_code
from core.clock import SHANGHAI
from core.errors import UnknownStatusError
from core.tracking import TraceLine, TrackingState, TrackReport, sort_lines
from integrations.http import fetch_json
from integrations.logistics.base import (
    ProviderRefusedError,
    PushAnswer,
    PushRejectedError,
    beijing_text,
    last4,
)
from integrations.logistics.settings import KdniaoSettings

NAME = "kdniao"
T = TrackingState
PATH = "/Ebusiness/EbusinessOrderHandle.aspx"

STATES: Mapping[str, TrackingState] = {
    "0": T.PENDING, "1": T.PICKED_UP, "2": T.IN_TRANSIT, "3": T.DELIVERED, "4": T.EXCEPTION,
    "5": T.IN_TRANSIT, "6": T.IN_TRANSIT,
}  # fmt: skip
STATES_EX: Mapping[str, TrackingState] = {
    "1": T.PICKED_UP, "2": T.IN_TRANSIT, "3": T.DELIVERED, "4": T.EXCEPTION,
    "201": T.IN_TRANSIT, "204": T.IN_TRANSIT, "205": T.IN_TRANSIT, "206": T.IN_TRANSIT,
    "202": T.OUT_FOR_DELIVERY, "211": T.OUT_FOR_DELIVERY,
    "301": T.DELIVERED, "302": T.DELIVERED, "304": T.DELIVERED, "311": T.DELIVERED,
    "401": T.EXCEPTION, "402": T.EXCEPTION, "403": T.EXCEPTION, "405": T.EXCEPTION,
    "412": T.EXCEPTION, "404": T.RETURNING, "407": T.RETURNING, "406": T.RETURNED,
}  # fmt: skip


def data_sign(request_data: str, app_key: str) -> str:
    """base64 of the lower-case MD5 hex of RequestData + AppKey (before form encoding)."""
    digest = hashlib.md5((request_data + app_key).encode("utf-8"),
                         usedforsecurity=False).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def map_state(state: object, state_ex: object = None) -> tuple[TrackingState, str]:
    """StateEx when given, else State; an unknown code raises (never guessed)."""
    ex = str(state_ex).strip() if state_ex not in (None, "") else ""
    if ex:
        found = STATES_EX.get(ex)
        if found is None:
            raise UnknownStatusError(f"{NAME}.StateEx", ex)
        return found, ex
    code = str(state).strip()
    found = STATES.get(code)
    if found is None:
        raise UnknownStatusError(f"{NAME}.State", code)
    return found, code


def _time(text: object) -> datetime:
    value = str(text).strip().replace("/", "-")
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"{NAME}: not a 'YYYY-MM-DD HH:MM:SS' time: {text!r}") from None
    return parsed.replace(tzinfo=SHANGHAI)


def _estimate(text: object) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        return None


def parse_result(doc: Mapping[str, Any]) -> TrackReport:
    """A query answer or one item of a push's ``Data`` -> report; refusals raise."""
    if not doc.get("Success"):
        raise ProviderRefusedError(f"{NAME}: {doc.get('Reason') or 'Success=false'}")
    try:
        found = by_provider_code(NAME, str(doc.get("ShipperCode", "")))
    except UnknownCarrierError as error:
        raise ProviderRefusedError(f"{NAME}: {error}") from None
    state, code = map_state(doc.get("State"), doc.get("StateEx"))
    lines = sort_lines(
        TraceLine(_time(t.get("AcceptTime")), str(t.get("AcceptStation", "")).strip(),
                  t.get("Location") or None)
        for t in doc.get("Traces") or ())
    return TrackReport(NAME, found.code, str(doc.get("LogisticCode", "")), state, code, lines,
                       _estimate(doc.get("EstimatedDeliveryTime")))


class Kdniao:
    name = NAME

    def __init__(self, settings: KdniaoSettings,
                 session: Callable[[], aiohttp.ClientSession],
                 timeout: aiohttp.ClientTimeout | None = None) -> None:
        self._settings, self._session, self._timeout = settings, session, timeout

    def form(self, request_type: str, request: Mapping[str, Any]) -> dict[str, str]:
        data = json.dumps(request, ensure_ascii=False, separators=(",", ":"))
        s = self._settings
        return {"RequestData": data, "EBusinessID": s.ebusiness_id, "RequestType": request_type,
                "DataSign": data_sign(data, s.app_key), "DataType": "2"}

    def _request(self, carrier: Carrier, tracking_no: str, phone: str | None
                 ) -> dict[str, str]:
        return {"OrderCode": "", "ShipperCode": carrier.kdniao, "LogisticCode": tracking_no,
                "CustomerName": last4(phone) if carrier.needs_phone else ""}

    async def _call(self, request_type: str, request: Mapping[str, Any]) -> Mapping[str, Any]:
        url = f"{self._settings.api_base.rstrip('/')}{PATH}"
        doc = await fetch_json(self._session(), "POST", url, timeout=self._timeout,
                               data=self.form(request_type, request))
        if not isinstance(doc, Mapping):
            raise ProviderRefusedError(f"{NAME}: answer is not a JSON object")
        return doc

    async def query(self, carrier: Carrier, tracking_no: str, phone: str | None
                    ) -> TrackReport:
        request = self._request(carrier, tracking_no, phone)
        return parse_result(await self._call(self._settings.request_type, request))

    async def subscribe(self, carrier: Carrier, tracking_no: str, phone: str | None,
                        callback_url: str) -> None:
        doc = await self._call(self._settings.subscribe_type,
                               self._request(carrier, tracking_no, phone))
        if not doc.get("Success"):
            raise ProviderRefusedError(f"{NAME}: subscribe refused: {doc.get('Reason')}")

    def read_push(self, form: Mapping[str, str]) -> list[TrackReport]:
        data, sign = form.get("RequestData", ""), form.get("DataSign", "")
        expected = data_sign(data, self._settings.app_key)
        if not sign or not hmac.compare_digest(sign, expected):
            raise PushRejectedError(f"{NAME}: push signature does not match")
        try:
            items = json.loads(data)["Data"]
            # an item with Success=false ("暂无轨迹") carries no trace: nothing to apply
            return [parse_result(item) for item in items if item.get("Success")]
        except (ValueError, KeyError, TypeError, ProviderRefusedError) as error:
            raise PushRejectedError(f"{NAME}: push not in the documented shape: {error}"
                                    ) from error

    def push_answer(self, error: str | None, now: datetime) -> PushAnswer:
        body = {"EBusinessID": self._settings.ebusiness_id, "UpdateTime": beijing_text(now),
                "Success": error is None, "Reason": error or ""}
        return PushAnswer(200 if error is None else 400, body)
