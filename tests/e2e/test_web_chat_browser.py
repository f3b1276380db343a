"""The web chat in Debian Chromium (Playwright), against the real running stack."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from bot.db.engine import make_engine
from bot.settings import REPO_ROOT
from bot.tickets.repository import TicketStore
from tests.e2e.conftest import RunningStack
from tests.support.browser import chromium
from tests.support.console import staff_reply

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 780}, locale="zh-CN")  # a phone
    page = context.new_page()
    yield page
    context.close()


SENT = "JSON.parse(localStorage.getItem('frontdoor:12345')).pending.length === 0"  # every message answered


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / f"{name}.png"), full_page=True)


def test_greeting_reply_and_reload_keeps_the_conversation(running_stack: RunningStack, page: Page) -> None:
    page.goto(f"{running_stack.app_url}/chat/12345")
    expect(page.locator("#log li.bot").first).to_contain_text("12345", timeout=60_000)
    box = page.get_by_label("输入您的消息")
    box.fill("我們社區的路燈壞了好幾天")
    box.press("Enter")  # keyboard only
    page.wait_for_function(SENT, timeout=60_000)
    answers = page.locator("#log li.bot").count()
    assert answers >= 2
    shot(page, "web-chat-12345")
    page.reload()
    expect(page.locator("#log li.me")).to_have_count(2)
    expect(page.locator("#log li.me").last).to_contain_text("路燈")
    expect(page.locator("#log li.bot")).to_have_count(answers)


def test_staff_reply_appears_in_the_web_chat(running_stack: RunningStack, page: Page) -> None:
    page.goto(f"{running_stack.app_url}/chat/12355")
    expect(page.locator("#log li.bot").first).to_contain_text("12355", timeout=60_000)
    sender = page.evaluate("JSON.parse(localStorage.getItem('frontdoor:12355')).sender")
    url = running_stack.stack.settings.database_url
    engine = make_engine(url)
    ticket = TicketStore(engine).create_ticket(
        desk="12355",
        route="ticket",
        conversation_id=f"12355:web:{sender}",
        channel="web",
        idempotency_key=f"browser-{sender}",
        summary="想找老师聊聊",
    )
    engine.dispose()
    with httpx.Client(base_url=running_stack.app_url, timeout=10) as client:
        staff_reply(client, url, ticket.id, "你好，我是值班老师，我在。", desks=("12355",))  # from the console
    expect(page.locator("#log li.staff")).to_contain_text("值班老师", timeout=15_000)
    shot(page, "web-chat-12355-staff-reply")


def test_the_page_is_labelled_for_screen_readers(running_stack: RunningStack, page: Page) -> None:
    page.goto(f"{running_stack.app_url}/chat/12345")
    assert page.get_attribute("#log", "aria-live") == "polite"
    assert page.get_attribute("html", "lang") == "zh-CN"
    expect(page.get_by_role("button", name="发送")).to_be_visible()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id || document.activeElement.tagName")
    assert focused in ("message", "BUTTON")


def test_a_message_sent_offline_is_delivered_once_after_reconnecting(running_stack: RunningStack, page: Page) -> None:
    page.goto(f"{running_stack.app_url}/chat/12345")
    expect(page.locator("#log li.bot").first).to_contain_text("12345", timeout=60_000)
    page.context.set_offline(True)
    box = page.get_by_label("输入您的消息")
    box.fill("请问办理居住证需要什么材料")
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("消息已保存", timeout=15_000)
    pending = page.evaluate("JSON.parse(localStorage.getItem('frontdoor:12345')).pending.length")
    assert pending == 1
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function(SENT, timeout=60_000)
    expect(page.locator("#status")).to_have_text("")
    answers = page.locator("#log li.bot").count()
    assert answers >= 2
    page.wait_for_timeout(4000)  # a poll cycle later: nothing shown twice
    assert page.locator("#log li.bot").count() == answers
    expect(page.locator("#log li.me")).to_have_count(2)
    shot(page, "web-chat-reconnected")


def test_the_page_proves_who_it_is_in_a_header_and_quietly_renews_an_expired_token(
    running_stack: RunningStack, page: Page
) -> None:
    calls: list[tuple[str, str | None]] = []
    page.on("request", lambda r: calls.append((r.url, r.headers.get("x-chat-token"))) if "/api/" in r.url else None)
    page.goto(f"{running_stack.app_url}/chat/12345")
    expect(page.locator("#log li.bot").first).to_contain_text("12345", timeout=60_000)
    stored = page.evaluate("JSON.parse(localStorage.getItem('frontdoor:12345'))")
    token, sender = stored["token"], stored["sender"]
    assert token and sender and all(token not in url and sender not in url for url, _ in calls)
    assert {header for url, header in calls if not url.endswith("/session")} == {token}

    engine = make_engine(running_stack.stack.settings.database_url)  # the token goes unused for a long time
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE gw_chat_tokens SET last_used_at = :old WHERE sender = :sender"),
            {"old": datetime.now(UTC) - timedelta(days=400), "sender": sender},
        )
    engine.dispose()
    answers = page.locator("#log li.bot").count()
    box = page.get_by_label("输入您的消息")
    box.fill("请问办理居住证需要什么材料")
    box.press("Enter")
    page.wait_for_function(SENT, timeout=60_000)
    renewed = page.evaluate("JSON.parse(localStorage.getItem('frontdoor:12345'))")
    assert renewed["token"] != token and renewed["sender"] != sender  # a new conversation, asked for quietly
    expect(page.locator("#status")).to_have_text("")
    assert page.locator("#log li.bot").count() > answers  # answered in the new conversation
