"""The web chat in Debian Chromium when the server says 429: the person sees the numbers to call, and
the message is kept and sent again after Retry-After (nothing was stored the first time)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.app import create_app
from bot.settings import Settings
from tests.decisions import no_risk
from tests.support.browser import chromium
from tests.support.servers import ThreadedServer, serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")  # Rasa down: answers are apologies
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_MESSAGES", "3/18")  # the session, 你好, 第一条; then one every 6 s
    server: ThreadedServer = serve_in_thread(create_app(Settings(), decide=no_risk))
    try:
        yield server.url
    finally:
        server.stop()


def test_a_limited_message_shows_the_numbers_and_is_sent_again(app_url: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(f"{app_url}/chat/12355")  # the session and the greeting "你好" take two tokens
        # first contact: the privacy notice, then the answer to the greeting
        expect(page.locator("#log li.bot")).to_have_count(2, timeout=20_000)
        box = page.get_by_label("输入你的消息")
        box.fill("第一条")
        box.press("Enter")
        box.fill("第二条")  # the bucket is empty now: 429
        box.press("Enter")
        expect(page.locator("#log li.bot").filter(has_text="12356")).to_have_count(1, timeout=10_000)
        expect(page.locator("#status")).to_contain_text("秒后自动重发")
        page.wait_for_function(
            "JSON.parse(localStorage.getItem('frontdoor:12355')).pending.length === 0", timeout=30_000
        )
    with sqlite3.connect(tmp_path / "frontdoor.db") as db:
        texts = [row[0] for row in db.execute("select text from gw_inbound order by id")]
    assert texts == ["你好", "第一条", "第二条"]  # stored once, when it was let through
