"""DingTalk stream mode: the real ``dingtalk_stream`` client, made safe for a shared event loop.

What the SDK 0.24.3 gets wrong for a service (notes/dingtalk.md §1.7-1.9) and what we do:
- ``open_connection`` is a blocking ``requests.post`` without timeout called on the loop: we
  run it in a daemon thread (``off_loop``, bounded by ``OPEN_TIMEOUT_S``); our ``start``
  replaces the SDK's reconnect loop, while frame routing, handlers and ACK frames remain the
  SDK's own ``route_message``/``raw_process``;
- ``start()`` swallows a cancel and there is no ``stop()``: our loop lets ``CancelledError``
  through, and ``stop()`` waits for in-flight frames, then cancels the rest;
- untracked ``keepalive``/frame tasks: ours are kept in a set and cancelled on the way out;
- a half-dead link can hang the read forever: a no-frame watchdog (``idle_timeout_s``) reconnects.
The handlers only parse, build an ``Envelope`` (dedup key = the frame's messageId, which a
redelivery repeats), await ``inbox.put`` and ACK. Workers do everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import dingtalk_stream
import websockets
from aiohttp import web
from dingtalk_stream import AckMessage, CallbackHandler, CallbackMessage, ChatbotMessage, Credential

from bot.dingtalk import frames
from bot.dingtalk.settings import DingTalkSettings
from bot.model import card_action_envelope, inbound_envelope
from handlers.ports import Envelope, Inbox

log = logging.getLogger("orderbot.dingtalk")

ROBOT_TOPIC: str = ChatbotMessage.TOPIC
CARD_TOPIC: str = CallbackHandler.TOPIC_CARD_CALLBACK


OPEN_TIMEOUT_S = 30.0


async def off_loop(function: Callable[[], Any]) -> Any:
    """Run a blocking SDK call in a daemon thread (like ``asyncio.to_thread``), so that a
    ``requests.post`` without timeout can neither stall the loop nor hold up interpreter exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (function(), None)
        except Exception as error:
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name="dingtalk-open", daemon=True).start()
    return await future


def point_sdk_at(api_base: str) -> None:
    """Redirect the SDK's baked-in host (notes §2 B): process-wide, one DingTalk app per process."""
    base = api_base.rstrip("/")
    dingtalk_stream.stream.DingTalkStreamClient.OPEN_CONNECTION_API = (
        base + "/v1.0/gateway/connections/open")
    for module in (dingtalk_stream.stream, dingtalk_stream.chatbot,
                   dingtalk_stream.card_replier, dingtalk_stream.utils):
        module.DINGTALK_OPENAPI_ENDPOINT = base


class InboxHandler(CallbackHandler):  # type: ignore[misc]
    """One topic's handler: frame -> Envelope -> ``inbox.put`` -> ACK, nothing else."""

    def __init__(self, topic: str, inbox: Inbox, clock: Callable[[], float]) -> None:
        super().__init__()
        self.logger = logging.getLogger("orderbot.dingtalk.sdk")
        self._topic = topic
        self._inbox = inbox
        self._clock = clock

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        """ACK 200 once queued (or unparseable: a redelivery would not fix it); 500 when the
        inbox failed, so that DingTalk may redeliver."""
        frame_id = str(message.headers.message_id or "")
        try:
            envelope = self._envelope(message, frame_id)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("unparseable DingTalk frame %s on %s: %s", frame_id, self._topic, error)
            return AckMessage.STATUS_OK, {}
        if envelope is None:
            return AckMessage.STATUS_OK, {}
        try:
            queued = await self._inbox.put(envelope)
        except Exception:
            log.exception("DingTalk frame %s not queued", frame_id)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, {}
        log.info("DingTalk %s %s (%s)", envelope.kind, frame_id,
                 "queued" if queued else "duplicate")
        return AckMessage.STATUS_OK, {}

    def _envelope(self, message: CallbackMessage, frame_id: str) -> Envelope | None:
        if not frame_id:
            raise ValueError("frame without messageId")
        received = datetime.fromtimestamp(self._clock(), UTC)
        key = f"dingtalk:{frame_id}"
        if self._topic == CARD_TOPIC:
            action = frames.card_callback(message.data, frame_id, received)
            return card_action_envelope(action, key, received)
        inbound = frames.robot_message(message.data, received)
        return None if inbound is None else inbound_envelope(inbound, key, received)


class OrderbotStreamClient(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    """The SDK client with a loop-friendly, stoppable connection loop (see module docstring)."""

    def __init__(self, settings: DingTalkSettings, inbox: Inbox,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(Credential(settings.client_id, settings.client_secret),
                         logger=logging.getLogger("orderbot.dingtalk.sdk"))
        point_sdk_at(settings.api_base)
        self._settings = settings
        self._tasks: set[asyncio.Task[Any]] = set()  # frames in flight
        self._keepalive: asyncio.Task[Any] | None = None
        self._main: asyncio.Task[Any] | None = None
        self.connections = 0
        for topic in (ROBOT_TOPIC, CARD_TOPIC):
            self.register_callback_handler(topic, InboxHandler(topic, inbox, clock))

    async def start(self) -> None:
        """Connect, read, reconnect, until cancelled or ``stop()``; never returns otherwise."""
        self._main = asyncio.current_task()
        self.pre_start()
        try:
            while True:
                await self._connect_once()
        finally:
            await self._drain()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop reading, let in-flight frames finish for ``grace_s``, cancel what remains."""
        main, self._main = self._main, None
        if main is None or main.done():
            return
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        main.cancel()
        await asyncio.gather(main, return_exceptions=True)

    async def _connect_once(self) -> None:
        delay = self._settings.reconnect_delay_s
        try:
            connection = await asyncio.wait_for(off_loop(self.open_connection),
                                                OPEN_TIMEOUT_S)
            if not connection:
                log.warning("DingTalk open connection failed; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                return
            await self._session(connection)
        except (websockets.exceptions.WebSocketException, OSError, TimeoutError) as error:
            log.warning("DingTalk stream dropped (%s); reconnecting in %.1fs",
                        type(error).__name__, delay)
            await asyncio.sleep(delay)

    async def _session(self, connection: dict[str, Any]) -> None:
        uri = f'{connection["endpoint"]}?ticket={quote_plus(connection["ticket"])}'
        async with websockets.connect(uri) as websocket:
            self.websocket = websocket
            self.connections += 1
            log.info("DingTalk stream connected (connection %d)", self.connections)
            self._keepalive = asyncio.create_task(self.keepalive(websocket))
            try:
                await self._read(websocket)
            finally:
                self._keepalive.cancel()

    async def _read(self, websocket: Any) -> None:
        idle = self._settings.idle_timeout_s or None
        while True:
            try:
                raw = await asyncio.wait_for(websocket.recv(), idle)
            except TimeoutError:
                log.warning("no DingTalk frame for %.0fs; reconnecting", idle)
                return
            except websockets.exceptions.ConnectionClosedOK:
                return  # a SYSTEM disconnect: reconnect at once
            try:
                frame = json.loads(raw)
            except ValueError:
                log.warning("DingTalk sent a frame that is not JSON; ignored")
                continue
            self._spawn(self.background_task(frame))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


def stream_cleanup_ctx(settings: DingTalkSettings, inbox: Inbox
                       ) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp ``cleanup_ctx`` entry that runs the stream client for the app's lifetime."""

    async def run(_app: web.Application) -> AsyncIterator[None]:
        client = OrderbotStreamClient(settings, inbox)
        task = asyncio.create_task(client.start(), name="dingtalk-stream")
        yield
        await client.stop()
        await asyncio.gather(task, return_exceptions=True)

    return run
