"""action_check_status: honest answers while bot.tickets is not wired in."""

from __future__ import annotations

from action_test_support import responses, slot_values

from actions.status import ActionCheckStatus


async def test_no_ticket_for_this_conversation(make_tracker, dispatcher, domain):
    events = await ActionCheckStatus().run(dispatcher, make_tracker("我的工单怎么样了", intent="check_status"), domain)

    assert responses(dispatcher) == ["utter_status_not_found"]
    assert events == []


async def test_a_given_ticket_number_is_named_and_kept(make_tracker, dispatcher, domain):
    number = "12345-20261123-0042"
    tracker = make_tracker(
        f"工单号 {number}",
        intent="check_status",
        entities=[{"entity": "ticket_number", "value": number, "start": 4, "end": 23}],
    )

    events = await ActionCheckStatus().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_status_number_not_found"]
    assert dispatcher.messages[0]["ticket_number"] == number
    assert slot_values(events) == {"ticket_number": number}


async def test_a_found_ticket_is_reported(make_tracker, dispatcher, domain):
    action = ActionCheckStatus(lookup=lambda number, sender: "工单处理中，预计3天内回复。")

    await action.run(dispatcher, make_tracker("查询进度", intent="check_status"), domain)

    assert dispatcher.messages[0]["text"] == "工单处理中，预计3天内回复。"


async def test_lookup_errors_do_not_crash(make_tracker, dispatcher, domain):
    def broken(number, sender):
        raise ConnectionError("db down")

    await ActionCheckStatus(lookup=broken).run(dispatcher, make_tracker("查询进度", intent="check_status"), domain)

    assert responses(dispatcher) == ["utter_triage_error"]
