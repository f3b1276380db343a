"""FollowUpScheduler: one question per return visit, no answer closes it, SLA alerts, restarts."""

from __future__ import annotations

from bot.followups.scheduler import FollowUpScheduler, Unreachable
from bot.tickets.repository import TicketStore
from tests.followups.conftest import resolved_ticket


async def test_nothing_is_sent_before_the_visit_is_due(store, outbox, clock):
    resolved_ticket(store)
    report = await FollowUpScheduler(store, outbox, clock=clock).run_once()
    assert outbox.sent == [] and report.asked == 0


async def test_a_due_visit_asks_once_whether_it_was_solved(store, outbox, clock):
    ticket = resolved_ticket(store)
    clock.advance(hours=25)
    scheduler = FollowUpScheduler(store, outbox, clock=clock)

    report = await scheduler.run_once()
    await scheduler.run_once()  # the next tick: already asked, nothing new

    assert report.asked == 1
    [(conversation, text, buttons)] = outbox.sent
    assert conversation == "12345:web:p1"
    assert ticket.number in text and "路灯" in text and "解决了吗" in text
    assert buttons == [
        {"title": "已解决", "payload": f'/affirm{{"follow_up_ticket":"{ticket.id}"}}'},
        {"title": "未解决", "payload": f'/deny{{"follow_up_ticket":"{ticket.id}"}}'},
    ]
    assert all(len(b["payload"].encode()) <= 64 for b in buttons)  # Telegram's callback_data limit
    [visit] = store.follow_ups(ticket.id)
    assert (visit.status, visit.attempts, visit.outcome) == ("pending", 1, "no_answer")


async def test_no_answer_in_the_window_ends_the_visit_and_closes_the_ticket(store, outbox, clock):
    ticket = resolved_ticket(store)
    clock.advance(hours=25)
    scheduler = FollowUpScheduler(store, outbox, clock=clock, answer_window_hours=48)
    await scheduler.run_once()
    clock.advance(hours=49)

    report = await scheduler.run_once()

    assert report.closed_no_answer == 1 and len(outbox.sent) == 1
    assert store.get(ticket.id).status == "closed"
    assert store.follow_ups(ticket.id)[-1].status == "done"


async def test_visits_live_in_the_database_and_survive_a_restart(store, db_url, outbox, clock):
    resolved_ticket(store)
    clock.advance(hours=25)
    await FollowUpScheduler(store, outbox, clock=clock).run_once()

    restarted = TicketStore.from_url(db_url, clock=clock)  # a new process: nothing kept in memory
    await FollowUpScheduler(restarted, outbox, clock=clock).run_once()

    assert len(outbox.sent) == 1


async def test_a_failed_send_keeps_the_visit_due(store, outbox, clock):
    ticket = resolved_ticket(store)
    clock.advance(hours=25)
    outbox.fail_with = ConnectionError("queue down")
    scheduler = FollowUpScheduler(store, outbox, clock=clock)

    report = await scheduler.run_once()
    outbox.fail_with = None
    again = await scheduler.run_once()

    assert report.failed == 1 and again.asked == 1
    assert store.follow_ups(ticket.id)[0].attempts == 1


async def test_an_unreachable_conversation_ends_the_visit(store, outbox, clock):
    ticket = resolved_ticket(store)
    clock.advance(hours=25)
    outbox.fail_with = Unreachable("gone")

    report = await FollowUpScheduler(store, outbox, clock=clock).run_once()

    assert report.unreachable == 1
    assert store.get(ticket.id).status == "closed"


async def test_a_crisis_visit_asks_gently(store, outbox, clock):
    resolved_ticket(store, conversation_id="12355:telegram:9", desk="12355", route="crisis", summary="不想活了")
    clock.advance(hours=25)

    await FollowUpScheduler(store, outbox, clock=clock).run_once()

    [(_, text, buttons)] = outbox.sent
    assert "还好吗" in text and "不想活了" not in text
    assert [b["title"] for b in buttons] == ["好多了", "还是不太好"]


async def test_declined_and_referred_records_get_no_visit(store, outbox, clock):
    for i, route in enumerate(("decline", "refer", "faq")):
        store.create_ticket(
            desk="12345",
            route=route,
            conversation_id=f"12345:web:{i}",
            channel="web",
            idempotency_key=f"r{i}",
            summary="x",
        )
    clock.advance(days=10)
    report = await FollowUpScheduler(store, outbox, clock=clock).run_once()
    assert outbox.sent == [] and report.overdue == 0


async def test_a_missed_deadline_is_logged_and_alerted_once_per_interval(store, outbox, clock, caplog):
    ticket = store.create_ticket(
        desk="12355",
        route="ticket",
        conversation_id="12355:web:x",
        channel="web",
        idempotency_key="late",
        summary="被同学勒索",
        priority="urgent",
        sla_first_response_hours=4,
        sla_resolution_hours=120,
    )
    alerts: list[tuple[str, str]] = []

    async def alert(desk: str, text: str) -> None:
        alerts.append((desk, text))

    scheduler = FollowUpScheduler(store, outbox, alert, clock=clock, realert_hours=4)
    clock.advance(hours=5)
    first = await scheduler.run_once()
    clock.advance(hours=1)
    await scheduler.run_once()
    clock.advance(hours=4)
    await scheduler.run_once()

    assert first.overdue == 1 and first.alerted == 1
    assert len(alerts) == 2
    desk, text = alerts[0]
    assert desk == "12355" and ticket.number in text and "首次回复" in text and "【紧急】" in text
    assert "SLA missed" in caplog.text


async def test_an_answered_ticket_leaves_the_watch(store, outbox, clock):
    ticket = store.create_ticket(
        desk="12345",
        route="ticket",
        conversation_id="12345:web:y",
        channel="web",
        idempotency_key="late2",
        summary="路灯坏了",
        sla_first_response_hours=1,
    )
    alerts: list[str] = []

    async def alert(desk: str, text: str) -> None:
        alerts.append(text)

    scheduler = FollowUpScheduler(store, outbox, alert, clock=clock)
    clock.advance(hours=2)
    await scheduler.run_once()
    store.record_staff_reply(ticket.id, staff_user="li", text="收到，马上处理。")
    clock.advance(hours=5)
    report = await scheduler.run_once()

    assert len(alerts) == 1 and report.overdue == 0


async def test_a_broken_store_is_reported_not_raised(outbox, clock):
    class Broken:
        def due_follow_ups(self, *args, **kwargs):
            raise ConnectionError("db down")

        def overdue_tickets(self, *args, **kwargs):
            raise ConnectionError("db down")

    report = await FollowUpScheduler(Broken(), outbox, clock=clock).run_once()
    assert len(report.errors) == 2
