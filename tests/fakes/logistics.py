"""Fake 快递100 and 快递鸟 servers on 127.0.0.1: they verify the real signatures and answer in
the providers' documented shapes (see ``integrations/logistics/kuaidi100.py`` and
``kdniao.py`` for the sources). ``down = True`` makes a fake answer 503; ``traces`` holds
what each knows per tracking number: (state code, [(Beijing time text, context)], oldest
first)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Trace = tuple[str, list[tuple[str, str]]]  # (state code, [(time, context)])


@dataclass
class FakeKuaidi100:
    customer: str = "CUST-1"
    key: str = "k100-key"
    salt: str = "k100-salt"
    traces: dict[str, Trace] = field(default_factory=dict)
    down: bool = False
    queries: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/poll/query.do", self._query)
        app.router.add_post("/poll", self._subscribe)
        return app

    def result(self, number: str, com: str) -> dict[str, Any]:
        state, lines = self.traces[number]
        data = [{"time": t, "ftime": t, "context": c, "areaName": None, "status": "在途"}
                for t, c in reversed(lines)]  # newest first, as documented (order=desc)
        return {"message": "ok", "nu": number, "ischeck": "1" if state == "3" else "0",
                "condition": "F00", "com": com, "status": "200", "state": state,
                "data": data}

    async def _query(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503, text="service unavailable")
        form = await request.post()
        param, sign = str(form.get("param", "")), str(form.get("sign", ""))
        expected = hashlib.md5((param + self.key + self.customer).encode()).hexdigest().upper()
        if form.get("customer") != self.customer or sign != expected:
            return web.json_response({"result": False, "returnCode": "601",
                                      "message": "验证签名失败"})
        doc = json.loads(param)
        self.queries.append(doc)
        if doc["num"] not in self.traces:
            return web.json_response({"result": False, "returnCode": "500",
                                      "message": "查询无结果，请隔段时间再查"})
        return web.json_response(self.result(doc["num"], doc["com"]))

    async def _subscribe(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        form = await request.post()
        doc = json.loads(str(form.get("param", "{}")))
        if form.get("schema") != "json" or doc.get("key") != self.key:
            return web.json_response({"result": False, "returnCode": "600",
                                      "message": "您不是合法的订阅者"})
        self.subscriptions.append(doc)
        return web.json_response({"result": True, "returnCode": "200", "message": "提交成功"})

    def push_form(self, number: str, com: str, *, salt: str | None = None) -> dict[str, str]:
        """The form 快递100 posts to a callbackurl, signed with ``salt``."""
        param = json.dumps({"status": "polling", "billstatus": "got", "message": "",
                            "autoCheck": "0", "comOld": "", "comNew": "",
                            "lastResult": self.result(number, com)}, ensure_ascii=False)
        sign = hashlib.md5((param + (self.salt if salt is None else salt)).encode()
                           ).hexdigest().upper()
        return {"param": param, "sign": sign}


def kdniao_sign(data: str, app_key: str) -> str:
    digest = hashlib.md5((data + app_key).encode("utf-8")).hexdigest()
    return base64.b64encode(digest.encode()).decode()


@dataclass
class FakeKdniao:
    ebusiness_id: str = "1237100"
    app_key: str = "kdn-app-key"
    traces: dict[str, Trace] = field(default_factory=dict)
    down: bool = False
    queries: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/Ebusiness/EbusinessOrderHandle.aspx", self._handle)
        return app

    def result(self, number: str, shipper: str) -> dict[str, Any]:
        state, lines = self.traces[number]
        main = state[0] if len(state) == 3 else state
        return {"EBusinessID": self.ebusiness_id, "OrderCode": "", "ShipperCode": shipper,
                "LogisticCode": number, "Success": True, "Reason": None, "State": main,
                "StateEx": state, "Location": "",
                "Traces": [{"AcceptTime": t, "AcceptStation": c, "Location": "", "Action": state,
                            "Remark": None} for t, c in lines]}

    async def _handle(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=502, text="bad gateway")
        form = await request.post()
        data = str(form.get("RequestData", ""))
        if form.get("EBusinessID") != self.ebusiness_id or form.get("DataType") != "2" or \
                form.get("DataSign") != kdniao_sign(data, self.app_key):
            return web.json_response({"EBusinessID": form.get("EBusinessID"),
                                      "Success": False, "Reason": "数据签名验证失败"})
        doc = json.loads(data)
        self.queries.append({"RequestType": form.get("RequestType"), **doc})
        if form.get("RequestType") == "8008":
            return web.json_response({"EBusinessID": self.ebusiness_id, "UpdateTime":
                                      "2026-11-25 10:00:00", "Success": True, "Reason": ""})
        if doc["LogisticCode"] not in self.traces:
            return web.json_response({"EBusinessID": self.ebusiness_id, "Success": False,
                                      "Reason": "暂无轨迹信息", "LogisticCode":
                                      doc["LogisticCode"], "State": "0", "Traces": []})
        return web.json_response(self.result(doc["LogisticCode"], doc["ShipperCode"]))

    def push_form(self, number: str, shipper: str, *, key: str | None = None
                  ) -> dict[str, str]:
        data = json.dumps({"PushTime": "2026-11-25 10:00:00", "EBusinessID": self.ebusiness_id,
                           "Count": "1", "Data": [self.result(number, shipper)]},
                          ensure_ascii=False)
        return {"RequestData": data, "DataSign": kdniao_sign(data, key or self.app_key),
                "RequestType": "101"}
