"""The production inbox: one Redis Stream and one consumer group shared by every worker.

* ``put``: one Lua script, one round trip: ``SET <prefix>:seen:<key> NX EX ttl`` and, only if
  that set the key, ``XADD``. A script runs atomically, so a crash can neither leave a dedup
  key without its message (a lost order) nor a message without its key (a duplicate); if the
  XADD itself errors the script deletes the key again before raising.
* ``take``: ``XREADGROUP ... >`` in batches; ``ack``: ``XACK`` + ``XDEL`` in one MULTI/EXEC,
  so the stream holds only unacked work and ``XLEN`` is the backlog.
* ``reclaim``: ``XAUTOCLAIM`` in a script that also reads each claimed entry's delivery count
  from ``XPENDING`` (one round trip; ``attempts`` = deliveries).

Keys: ``<prefix>:stream`` and ``<prefix>:seen:<dedup key>``. On Redis Cluster give the prefix a
hash tag (``{orderbot}:inbox``) so the script's keys share a slot. Durability is Redis's own:
run it with ``appendonly yes`` (``appendfsync everysec`` loses at most a second on a crash).
A blocking ``take`` holds a pooled connection for ``block_ms``: the client's
``socket_timeout`` must be longer than that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.inbox import Envelope
from storage.inbox.codec import dump_payload, dump_time, load_payload, load_time

log = logging.getLogger("orderbot.inbox")

DEFAULT_DEDUP_TTL_S = 3 * 24 * 3600

_PUT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return false
end
local fields = {'*', 'k', ARGV[3], 'd', ARGV[4], 'p', ARGV[5], 'r', ARGV[6]}
local id
if tonumber(ARGV[2]) > 0 then
  id = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], unpack(fields))
else
  id = redis.pcall('XADD', KEYS[2], unpack(fields))
end
if type(id) == 'table' and id.err then
  redis.call('DEL', KEYS[1])
end
return id
"""

_RECLAIM = """
local want, cursor, out, lost = tonumber(ARGV[4]), '0-0', {}, 0
for _ = 1, 10 do
  local res = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor,
                         'COUNT', want - #out)
  cursor = res[1]
  for _, entry in ipairs(res[2]) do
    if entry[2] then
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
      out[#out + 1] = {entry[1], entry[2], p[1][4]}
    end
  end
  if res[3] then lost = lost + #res[3] end
  if #out >= want or cursor == '0-0' then break end
end
return {out, lost}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisStreamsInbox:
    """``Inbox`` and ``InboxConsumer`` on a Redis Stream; call ``setup()`` once at start."""

    def __init__(
        self, redis: Redis, *, prefix: str = "orderbot:inbox", group: str = "workers",
        dedup_ttl_s: int = DEFAULT_DEDUP_TTL_S, maxlen: int = 0,
    ) -> None:  # fmt: skip
        self._redis = redis
        self._prefix = prefix
        self._stream = f"{prefix}:stream"
        self._group = group
        self._ttl = dedup_ttl_s
        self._maxlen = maxlen
        self._put = redis.register_script(_PUT)
        self._reclaim = redis.register_script(_RECLAIM)
        self._put_lock = asyncio.Lock()
        self._put_connection: AbstractConnection | None = None

    async def setup(self) -> None:
        """Create the stream and the group (from the start, so earlier puts are not skipped),
        and load the put script for pipelined EVALSHA."""
        await self._redis.script_load(_PUT)
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def put(self, envelope: Envelope) -> bool:
        message_id = await self._put(**self._put_call(envelope))
        return message_id is not None

    async def put_many(self, envelopes: Sequence[Envelope]) -> list[bool]:
        """Many puts in one pipelined round trip; each is still its own atomic script.

        Plain EVALSHA: redis-py's script-in-pipeline path adds a SCRIPT EXISTS round trip to
        every pipeline. The script is loaded by ``setup``; after a Redis restart (NOSCRIPT)
        it is loaded again and the batch retried once (a put is idempotent: dedup key)."""
        calls = [self._put_call(envelope) for envelope in envelopes]
        try:
            replies = await self._evalsha_all(calls)
        except NoScriptError:
            await self._redis.script_load(_PUT)
            replies = await self._evalsha_all(calls)
        return [reply is not None for reply in replies]

    async def _evalsha_all(self, calls: list[dict[str, Any]]) -> list[Any]:
        """The EVALSHAs written at once on a connection kept for puts, then every reply read.

        redis-py's pipeline costs ~280 us of CPU per round trip (pool checkout with its
        locks, timeouts and metrics, retry wrapper); this is ~110 us, and at 1,000 webhooks/s
        most batches are one or two puts. A transport error drops the connection and the
        batch is sent once more on a new one (a put is idempotent: its dedup key)."""
        commands = [("EVALSHA", self._put.sha, len(call["keys"]), *call["keys"], *call["args"])
                    for call in calls]
        async with self._put_lock:
            try:
                return await self._send_all(commands)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                log.warning("inbox: put connection failed; retrying on a new one")
                return await self._send_all(commands)

    async def _send_all(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        pool = self._redis.connection_pool
        if self._put_connection is None:
            self._put_connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        connection = self._put_connection
        replies: list[Any] = []
        try:
            await connection.send_packed_command(connection.pack_commands(commands))
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as error:  # read in full: the connection stays in step
                    replies.append(error)
        except BaseException:  # unknown how much was read: this connection is done
            self._put_connection = None
            await connection.disconnect(nowait=True)
            await pool.release(connection)
            raise
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    def _put_call(self, envelope: Envelope) -> dict[str, Any]:
        fields = [envelope.kind, envelope.dedup_key, dump_payload(envelope.payload),
                  dump_time(envelope.received_at)]
        keys = [f"{self._prefix}:seen:{envelope.dedup_key}", self._stream]
        return {"keys": keys, "args": [self._ttl, self._maxlen, *fields]}

    async def take(self, consumer: str, count: int, block_ms: int) -> list[Envelope]:
        try:
            reply = await self._read(consumer, count, block_ms)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            await self.setup()  # the stream was deleted (e.g. a Redis without persistence)
            reply = await self._read(consumer, count, block_ms)
        streams = reply.values() if isinstance(reply, dict) else (e[1] for e in reply or [])
        return [self._envelope(i, f, 1) for entries in streams for i, f in _entries(entries)]

    async def ack(self, envelopes: Sequence[Envelope]) -> None:
        ids = [e.id for e in envelopes]
        if not ids:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self._group, *ids)
            pipe.xdel(self._stream, *ids)
            await pipe.execute()

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Envelope]:
        args: list[str | int] = [self._group, consumer, min_idle_ms, count]
        claimed, lost = await self._reclaim(keys=[self._stream], args=args)
        if lost:
            log.warning("inbox: %d pending message(s) were trimmed before anyone acked them "
                        "(raise maxlen or add workers)", lost)
        return [self._envelope(i, _pairs(f), int(n)) for i, f, n in claimed]

    async def pending_count(self) -> int:
        summary = await self._redis.xpending(self._stream, self._group)
        return int(summary["pending"])

    async def size(self) -> int:
        return int(await self._redis.xlen(self._stream))

    async def _read(self, consumer: str, count: int, block_ms: int) -> Any:
        return await self._redis.xreadgroup(
            self._group, consumer, {self._stream: ">"}, count=count,
            block=block_ms if block_ms > 0 else None,
        )  # fmt: skip

    def _envelope(self, message_id: bytes | str, fields: Mapping[Any, Any],
                  attempts: int) -> Envelope:  # fmt: skip
        get = {_text(k): v for k, v in fields.items()}
        return Envelope(kind=_text(get["k"]), dedup_key=_text(get["d"]),
                        payload=load_payload(get["p"]), received_at=load_time(_text(get["r"])),
                        attempts=attempts, id=_text(message_id))


def _entries(entries: Any) -> list[tuple[Any, Mapping[Any, Any]]]:
    """XREADGROUP entries; an id whose message was deleted comes back with no fields."""
    return [(message_id, fields) for message_id, fields in entries if fields]


def _pairs(flat: Sequence[Any]) -> dict[Any, Any]:
    return dict(zip(flat[::2], flat[1::2], strict=True))
