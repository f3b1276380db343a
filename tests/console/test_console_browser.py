"""The console in Debian Chromium (Playwright): log in, open the urgent ticket, reply, resolve, see analytics.

The app runs in-process under uvicorn on a free loopback port; Rasa is not needed (tickets come from
the TicketStore, the person's web conversation from the REST channel while Rasa is down).
Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from console_support import PASSWORD
from playwright.sync_api import Browser, Page, expect

from bot.app import create_app
from bot.console import overrides
from bot.console.hot_topics import hashing_embedder
from bot.console.state import ConsoleState
from bot.settings import REPO_ROOT, Settings
from bot.tickets.models import Ticket
from tests.decisions import no_risk
from tests.support.browser import chromium
from tests.support.identity import web_session
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.browser]
ARTIFACTS = REPO_ROOT / "test-artifacts"
SUPERVISOR = "zhou.sup"


@dataclass
class Running:
    url: str
    console: ConsoleState
    crisis: Ticket
    sender: str
    web: dict[str, str]  # the person's chat token header
    mfa_secret: str
    last_step: int = 0

    def totp(self) -> str:
        """A code of a step no earlier sign-in used (the console refuses a replay): the current step or
        the next (accepted for clock drift); waits for the clock when both are used."""
        while True:
            current = int(time.time() // 30)
            step = max(current, self.last_step + 1)
            if step <= current + 1:
                break
            time.sleep(1)
        self.last_step = step
        return pyotp.TOTP(self.mfa_secret).at(step * 30)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir: Path = tmp_path_factory.mktemp("console-browser")
    patch = pytest.MonkeyPatch()
    for name, value in {
        "FRONTDOOR_DATA_DIR": str(data_dir),
        "FRONTDOOR_SECRET_KEY": "browser-test-secret-key-0123456789",
        "FRONTDOOR_RASA_URL": "http://127.0.0.1:9",
        "FRONTDOOR_RASA_TIMEOUT": "1",
        "FRONTDOOR_DESKS": "12345,12355",
    }.items():
        patch.setenv(name, value)
    patch.delenv("FRONTDOOR_DATABASE_URL", raising=False)
    settings = Settings()
    console = ConsoleState.open(settings, embedder=hashing_embedder())
    supervisor = console.accounts.create_user(
        SUPERVISOR, PASSWORD, role="supervisor", desks=["12345", "12355"], display_name="周班长"
    )
    mfa_secret = console.accounts.enrolment_secret(supervisor.id)  # MFA is required for supervisors
    assert console.accounts.confirm_enrolment(supervisor.id, pyotp.TOTP(mfa_secret).at(time.time() - 30))
    app = create_app(settings, decide=no_risk)
    app.state.console = console
    server = serve_in_thread(app, lifespan="on")
    url = server.url
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            web, sender = web_session(http, "12355")
            reply = http.post("/api/chat/12355", json={"text": "我好难受"}, headers=web)
        assert reply.status_code == 200
        store = console.store
        store.create_ticket(
            desk="12345",
            route="ticket",
            conversation_id="12345:web:other",
            channel="web",
            idempotency_key="b-1",
            summary="路灯坏了",
            sla_first_response_hours=4,
            sla_resolution_hours=72,
        )
        crisis = store.create_ticket(
            desk="12355",
            route="crisis",
            conversation_id=f"12355:web:{sender}",
            channel="web",
            idempotency_key="b-2",
            summary="我好难受，不想活了",
            transcript=[("person", "我好难受，不想活了")],
            triage_signals={"route": "crisis", "signals": ["lexicon:不想活"]},
        )
        yield Running(url, console, crisis, sender, web, mfa_secret, last_step=int(time.time() // 30) - 1)
    finally:
        server.stop(timeout=15)
        console.close()
        patch.undo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def sign_in(page: Page, running: Running) -> None:
    page.goto(f"{running.url}/console/")
    page.get_by_label("用户名").fill(SUPERVISOR)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("密码").press("Enter")
    expect(page.get_by_role("heading", name="两步验证")).to_be_visible()
    page.get_by_label("验证器上的6位验证码").fill(running.totp())
    page.get_by_role("button", name="验证").click()
    expect(page.get_by_role("heading", name="工单队列")).to_be_visible()


def test_a_new_supervisor_changes_the_password_and_sets_up_mfa_in_the_browser(running: Running, page: Page) -> None:
    running.console.accounts.create_user(
        "wu.sup", "given-by-the-admin", role="supervisor", desks=["12345"], must_change_password=True
    )
    page.goto(f"{running.url}/console/")
    page.get_by_label("用户名").fill("wu.sup")
    page.get_by_label("密码").fill("given-by-the-admin")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    page.get_by_label("当前密码").fill("given-by-the-admin")
    page.get_by_label("新密码（至少10个字符）").fill("wu-chose-this-one")
    page.get_by_label("再输入一次新密码").fill("wu-chose-this-one")
    page.get_by_role("button", name="保存新密码").click()
    expect(page.get_by_role("heading", name="设置两步验证")).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    assert page.locator("#mfa-uri").inner_text().startswith("otpauth://totp/")
    shot(page, "0-mfa-setup")
    page.get_by_label("验证码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认并启用").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="我已保存，进入工作台").click()
    expect(page.get_by_role("heading", name="工单队列")).to_be_visible()
    expect(page.get_by_role("link", name="数据分析")).to_be_visible()


def test_login_open_the_urgent_ticket_reply_resolve_and_see_analytics(running: Running, page: Page) -> None:
    sign_in(page, running)
    first = page.locator("table.queue tbody tr").first
    expect(first).to_contain_text("危机")
    shot(page, "1-queue")
    first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(running.crisis.number)
    expect(page.locator("ol.transcript")).to_contain_text("不想活了")
    page.get_by_role("button", name="我在听").click()  # a canned reply fills the box
    expect(page.get_by_label("回复内容（发送到群众所在的渠道）")).to_have_value(
        "你好，我是12355的老师，我在这里，你可以慢慢说，我们一起想办法。"
    )
    shot(page, "2-ticket")
    page.get_by_role("button", name="发送回复").click()
    expect(page.get_by_role("status")).to_contain_text("回复已发送给群众")
    updates = httpx.get(f"{running.url}/api/chat/12355/updates", params={"after": 0}, headers=running.web).json()
    assert any("12355的老师" in m["text"] for m in updates["messages"])  # it reached the person's web chat

    page.get_by_label("改为").select_option("resolved")
    page.get_by_label("理由或办理结果").fill("已电话陪伴，转介12356并约定回访")
    page.get_by_role("button", name="更新状态").click()
    expect(page.get_by_role("status")).to_contain_text("状态已更新")
    expect(page.locator("h1 .badge").last).to_contain_text("已办结")
    shot(page, "3-resolved")

    page.get_by_role("link", name="数据分析").click()
    expect(page.locator("#first-response-rate")).to_contain_text("100.0%")
    expect(page.get_by_role("heading", name="受理量（共 2 件）")).to_be_visible()
    shot(page, "4-analytics")
    stored = running.console.store.get(running.crisis.id)
    assert stored.status == "resolved" and stored.first_response_at is not None


def test_keyboard_focus_is_visible_and_every_control_is_labelled(running: Running, page: Page) -> None:
    sign_in(page, running)
    for path in ("/console/", f"/console/tickets/{running.crisis.id}", "/console/analytics", "/console/catalogue"):
        page.goto(f"{running.url}{path}")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                 .filter(el => el.type !== 'hidden')
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], (path, unlabelled)
        untitled = page.evaluate(
            "() => [...document.querySelectorAll('svg')].filter(s => !s.querySelector('title')).length"
        )
        assert untitled == 0, path
    page.goto(f"{running.url}/console/")
    for _ in range(4):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                       return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"""
        )
        assert outline[1] != "none" and outline[2] not in ("0px", ""), outline
    shot(page, "5-focus")


def test_an_agent_correction_becomes_an_example_in_two_clicks(running: Running, page: Page) -> None:
    ticket = running.console.store.create_ticket(
        desk="12345",
        route="ticket",
        conversation_id="12345:web:parcel",
        channel="web",
        idempotency_key="b-3",
        summary="小区快递柜超过12小时就收保管费，物业说是快递公司定的",
        category="urban_management",
        category_l1="城乡建设",
        sla_first_response_hours=4,
        sla_resolution_hours=72,
    )
    sign_in(page, running)
    page.goto(f"{running.url}/console/tickets/{ticket.id}")
    page.get_by_label("工单分类").select_option("market_consumer")
    page.get_by_role("button", name="保存分类").click()
    expect(page.get_by_role("status")).to_contain_text("纠正与学习")

    page.get_by_role("link", name="纠正与学习").click()
    row = page.locator("tr", has_text=ticket.number)
    expect(row).to_contain_text("城市管理与市政设施 → 市场监管与消费")
    shot(page, "6-corrections")
    row.get_by_role("button", name="加入“市场监管与消费”的示例").click()
    expect(page.get_by_role("status")).to_contain_text("已加入示例")
    expect(page.locator("tr", has_text=ticket.number)).to_have_count(0)
    taught = overrides.read_effective(running.console.settings, "lessons", "12345")
    assert "小区快递柜超过12小时就收保管费" in taught


def test_a_supervisor_refiles_a_ticket_with_one_click_from_the_top_3(running: Running, page: Page) -> None:
    """Issue 15, item 6: the ticket page shows the engine's top 3 categories with their confidence; one
    click on a suggestion re-files the ticket and the correction reaches 纠正与学习."""
    ticket = running.console.store.create_ticket(
        desk="12345",
        route="ticket",
        conversation_id="12345:web:wages",
        channel="web",
        idempotency_key="b-4",
        summary="公司拖欠我们三个月工资了，老板一直说下个月发，我们十几个工人都没拿到钱\n地点：城东工业园",
        category="environment",
        category_l1="环境保护",
        sla_first_response_hours=4,
        sla_resolution_hours=72,
    )
    sign_in(page, running)
    queue_row = page.locator("tr", has_text=ticket.number)
    expect(queue_row.locator("[data-suggestion='labour_relations']")).to_contain_text("%")

    page.goto(f"{running.url}/console/tickets/{ticket.id}")
    suggestions = page.locator("section.suggestions li")
    expect(suggestions).to_have_count(3)
    top = suggestions.first
    expect(top).to_have_attribute("data-suggestion", "labour_relations")
    expect(top).to_contain_text("劳动关系与工资")
    expect(top).to_contain_text("%")
    shot(page, "7-suggestions")
    top.get_by_role("button", name="改为分类 劳动关系与工资").click()  # the one click
    expect(page.get_by_role("status")).to_contain_text("纠正与学习")

    refiled = running.console.store.get(ticket.id)
    assert (refiled.category, refiled.category_l1) == ("labour_relations", "劳动和社会保障")
    expect(page.locator("section.suggestions li").first).to_contain_text("当前分类")
    page.get_by_role("link", name="纠正与学习").click()
    expect(page.locator("tr", has_text=ticket.number)).to_contain_text("生态环境 → 劳动关系与工资")
