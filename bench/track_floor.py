"""The floor under ``customer_query_p99_ms``: the least a customer query can cost here.

A bare aiohttp handler doing only the I/O every answer needs -- the per-sender rate-limit
script in Redis (the same Lua as ``storage.rate_limit``) and the desk's one lookup statement
(``storage.customers._FIND``, the same SQL and parameters) on a plain asyncpg pool, with the
query parsed by ``core.customer_query.parse_query`` -- and nothing else: no SQLAlchemy, no
access decision, no masking, no rendering (it answers the raw trace line). Run by
``bench.bench_track`` beside the real service, on the same database and with the same load,
so the two figures show how much of the latency is the service's own code and how much is
what any Python service on this machine pays.

Run as ``python -m bench.track_floor PORT DATABASE_URL REDIS_URL PREFIX``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.dialects import postgresql

from core.customer_query import parse_query
from storage.customers import _FIND, _find_params
from storage.rate_limit import _HIT

_COMPILED = _FIND.compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]
_SQL, _NAMES = str(_COMPILED), list(_COMPILED.positiontup or ())


def _args(params: dict[str, Any]) -> list[Any]:
    """Positional arguments in the compiled statement's order (its LIMITs are bound too)."""
    return [params.get(name, _COMPILED.params.get(name)) for name in _NAMES]


_POOL = web.AppKey("pool", asyncpg.Pool)
_HIT_SCRIPT = web.AppKey("hit", object)


def build(database_url: str, redis_url: str, prefix: str) -> web.Application:
    app = web.Application()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        app[_POOL] = pool = await asyncpg.create_pool(database_url, min_size=10, max_size=10)
        redis = Redis.from_url(redis_url, max_connections=200)
        app[_HIT_SCRIPT] = redis.register_script(_HIT)
        yield
        await redis.aclose()
        await pool.close()

    async def answer(request: web.Request) -> web.Response:
        who = request.headers.get("X-Forwarded-For", request.remote or "")
        query = parse_query(request.query.get("q", "")[:200], request.query.get("last4"))
        script: Any = request.app[_HIT_SCRIPT]
        await script(keys=[f"{prefix}:rl:floor:{who}"], args=[100_000, 61])
        async with request.app[_POOL].acquire() as conn:
            rows = await conn.fetch(_SQL, *_args(_find_params(query.refs, query.phone)))
        reply = "\n".join(f"{r['o_channel_order_id']} {r['p_tracking_no']} {r['l_context']}"
                          for r in rows)
        return web.json_response({"reply": reply},
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.cleanup_ctx.append(resources)
    app.router.add_get("/api/track", answer)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    port, database_url, redis_url, prefix = sys.argv[1:5]
    url = database_url.replace("postgresql+asyncpg://", "postgresql://")
    web.run_app(build(url, redis_url, prefix), host="127.0.0.1", port=int(port),
                access_log=None, print=None)
