"""快递100 (Kuaidi100): real-time query, subscription, and verified pushes.

From its API documentation (api.kuaidi100.com, 实时快递查询接口 / 快递信息推送服务) and its
official SDK (github kuaidi100-api/java-demo, ``SignUtils``, ``Subscribe.callBackUrl``):

* query: ``POST {base}/poll/query.do`` form ``customer``, ``param`` (JSON ``{com, num, phone,
  resultv2, show, order}``), ``sign`` = upper(MD5(param + key + customer)); answer ``{message,
  nu, ischeck, com, status, state, condition, data: [{time, ftime, context, areaName,
  status}]}`` (newest first), or ``{result: false, returnCode, message}``.
* subscribe: ``POST {base}/poll`` form ``schema=json``, ``param`` = ``{company, number, key,
  parameters: {callbackurl, salt, resultv2, phone}}``; answer ``{result, returnCode, message}``
  (200 提交成功, 501 重复订阅).
* push to our callback: form ``param`` (JSON ``{status, billstatus, message, autoCheck,
  comOld, comNew, lastResult: {...as the query answer}}``) and ``sign`` = upper(MD5(param +
  salt)); we must answer ``{"result": true, "returnCode": "200", "message": "成功"}`` or it
  retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from core.carriers import Carrier, UnknownCarrierError, by_provider_code
from core.clock import parse_shanghai
from core.errors import UnknownStatusError
from core.tracking import TraceLine, TrackingState, TrackReport, sort_lines
from integrations.http import fetch_json
from integrations.logistics.base import ProviderRefusedError, PushAnswer, PushRejectedError
from integrations.logistics.settings import Kuaidi100Settings

NAME = "kuaidi100"
T = TrackingState

# state (basic) and the advanced codes sent with resultv2 4/6 (实时快递查询接口 1.6 运单快递状态).
STATES: Mapping[str, TrackingState] = {
    "0": T.IN_TRANSIT, "1": T.PICKED_UP, "2": T.EXCEPTION, "3": T.DELIVERED,
    "4": T.RETURNED, "5": T.OUT_FOR_DELIVERY, "6": T.RETURNING, "7": T.IN_TRANSIT,
    "8": T.IN_TRANSIT, "10": T.IN_TRANSIT, "11": T.IN_TRANSIT, "12": T.IN_TRANSIT,
    "13": T.EXCEPTION, "14": T.EXCEPTION,
    "101": T.PENDING, "102": T.PENDING, "103": T.PICKED_UP, "1001": T.IN_TRANSIT,
    "1002": T.IN_TRANSIT, "1003": T.IN_TRANSIT, "501": T.OUT_FOR_DELIVERY,
    "301": T.DELIVERED, "302": T.DELIVERED, "303": T.DELIVERED, "304": T.DELIVERED,
    "401": T.EXCEPTION,
}  # fmt: skip
OK_ANSWER = {"result": True, "returnCode": "200", "message": "成功"}


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def query_sign(param: str, key: str, customer: str) -> str:
    """``sign`` of a real-time query: MD5(param + key + customer), 32 upper-case hex."""
    return md5_upper(param + key + customer)


def push_sign(param: str, salt: str) -> str:
    """``sign`` of a push: MD5(param + salt), upper case (the SDK's ``SignUtils.sign``)."""
    return md5_upper(param + salt)


def map_state(code: object) -> TrackingState:
    state = STATES.get(str(code).strip())
    if state is None:
        raise UnknownStatusError(NAME, str(code))
    return state


def parse_result(doc: Mapping[str, Any], tracking_no: str | None = None) -> TrackReport:
    """A query answer or a push's ``lastResult`` -> report; refusals raise."""
    if doc.get("result") is False or "data" not in doc:
        raise ProviderRefusedError(f"{NAME}: {doc.get('returnCode')} {doc.get('message')}")
    try:
        found = by_provider_code(NAME, str(doc.get("com", "")))
    except UnknownCarrierError as error:
        raise ProviderRefusedError(f"{NAME}: {error}") from None
    lines = sort_lines(_line(item) for item in doc["data"])
    number = str(doc.get("nu") or tracking_no or "")
    return TrackReport(NAME, found.code, number, map_state(doc.get("state", "0")),
                       str(doc.get("state", "0")), lines)


def _line(item: Mapping[str, Any]) -> TraceLine:
    when = parse_shanghai(str(item.get("ftime") or item.get("time")), f"{NAME}.data.time")
    status = item.get("statusCode")
    state = STATES.get(str(status)) if status not in (None, "") else None
    area = item.get("areaName") or item.get("location") or None
    return TraceLine(when, str(item.get("context", "")).strip(), area, state)


class Kuaidi100:
    name = NAME

    def __init__(self, settings: Kuaidi100Settings,
                 session: Callable[[], aiohttp.ClientSession],
                 timeout: aiohttp.ClientTimeout | None = None) -> None:
        self._settings, self._session, self._timeout = settings, session, timeout

    def query_form(self, carrier: Carrier, tracking_no: str, phone: str | None
                   ) -> dict[str, str]:
        param = json.dumps({"com": carrier.kuaidi100, "num": tracking_no, "phone": phone or "",
                            "resultv2": "1", "show": "0", "order": "desc"},
                           ensure_ascii=False, separators=(",", ":"))
        s = self._settings
        return {"customer": s.customer, "param": param,
                "sign": query_sign(param, s.key, s.customer)}

    async def query(self, carrier: Carrier, tracking_no: str, phone: str | None
                    ) -> TrackReport:
        url = f"{self._settings.api_base.rstrip('/')}/poll/query.do"
        doc = await fetch_json(self._session(), "POST", url, timeout=self._timeout,
                               data=self.query_form(carrier, tracking_no, phone))
        if not isinstance(doc, Mapping):
            raise ProviderRefusedError(f"{NAME}: answer is not a JSON object")
        return parse_result(doc, tracking_no)

    async def subscribe(self, carrier: Carrier, tracking_no: str, phone: str | None,
                        callback_url: str) -> None:
        s = self._settings
        param = json.dumps({"company": carrier.kuaidi100, "number": tracking_no, "key": s.key,
                            "parameters": {"callbackurl": callback_url, "salt": s.salt,
                                           "resultv2": "1", "phone": phone or ""}},
                           ensure_ascii=False, separators=(",", ":"))
        url = f"{s.api_base.rstrip('/')}/poll"
        doc = await fetch_json(self._session(), "POST", url, timeout=self._timeout,
                               data={"schema": "json", "param": param})
        code = str(doc.get("returnCode")) if isinstance(doc, Mapping) else "?"
        if code not in ("200", "501"):  # 501: already subscribed, which is what we want
            raise ProviderRefusedError(f"{NAME}: subscribe {code} {doc.get('message')}")

    def read_push(self, form: Mapping[str, str]) -> list[TrackReport]:
        param, sign = form.get("param", ""), form.get("sign", "")
        expected = push_sign(param, self._settings.salt)
        if not sign or not hmac.compare_digest(sign.upper(), expected):
            raise PushRejectedError(f"{NAME}: push signature does not match")
        try:
            doc = json.loads(param)
            return [parse_result(doc["lastResult"])]
        except (ValueError, KeyError, TypeError, ProviderRefusedError) as error:
            raise PushRejectedError(f"{NAME}: push not in the documented shape: {error}"
                                    ) from error

    def push_answer(self, error: str | None, now: datetime) -> PushAnswer:
        if error is None:
            return PushAnswer(200, OK_ANSWER)
        return PushAnswer(400, {"result": False, "returnCode": "500", "message": error})
