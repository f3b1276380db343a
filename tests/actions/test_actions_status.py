"""action_check_status on the real ticket store: a person sees their own tickets only."""

from __future__ import annotations

from datetime import timedelta

from action_test_support import responses, slot_values

from actions.status import ActionCheckStatus, store_lookup


def open_ticket(
    store,
    conversation_id: str,
    key: str,
    summary: str = "小区路灯坏了",
    category: str = "urban_management",
    desk: str = "12345",
):
    return store.create_ticket(
        desk=desk,
        route="ticket",
        conversation_id=conversation_id,
        channel="web",
        idempotency_key=key,
        summary=summary,
        category=category,
        sla_first_response_hours=72,
        sla_resolution_hours=120,
    )


def number_entity(number: str) -> list[dict]:
    return [{"entity": "ticket_number", "value": number, "start": 0, "end": len(number)}]


async def test_no_ticket_for_this_conversation(make_tracker, dispatcher, domain, store):
    action = ActionCheckStatus(lookup=store_lookup(store))

    events = await action.run(dispatcher, make_tracker("我的工单怎么样了", intent="check_status"), domain)

    assert responses(dispatcher) == ["utter_status_not_found"]
    assert events == []


async def test_own_ticket_status_with_category_and_due_time(make_tracker, dispatcher, domain, store, clock):
    ticket = open_ticket(store, "12345:test:1", "k1")
    action = ActionCheckStatus(lookup=store_lookup(store, clock))  # the store's clock: not yet overdue

    await action.run(dispatcher, make_tracker("我的工单怎么样了", intent="check_status"), domain)

    text = dispatcher.messages[0]["text"]
    assert ticket.number in text and "城市管理与市政设施" in text and "已受理" in text and "前回复您" in text


async def test_staff_reply_and_progress_are_shown(make_tracker, dispatcher, domain, store, clock):
    ticket = open_ticket(store, "12345:test:1", "k1")
    store.record_staff_reply(ticket.id, staff_user="wang", text="已派维修人员，明天上午到场。")
    clock.advance(hours=1)

    await ActionCheckStatus(lookup=store_lookup(store)).run(
        dispatcher, make_tracker("查询进度", intent="check_status"), domain
    )

    text = dispatcher.messages[0]["text"]
    assert "处理中" in text and "已派维修人员" in text


async def test_overdue_ticket_is_admitted_honestly(make_tracker, dispatcher, domain, store, clock):
    open_ticket(store, "12345:test:1", "k1")
    clock.advance(hours=73)

    await ActionCheckStatus(lookup=store_lookup(store, clock)).run(
        dispatcher, make_tracker("怎么还没人联系我", intent="check_status"), domain
    )

    assert "超过了承诺的回复时间" in dispatcher.messages[0]["text"]


async def test_someone_elses_number_reveals_nothing(make_tracker, dispatcher, domain, store):
    other = open_ticket(store, "12345:web:someone-else", "k-other", summary="别人的事")
    tracker = make_tracker(f"查一下 {other.number}", intent="check_status", entities=number_entity(other.number))

    events = await ActionCheckStatus(lookup=store_lookup(store)).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_status_number_not_found"]
    assert "别人的事" not in str(dispatcher.messages)
    assert slot_values(events) == {"ticket_number": other.number}


async def test_own_number_is_found_and_records_of_answers_are_not_listed(make_tracker, dispatcher, domain, store):
    mine = open_ticket(store, "12345:test:1", "k1")
    store.create_ticket(
        desk="12345",
        route="decline",
        conversation_id="12345:test:1",
        channel="web",
        idempotency_key="k-decline",
        summary="帮我找对象",
    )
    tracker = make_tracker(f"工单 {mine.number}", intent="check_status", entities=number_entity(mine.number))

    await ActionCheckStatus(lookup=store_lookup(store)).run(dispatcher, tracker, domain)

    text = dispatcher.messages[0]["text"]
    assert mine.number in text and "其他工单" not in text


async def test_several_tickets_newest_first(make_tracker, dispatcher, domain, store, clock):
    first = open_ticket(store, "12345:test:1", "k1")
    clock.advance(minutes=5)
    second = open_ticket(store, "12345:test:1", "k2", summary="楼上噪音", category="environment")
    store.change_status(first.id, "resolved", actor="wang")

    await ActionCheckStatus(lookup=store_lookup(store)).run(
        dispatcher, make_tracker("我的工单", intent="check_status"), domain
    )

    text = dispatcher.messages[0]["text"]
    assert text.index(second.number) < text.index(first.number)
    assert f"{first.number}（已办结）" in text


async def test_lookup_errors_do_not_crash(make_tracker, dispatcher, domain):
    def broken(number, sender, language="zh-Hans"):
        raise ConnectionError("db down")

    await ActionCheckStatus(lookup=broken).run(dispatcher, make_tracker("查询进度", intent="check_status"), domain)

    assert responses(dispatcher) == ["utter_triage_error"]


def test_the_due_time_is_china_time(store, clock):
    from bot.intake.status import status_reply

    open_ticket(store, "12345:test:1", "k1")  # created 10:00 China time, answer due in 72 h
    text = status_reply(store, "12345:test:1", None, now=clock.now + timedelta(hours=1))
    assert "11月26日 10:00" in text


def test_a_young_person_hears_about_their_ticket_in_the_youth_desk_voice(store, clock):
    from bot.intake.status import status_reply

    for key, summary in (("y1", "同学一直孤立我"), ("y2", "考试压力好大")):
        open_ticket(store, "12355:web:kid", key, summary, category="counselling", desk="12355")
    text = status_reply(store, "12355:web:kid", None, now=clock.now + timedelta(hours=1))
    assert text and "您" not in text and "老师会在" in text and "前回复你" in text and "等待老师处理" in text
