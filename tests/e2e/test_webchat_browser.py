"""The local web chat in a real browser: Playwright drives Debian's chromium (``make test``
installs it with apt; Playwright's own browser download is not used) against the real service.

Transcript: 张三 (agent) opens /chat, types an order number and sees the order card (phone
masked); a suspected-duplicate card arrives live; he taps "不是重复" and the card turns into
"已由 张三 确认不是重复" without its buttons, live. Screenshots: var/webchat-before-click.png
and var/webchat.png (after).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.outbox_sender import SenderSettings
from tests.e2e.chat_store import ORDER, TWIN, announce, ingest, order_events
from tests.e2e.chat_support import chat_service

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "var" / "webchat.png"
BEFORE = SCREENSHOT.with_name("webchat-before-click.png")


@pytest.fixture(scope="module")
def chromium() -> str:
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: `make test` installs it (apt chromium)"
    return str(CHROMIUM)


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium,
                                                    headless=True, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def test_agent_clicks_a_card_button_and_sees_the_card_update(
        browser: Browser, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(database=DatabaseConfig(url=sqlite_url),
                    inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0))
    await ingest(sqlite_url, ORDER)
    async with chat_service(config, monkeypatch, settings=SenderSettings(poll_s=0.05)) as base:
        page = await browser.new_page(viewport={"width": 900, "height": 900})
        await page.goto(f"{base}/chat?as=zhangsan")
        await expect(page.locator("body[data-live='1']")).to_have_count(1)
        await page.fill("#text", f"查单 {ORDER.channel_order_id}")
        await page.press("#text", "Enter")
        order_card = page.locator(".card", has=page.locator("h3", has_text=f"订单 {ORDER.key}"))
        await expect(order_card).to_contain_text("138****")
        await expect(order_card.locator("button", has_text="刷新")).to_be_visible()

        await ingest(sqlite_url, TWIN)
        record = await announce(sqlite_url, ["webchat"])
        duplicate = page.locator(f".card[data-card-id='{record.card_id}']")
        await expect(duplicate.locator("button")).to_have_count(2)  # 不是重复, 确认重复
        await _keep_screenshot(page, BEFORE)
        await duplicate.locator("button", has_text="不是重复").click()
        await expect(duplicate.locator(".status")).to_have_text(
            re.compile(r"^已由 张三 确认不是重复"))
        await expect(duplicate.locator("button")).to_have_count(0)
        await expect(duplicate).to_have_attribute("data-version", str(record.version + 1))
        await _keep_screenshot(page, SCREENSHOT)
        await page.close()  # its live socket would hold up the server's shutdown
    assert await order_events(sqlite_url, TWIN.key, "anomaly_resolved") == 1


async def _keep_screenshot(page: Page, path: Path) -> None:
    await asyncio.to_thread(path.parent.mkdir, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
