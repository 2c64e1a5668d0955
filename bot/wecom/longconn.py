"""The WeCom smart robot's long connection (doc 101463) on aiohttp's websocket client.

Behaviour follows the official SDK (WecomTeam/aibot-node-sdk ``src/ws.ts``): subscribe with
bot_id/secret as the first frame and wait for its ack; an app-level ``ping`` every
``heartbeat_s``, and a link whose last ``missed_pings`` pings went unanswered is closed as
dead; reconnect after ``reconnect_base_s`` doubling up to ``reconnect_max_s`` (back to the base
once a session got subscribed); every frame we send waits ``ack_timeout_s`` for the server's
ack with the same req_id. One difference on purpose: a ``disconnected_event`` means another
connection for this bot took over (one live connection per bot), so we log it and stop for
good instead of fighting it.

Inbound callbacks are only converted (``aibot_frames``) and put on the inbox with their dedup
key, like every other inbound path (DESIGN "The way a message travels"); workers do the rest.
A callback that does not parse is put on the inbox as a ``wecom_bot_malformed`` envelope so the
workers dead-letter it with the frame and the reason: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.model import CardAction, card_action_envelope, inbound_envelope
from bot.wecom import aibot_frames as frames
from bot.wecom.settings import WeComBotSettings
from handlers.ports import Envelope, Inbox

log = logging.getLogger("orderbot.wecom.bot")

MALFORMED = "wecom_bot_malformed"
PUT_ATTEMPTS = 3


class LinkDownError(ConnectionError):
    """No subscribed connection right now (the outbox retries later)."""


class AckTimeoutError(TimeoutError):
    """The server did not ack a frame within ``ack_timeout_s``."""


class SubscribeError(RuntimeError):
    """``aibot_subscribe`` was refused (wrong bot_id/secret ...)."""


class LongConnection:
    """One bot's connection. ``run()`` until ``stop()``; ``request()`` sends and awaits the ack.

    ``on_ready(True)`` once subscribed, ``on_ready(False)`` when the link is gone: the outbox
    only hands this platform's rows to a process whose link is up.
    """

    def __init__(self, settings: WeComBotSettings, inbox: Inbox, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._settings, self._inbox, self._clock = settings, inbox, clock
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ready = False
        self._pending: dict[str, asyncio.Future[frames.Ack]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._missed = 0
        self._ready_seen = False  # the current attempt got subscribed
        self.on_ready: Callable[[bool], None] = _ignore
        self.kicked = False  # a disconnected_event arrived: another connection took over
        self.last_error = ""
        self.sessions = 0  # subscribed sessions so far

    @property
    def ready(self) -> bool:
        return self._ready and self._ws is not None and not self._ws.closed

    async def run(self) -> None:
        """Connect, subscribe, read; reconnect with backoff; return on stop() or when kicked."""
        failures = 0
        async with aiohttp.ClientSession() as http:
            while not (self._stopping.is_set() or self.kicked):
                subscribed = await self._attempt(http)
                if self._stopping.is_set() or self.kicked:
                    break
                failures = 1 if subscribed else failures + 1
                delay = min(self._settings.reconnect_base_s * 2 ** (failures - 1),
                            self._settings.reconnect_max_s)
                log.info("WeCom bot link down; reconnecting in %.2fs", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
        await self._drain(grace_s=5.0)

    def rearm(self) -> None:
        """Allow ``run()`` again after ``stop()`` or a kick (a new leadership term)."""
        self._stopping.clear()
        self.kicked = False

    async def stop(self) -> None:
        """Close the link; ``run()`` then returns once callbacks already read are queued."""
        self._stopping.set()
        if self._ws is not None:
            await self._ws.close()

    async def request(self, cmd: str, body: Mapping[str, Any], req_id: str = "") -> frames.Ack:
        """Send one frame and return the server's ack (any errcode); raises LinkDownError or
        AckTimeoutError. Frames sharing a req_id go one at a time, as in the SDK."""
        sent = frames.frame(cmd, body, req_id)
        key = frames.req_id_of(sent)
        while key in self._pending:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._pending[key])
        ws = self._ws
        if not self.ready or ws is None:
            raise LinkDownError("WeCom bot link is not up")
        future: asyncio.Future[frames.Ack] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await ws.send_json(sent)
            return await asyncio.wait_for(future, self._settings.ack_timeout_s)
        except TimeoutError:
            raise AckTimeoutError(f"no ack for {cmd} in {self._settings.ack_timeout_s}s") \
                from None
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as error:
            raise LinkDownError(f"{cmd} not sent: {error}") from error
        finally:
            self._pending.pop(key, None)

    # --- one connection ---------------------------------------------------------------

    async def _attempt(self, http: aiohttp.ClientSession) -> bool:
        """One connection from connect to close; True when it got subscribed."""
        self._ready_seen = False
        try:
            async with http.ws_connect(self._settings.ws_url, autoping=True,
                                       timeout=aiohttp.ClientWSTimeout(ws_close=5.0)) as ws:
                self._ws = ws
                await self._subscribe(ws)
                await self._serve(ws)
                return True
        except SubscribeError as error:
            self.last_error = str(error)
            log.error("WeCom bot subscribe refused: %s (check [wecom_bot] bot_id/secret)",
                      error)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
            self.last_error = f"{type(error).__name__}: {error}"
            log.warning("WeCom bot link failed: %s", self.last_error)
        finally:
            self._down()
        return self._ready_seen

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        sent = frames.subscribe(self._settings.bot_id, self._settings.secret)
        await ws.send_json(sent)
        deadline = asyncio.get_running_loop().time() + max(self._settings.ack_timeout_s, 10.0)
        while True:
            left = deadline - asyncio.get_running_loop().time()
            message = await ws.receive(timeout=max(left, 0.001))
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"closed before the subscribe ack ({message.type.name})")
            ack = frames.ack_of(json.loads(message.data))
            if ack is not None and ack.req_id == frames.req_id_of(sent):
                break
        if not ack.ok:
            raise SubscribeError(f"errcode {ack.errcode}: {ack.errmsg}")
        self._ready, self._ready_seen, self._missed = True, True, 0
        self.sessions += 1
        self.last_error = ""
        log.info("WeCom bot subscribed (session %d)", self.sessions)
        self.on_ready(True)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        heart = asyncio.create_task(self._heartbeat(ws), name="wecom-bot-heartbeat")
        try:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    self._on_text(message.data)
                if self.kicked:
                    await ws.close()
        finally:
            heart.cancel()
            await asyncio.gather(heart, return_exceptions=True)
        if not self._stopping.is_set():
            log.warning("WeCom bot link closed (code %s)", ws.close_code)

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self._settings.heartbeat_s)
            if self._missed >= self._settings.missed_pings:
                log.warning("WeCom bot: %d pings without ack, link considered dead",
                            self._missed)
                await ws.close()
                return
            self._missed += 1
            await ws.send_json(frames.ping())

    def _on_text(self, data: str) -> None:
        try:
            received = json.loads(data)
        except ValueError:
            log.warning("WeCom bot sent a frame that is not JSON; ignored")
            return
        if not isinstance(received, dict):
            return
        ack = frames.ack_of(received)
        if ack is not None:
            self._on_ack(ack)
        elif frames.event_type(received) == frames.DISCONNECTED_EVENT:
            self.kicked = True
            log.error("WeCom bot: disconnected_event, another connection for this bot took "
                      "over; not reconnecting (one live connection per bot)")
        else:
            self._spawn(self._deliver(received, self._clock()))

    def _on_ack(self, ack: frames.Ack) -> None:
        future = self._pending.get(ack.req_id)
        if future is not None and not future.done():
            future.set_result(ack)
        elif ack.req_id.startswith(frames.PING):
            self._missed = 0
        else:
            log.debug("WeCom bot: ack for unknown req_id %s", ack.req_id)

    def _down(self) -> None:
        was_ready, self._ready, self._ws = self._ready, False, None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkDownError("WeCom bot link closed"))
        if was_ready:
            self.on_ready(False)

    # --- inbound -> inbox -------------------------------------------------------------

    async def _deliver(self, received: dict[str, Any], at: float) -> None:
        try:
            parsed = frames.parse_callback(received, at)
        except ValueError as error:
            log.warning("malformed WeCom bot callback (%s): dead-lettered", error)
            await self._put(_malformed(received, str(error), at))
            return
        if parsed is None:
            log.debug("WeCom bot %s ignored", received.get("cmd"))
            return
        when = datetime.fromtimestamp(at, UTC)
        envelope = card_action_envelope(parsed.item, parsed.dedup_key, when) \
            if isinstance(parsed.item, CardAction) \
            else inbound_envelope(parsed.item, parsed.dedup_key, when)
        await self._put(envelope)

    async def _put(self, envelope: Envelope) -> None:
        """The long connection has no redelivery we can ask for: retry the inbox briefly."""
        for attempt in range(1, PUT_ATTEMPTS + 1):
            try:
                queued = await self._inbox.put(envelope)
            except Exception:
                if attempt == PUT_ATTEMPTS:
                    log.exception("WeCom bot %s not queued after %d attempts",
                                  envelope.dedup_key, attempt)
                    return
                await asyncio.sleep(0.5 * attempt)
                continue
            log.info("WeCom bot %s %s (%s)", envelope.kind, envelope.dedup_key,
                     "queued" if queued else "duplicate")
            return

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, grace_s: float) -> None:
        """Let callbacks already read reach the inbox (for ``grace_s``), cancel the rest."""
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _malformed(received: Mapping[str, Any], error: str, at: float) -> Envelope:
    key = frames.req_id_of(received) or f"{int(at * 1000)}"
    return Envelope(kind=MALFORMED, dedup_key=f"{frames.PLATFORM}:bad:{key}",
                    payload={"error": error, "frame": dict(received)},
                    received_at=datetime.fromtimestamp(at, UTC))


def _ignore(_: bool) -> None:
    return None
