"""An ``orderbot worker`` process (the app ``serve_workers`` runs: no HTTP, no outbox sender)
writes the cards its batches cause, like ``orderbot run`` does: the cards and outbox rows are
in the database for the ``run`` process's sender to deliver.

Transcript: an inbox item no handler knows reaches a worker -> dead letter -> a card to each
ops person on every platform they are on (web chat; WeCom is enabled in this config).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web

from bot.app import build_worker_app
from bot.config import CardsConfig, Config, DatabaseConfig, InboxConfig
from bot.people_config import PersonConfig
from bot.webhooks import INBOX
from bot.wecom.settings import WeComSettings
from core.inbox import Envelope
from tests.e2e.chat_store import scalar

AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
PEOPLE = (PersonConfig(id="zhaoliu", name="赵六", roles=("ops",), wecom_user_id="ZhaoLiu"),
          PersonConfig(id="qianqi", name="钱七", roles=("ops",)))


async def test_a_worker_process_announces_its_dead_letters(sqlite_url: str) -> None:
    wecom = WeComSettings(enabled=True, corp_id="ww1", agent_id=1, secret="s", token="t",
                          encoding_aes_key=AES_KEY, api_base="http://127.0.0.1:9")
    config = Config(database=DatabaseConfig(url=sqlite_url), wecom=wecom, people=PEOPLE,
                    inbox=InboxConfig(backend="sql", workers=1),
                    cards=CardsConfig(dead_letter_cards=5))
    runner = web.AppRunner(build_worker_app(config), handle_signals=False)
    await runner.setup()
    try:
        envelope = Envelope(kind="fax_received", dedup_key="fax:1", payload={"pages": 2},
                            received_at=datetime.now(UTC))
        assert await runner.app[INBOX].put(envelope)
        deadline = asyncio.get_running_loop().time() + 15
        while await scalar(sqlite_url, "SELECT count(*) FROM outbox") < 3:
            assert asyncio.get_running_loop().time() < deadline, "no cards from the worker"
            await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
    rows = await scalar(sqlite_url, "SELECT count(*) FROM outbox o JOIN cards c ON "
                                    "c.card_id = o.card_id WHERE c.kind = 'dead_letter' AND "
                                    "o.status = 'pending' AND ((o.platform = 'webchat' AND "
                                    "o.conversation IN ('zhaoliu', 'qianqi')) OR "
                                    "(o.platform = 'wecom' AND o.conversation = 'ZhaoLiu'))")
    assert rows == 3  # nobody in this process delivered them
