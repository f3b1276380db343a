"""The queue: order (crisis and urgent first, then SLA), desk isolation, filters, search, paging."""

from __future__ import annotations

import re
from collections.abc import Callable

from console_support import Staff, login
from starlette.testclient import TestClient

from bot.console.state import ConsoleState
from bot.tickets.models import Ticket
from tests.support.clock import FakeClock


def numbers_in(html: str) -> list[str]:
    return re.findall(r'<a href="/console/tickets/\d+">([^<]+)</a>', html)


def test_crisis_and_urgent_come_first_then_the_nearest_deadline(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], clock: FakeClock
) -> None:
    late_normal = new_ticket(sla_first_response_hours=8)
    soon_normal = new_ticket(sla_first_response_hours=1)
    urgent = new_ticket(priority="urgent", sla_first_response_hours=24)
    clock.advance(minutes=5)
    crisis = new_ticket(route="crisis", summary="我不想活了")
    new_ticket(route="decline", summary="帮我找个对象")  # a closed record: not in the open queue
    login(client, staff.agent)
    order = numbers_in(client.get("/console/").text)
    assert order == [crisis.number, urgent.number, soon_normal.number, late_normal.number]


def test_a_replied_ticket_sorts_by_its_resolution_deadline(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: ConsoleState
) -> None:
    replied = new_ticket(sla_first_response_hours=1, sla_resolution_hours=200)
    waiting = new_ticket(sla_first_response_hours=10)
    console.store.record_staff_reply(replied.id, staff_user="li.agent", text="收到")
    login(client, staff.agent)
    assert numbers_in(client.get("/console/").text) == [waiting.number, replied.number]


def test_staff_see_only_their_desks(client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket]) -> None:
    mine = new_ticket()
    youth = new_ticket(desk="12355", conversation_id="12355:web:kid", summary="学习压力很大")
    login(client, staff.agent)
    for url in ("/console/", "/console/?desk=12355", "/console/?status=all", f"/console/?q={youth.number}"):
        page = client.get(url).text
        assert youth.number not in numbers_in(page) and "学习压力" not in page
    assert mine.number in client.get("/console/").text
    login(client, staff.admin)
    page = client.get("/console/").text
    assert youth.number in page and mine.number in page
    only_youth = client.get("/console/?desk=12355").text
    assert youth.number in only_youth and mine.number not in only_youth


def test_filters_status_route_category_and_mine(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: ConsoleState
) -> None:
    lamp = new_ticket()
    noise = new_ticket(category="environment", summary="楼下广场舞噪音")
    crisis = new_ticket(route="crisis", category=None, summary="有人说要跳楼")
    declined = new_ticket(route="decline", category=None, summary="帮我买演唱会门票")
    console.store.assign(noise.id, assignee=staff.agent, actor=staff.agent)
    login(client, staff.agent)

    def shown(query: str) -> set[str]:
        return set(numbers_in(client.get(f"/console/?{query}").text))

    assert shown("") == {lamp.number, noise.number, crisis.number}
    assert shown("status=declined") == {declined.number}
    assert shown("status=all") == {lamp.number, noise.number, crisis.number, declined.number}
    assert shown("route=crisis") == {crisis.number}
    assert shown("category=environment") == {noise.number}
    assert shown("mine=1") == {noise.number}
    assert shown("status=nonsense&route=nonsense") == {lamp.number, noise.number, crisis.number}


def test_search_by_number_and_by_redacted_summary(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: ConsoleState
) -> None:
    lamp = new_ticket(summary="路灯坏了，电话13912345678")
    noise = new_ticket(summary="工地夜间施工噪音 100%扰民")
    login(client, staff.agent)
    assert numbers_in(client.get(f"/console/?q={lamp.number}").text) == [lamp.number]
    assert numbers_in(client.get("/console/?q=噪音").text) == [noise.number]
    assert numbers_in(client.get("/console/?q=100%").text) == [noise.number]  # % is literal, not a wildcard
    assert numbers_in(client.get("/console/?q=%").text) == [noise.number]
    assert numbers_in(client.get("/console/?q=13912345678").text) == []  # the stored summary is masked
    assert "13912345678" not in client.get("/console/").text
    searches = [e for e in console.store.staff_audit_log() if e.action == "search"]
    assert searches and "q" not in searches[0].details  # the audit log keeps no search text


def test_paging(client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket]) -> None:
    for _ in range(55):
        new_ticket()
    login(client, staff.agent)
    first = client.get("/console/").text
    assert "共 55 条" in first and len(numbers_in(first)) == 50 and "下一页" in first
    second = client.get("/console/?page=2").text
    assert len(numbers_in(second)) == 5 and "上一页" in second
    assert client.get("/console/?page=abc").status_code == 200


def test_overdue_tickets_are_marked(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], clock: FakeClock
) -> None:
    new_ticket(sla_first_response_hours=1)
    clock.advance(hours=2)
    login(client, staff.agent)
    assert "已超时" in client.get("/console/").text
