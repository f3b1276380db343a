"""The whole crisis path in Chromium: a young person writes in the web chat, Rasa and the actions create
the urgent ticket, a supervisor opens it from the queue in one click, answers, resolves it, and the
person sees the answer in the web chat."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, expect

from bot.console.__main__ import create_admin
from bot.settings import REPO_ROOT, Settings
from tests.e2e.conftest import RunningStack
from tests.support.browser import chromium

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ARTIFACTS = REPO_ROOT / "test-artifacts"
PASSWORD = "a-long-test-password-2026"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def test_crisis_in_web_chat_reaches_the_console_and_back(
    running_stack: RunningStack, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_ADMIN_PASSWORD", PASSWORD)
    assert create_admin(Settings().database_url, "duty.sup", ["12355"], "值班主管") == 0
    ARTIFACTS.mkdir(exist_ok=True)

    person = browser.new_context(viewport={"width": 390, "height": 780}, locale="zh-CN").new_page()
    person.goto(f"{running_stack.app_url}/chat/12355")
    expect(person.locator("#log li.bot").first).to_contain_text("12355", timeout=60_000)
    box = person.get_by_label("输入你的消息")
    box.fill("我在学校天台上，真的不想活了")
    box.press("Enter")
    expect(person.locator("#log")).to_contain_text("12356", timeout=60_000)

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    staff.goto(f"{running_stack.app_url}/console/")
    staff.get_by_label("用户名").fill("duty.sup")
    staff.get_by_label("密码").fill(PASSWORD)
    staff.get_by_label("密码").press("Enter")
    # first login of a new supervisor: two-step verification is set up before the console opens
    expect(staff.get_by_role("heading", name="设置两步验证")).to_be_visible()
    secret = staff.locator("#mfa-secret").inner_text().replace(" ", "")
    staff.get_by_label("验证码").fill(pyotp.TOTP(secret).now())
    staff.get_by_role("button", name="确认并启用").click()
    expect(staff.locator("#recovery-codes li")).to_have_count(10)
    staff.get_by_role("link", name="我已保存，进入工作台").click()
    expect(staff.get_by_role("heading", name="工单队列")).to_be_visible()
    row = staff.locator("table.queue tbody tr", has_text="天台")
    expect(row).to_contain_text("危机")
    row.get_by_role("link").first.click()  # one click from the queue
    expect(staff.locator("ol.transcript")).to_contain_text("不想活")
    staff.get_by_label("回复内容（发送到群众所在的渠道）").fill("我是12355的值班老师，我在，先离开天台边好吗？")
    staff.get_by_role("button", name="发送回复").click()
    expect(staff.get_by_role("status")).to_contain_text("回复已发送给群众")
    expect(person.locator("#log li.staff")).to_contain_text("值班老师", timeout=20_000)
    person.screenshot(path=str(ARTIFACTS / "crisis-web-chat.png"), full_page=True)

    staff.get_by_label("改为").select_option("resolved")
    staff.get_by_label("理由或办理结果").fill("已陪伴并转介12356，约定回访")
    staff.get_by_role("button", name="更新状态").click()
    expect(staff.locator("h1 .badge").last).to_contain_text("已办结")
    staff.get_by_role("link", name="数据分析").click()
    expect(staff.locator("main")).to_contain_text("危机")
    staff.screenshot(path=str(ARTIFACTS / "crisis-console-analytics.png"), full_page=True)
