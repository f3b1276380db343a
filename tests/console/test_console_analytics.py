"""Analytics: volumes, answer figures, declined/referred signals, satisfaction without the trap, SVG charts."""

from __future__ import annotations

import re
from collections.abc import Callable

from console_support import Staff, login
from sqlalchemy import insert
from starlette.testclient import TestClient

from bot.console.state import ConsoleState
from bot.gateway.models import Conversation, InboundMessage
from bot.tickets.models import Ticket
from tests.support.clock import FakeClock


def figure(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<（]+)', html)
    assert match, element_id
    return match.group(1).strip()


def add_inbound(console: ConsoleState, desk: str, statuses: list[str], clock: FakeClock) -> None:
    with console.engine.begin() as connection:
        conversation = f"{desk}:web:stats"
        connection.execute(
            insert(Conversation),
            [
                {
                    "id": conversation,
                    "desk": desk,
                    "channel": "web",
                    "external_user": "stats",
                    "handoff": False,
                    "bot_reset_pending": False,
                    "created_at": clock.now,
                    "last_seen_at": clock.now,
                }
            ],
        )
        connection.execute(
            insert(InboundMessage),
            [{"conversation_id": conversation, "text": "x", "status": s, "received_at": clock.now} for s in statuses],
        )


def test_answer_first_response_and_satisfaction_figures(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: ConsoleState, clock: FakeClock
) -> None:
    store = console.store
    fast, slow, waiting = new_ticket(), new_ticket(sla_first_response_hours=1), new_ticket()
    clock.advance(minutes=30)
    store.record_staff_reply(fast.id, staff_user="a", text="收到")  # 30 min: within the 4 h SLA
    clock.advance(hours=2)
    store.record_staff_reply(slow.id, staff_user="a", text="收到")  # 2.5 h: late for its 1 h SLA
    clock.advance(hours=3)  # `waiting` is now overdue without any reply
    for ticket, solved, score in ((fast, True, 5), (slow, False, 2)):
        store.change_status(ticket.id, "resolved", actor="a")
        store.record_rating(ticket.id, solved=solved, service_score=score)
    new_ticket(
        route="decline", summary="帮我儿子找个对象，电话13912345678", triage_signals={"entry_id": "wishing_well"}
    )
    new_ticket(route="refer", summary="官司判决不公", triage_signals={"entry_id": "litigation", "channel": "12368"})
    add_inbound(console, "12345", ["answered"] * 8 + ["to_staff", "received"], clock)
    assert waiting.first_response_at is None

    login(client, staff.supervisor)
    page = client.get("/console/analytics").text
    assert figure(page, "answer-rate") == "90.0%"  # 9 of 10 inbound messages answered
    assert figure(page, "first-response-rate") == "33.3%"  # 1 in time; 1 late; 1 overdue without reply
    assert figure(page, "solved-rate") == "50.0%"
    assert "3.50 / 5" in page
    assert "wishing_well：1 件" in page and "litigation：1 件" in page
    assert "139****5678" in page and "13912345678" not in page  # examples are masked


def test_first_gate_answers_are_counted_from_records_that_keep_no_transcript(
    client: TestClient, staff: Staff, console: ConsoleState
) -> None:
    """FAQ, refer and decline answers keep route, reason code and masked text only (bot.intake.records):
    the wishing-well and referral counts still come out of them."""
    from bot.intake.records import record_answer

    for n, (route, entry) in enumerate(
        (("decline", "wishing_well"), ("decline", "wishing_well"), ("refer", "litigation"))
    ):
        record = record_answer(
            console.store,
            route=route,
            desk="12345",
            conversation_id=f"12345:web:p{n}",
            origin=f"m{n}",
            text=f"帮我中彩票，电话1391234567{n}",
            entry_id=entry,
            channel="12368" if route == "refer" else None,
            reply="这个没办法帮您办理。",
        )
        assert console.store.transcript(record.id, masked=False) == []
    login(client, staff.supervisor)
    page = client.get("/console/analytics").text
    assert "wishing_well：2 件" in page and "litigation：1 件" in page
    assert "13912345670" not in page


def test_satisfaction_ignores_declined_and_auto_closed_records(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: ConsoleState
) -> None:
    handled = new_ticket()
    console.store.change_status(handled.id, "resolved", actor="a")
    console.store.record_rating(handled.id, solved=True, service_score=4)
    new_ticket(route="decline")  # cannot be rated at all: the store refuses, the figure never sees one
    new_ticket(route="faq")
    login(client, staff.supervisor)
    page = client.get("/console/analytics").text
    assert figure(page, "solved-rate") == "100.0%" and "4.00 / 5" in page


def test_volumes_per_day_route_and_category_with_accessible_svg(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], clock: FakeClock
) -> None:
    new_ticket()
    clock.advance(days=1)
    new_ticket(category="environment")
    new_ticket(route="crisis", category=None)
    login(client, staff.supervisor)
    page = client.get("/console/analytics?days=7").text
    assert "受理量（共 3 件）" in page
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 3
    for svg in svgs:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert "2026-11-24" in page and "生态环境" in page and "危机" in page
    assert "http" not in page.split("<body")[1].replace("http://www.w3.org/2000/svg", "")  # nothing external


def test_figures_cover_only_the_staff_members_desks(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket]
) -> None:
    new_ticket()
    for _ in range(4):
        new_ticket(desk="12355", conversation_id="12355:web:kid", category="study_stress")
    login(client, staff.supervisor)  # 12345 only
    page = client.get("/console/analytics?desk=12355").text
    assert "受理量（共 1 件）" in page and "study_stress" not in page
    login(client, staff.admin)
    assert "受理量（共 5 件）" in client.get("/console/analytics").text
    assert "受理量（共 4 件）" in client.get("/console/analytics?desk=12355").text


def test_the_period_window_moves_with_the_clock(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], clock: FakeClock
) -> None:
    new_ticket()
    clock.advance(days=10)
    login(client, staff.supervisor)
    assert "受理量（共 0 件）" in client.get("/console/analytics?days=7").text
    assert "受理量（共 1 件）" in client.get("/console/analytics?days=30").text
    assert client.get("/console/analytics?days=abc").status_code == 200


def test_time_to_first_human_response_of_every_crisis(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: ConsoleState, clock: FakeClock
) -> None:
    store = console.store
    quick, slow, unanswered = (new_ticket(route="crisis") for _ in range(3))
    new_ticket()  # an ordinary ticket: not a crisis
    new_ticket(route="crisis", desk="12355", conversation_id="12355:web:kid")  # another desk
    clock.advance(minutes=4)
    store.record_staff_reply(quick.id, staff_user="a", text="我在")
    clock.advance(minutes=20)
    store.record_staff_reply(slow.id, staff_user="a", text="我在")
    store.record_staff_reply(quick.id, staff_user="a", text="还好吗")  # only the first reply counts

    login(client, staff.supervisor)  # 12345 only
    page = client.get("/console/analytics").text

    summary = re.search(r'id="crisis-response">([^<]+)', page)
    assert summary is not None
    assert summary.group(1).startswith(
        "3 件危机，已有人工首次响应 2 件，尚无响应 1 件；用时中位数 14 分钟，90% 在 24 分钟 内"
    )
    table = page.split('id="crisis-table"')[1].split("</table>")[0]
    cells = re.findall(
        r"<tr><td><a href=\"/console/tickets/(\d+)\">[^<]+</a></td><td>(\d+)</td><td>[^<]+</td><td>([^<]+)</td>", table
    )
    assert sorted(cells) == sorted(
        [
            (str(quick.id), "12345", "4 分钟"),
            (str(slow.id), "12345", "24 分钟"),
            (str(unanswered.id), "12345", "尚无响应"),
        ]
    )
    assert "12355" not in table  # only the desks the staff member works on
