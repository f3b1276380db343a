"""action_handle_crisis and action_handle_emergency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from action_test_support import customs, responses, slot_values
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionHandleCrisis, ActionHandleEmergency
from tests.decisions import decided


async def test_first_crisis_message_gives_numbers_opens_an_urgent_ticket_and_brings_in_a_person(
    make_tracker, dispatcher, domain, store, clock
):
    tracker = make_tracker("我不想活了", intent="crisis", sender_id="12355:telegram:42", bot_texts=("你好呀",))

    events = await ActionHandleCrisis(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_crisis", None]
    [ticket] = store.tickets_for_conversation("12355:telegram:42")
    assert (ticket.route, ticket.priority, ticket.status, ticket.channel) == ("crisis", "urgent", "new", "telegram")
    assert ticket.sla_first_response_due == clock.now + timedelta(minutes=15)
    assert customs(dispatcher) == [{"handoff": True, "reason": "crisis", "urgent_ticket": ticket.number}]
    assert [(line.sender, line.text) for line in store.transcript(ticket.id, masked=False)] == [
        ("bot", "你好呀"),
        ("person", "我不想活了"),
    ]
    assert slot_values(events) == {
        "in_crisis": True,
        "handoff": True,
        "route": "crisis",
        "channel": "12356",
        "last_ticket": ticket.number,
    }
    assert not any(e["event"] == "active_loop" for e in events)


async def test_a_retried_crisis_action_opens_one_ticket(make_tracker, domain, store):
    tracker = make_tracker("我不想活了", intent="crisis", message_id="same-message")

    for _ in range(2):
        await ActionHandleCrisis(store=store).run(CollectingDispatcher(), tracker, domain)

    assert len(store.tickets_for_conversation("12345:test:1")) == 1


async def test_crisis_without_a_ticket_store_still_answers_and_hands_over(make_tracker, dispatcher, domain):
    class Broken:
        def create_ticket(self, **kwargs):
            raise ConnectionError("db down")

    await ActionHandleCrisis(store=Broken()).run(dispatcher, make_tracker("我不想活了", intent="crisis"), domain)

    assert responses(dispatcher)[0] == "utter_crisis"
    assert customs(dispatcher) == [{"handoff": True, "reason": "crisis"}]


def test_crisis_response_names_the_hotlines_for_each_desk(domain):
    by_desk = {
        (v.get("condition") or [{}])[0].get("value", "default"): v["text"] for v in domain["responses"]["utter_crisis"]
    }
    for desk, text in by_desk.items():
        for number in ("12356", "110", "120"):
            assert number in text, (desk, number)
        assert "再见" not in text
    assert "12355" in by_desk["12355"]


async def test_crisis_mid_form_deactivates_the_form_and_keeps_the_matter_in_the_ticket(
    make_tracker, dispatcher, domain, store
):
    tracker = make_tracker(
        "我不想活了",
        intent="crisis",
        active_loop="ticket_form",
        slots={"problem_what": "宿舍热水器坏了", "requested_slot": "problem_where", "route": "ticket"},
    )

    events = await ActionHandleCrisis(store=store).run(dispatcher, tracker, domain)

    assert (events[0]["event"], events[0]["name"]) == ("active_loop", None)
    slots = slot_values(events)
    assert slots["problem_what"] is None and slots["requested_slot"] is None
    [ticket] = store.tickets_for_conversation("12345:test:1")
    assert "宿舍热水器坏了" in ticket.summary_redacted


async def test_later_messages_stay_with_the_person_without_a_second_ticket(make_tracker, dispatcher, domain, store):
    tracker = make_tracker(
        "嗯", intent="affirm", slots={"in_crisis": True, "handoff": True, "route": "crisis", "channel": "12356"}
    )

    events = await ActionHandleCrisis(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_crisis_stay", None]
    assert customs(dispatcher) == [{"handoff": True, "reason": "crisis"}]
    assert events == []
    assert store.tickets_for_conversation("12345:test:1") == []
    for variation in domain["responses"]["utter_crisis_stay"]:
        assert "12356" in variation["text"] and "110" in variation["text"]


async def test_emergency_uses_the_channel_entity_of_the_safety_override(make_tracker, dispatcher, domain, store):
    decision = decided(route="ticket")  # the entity wins over the decision
    tracker = make_tracker(
        "楼下着火了",
        intent="emergency",
        entities=[{"entity": "channel", "value": "119", "start": 2, "end": 5}],
        decision=decision,
    )

    events = await ActionHandleEmergency(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_emergency_call", "utter_emergency_after"]
    assert dispatcher.messages[0]["channel"] == "119"
    assert dispatcher.messages[0]["channel_name"] == "消防救援"
    assert slot_values(events) == {"route": "emergency", "channel": "119"}
    assert domain["responses"]["utter_emergency_call"][0]["text"].startswith("请立即拨打")
    [record] = store.tickets_for_conversation("12345:test:1")
    assert (record.route, record.status, record.triage_signals["channel"]) == ("emergency", "referred", "119")


async def test_emergency_without_entity_takes_the_channel_of_the_gateway_decision(
    make_tracker, dispatcher, domain, store
):
    decision = decided(route="emergency", channel="120")

    await ActionHandleEmergency(store=store).run(
        dispatcher, make_tracker("我爸晕倒了", intent="emergency", decision=decision), domain
    )

    assert dispatcher.messages[0]["channel"] == "120"


async def test_emergency_with_unknown_channel_lists_all_numbers(make_tracker, dispatcher, domain, store):
    events = await ActionHandleEmergency(store=store).run(
        dispatcher, make_tracker("快来人", intent="emergency"), domain
    )

    assert responses(dispatcher) == ["utter_emergency_unknown", "utter_emergency_after"]
    assert slot_values(events) == {"route": "emergency", "channel": None}
    text = domain["responses"]["utter_emergency_unknown"][0]["text"]
    assert all(n in text for n in ("110", "119", "120", "122"))


async def test_a_crisis_the_gateway_turned_into_a_payload_keeps_the_persons_words(
    make_tracker, dispatcher, domain, store
):
    words = "我真的撑不下去了，今晚不想活了"
    tracker = make_tracker(
        "/crisis",
        intent="crisis",
        metadata={"desk": "12345", "text": words},
        decision=decided("crisis", channel="12356", signals=("lexicon:不想活",)),
    )

    await ActionHandleCrisis(store=store).run(dispatcher, tracker, domain)

    [ticket] = store.tickets_for_conversation("12345:test:1")
    assert ticket.summary_redacted == words
    assert [line.text for line in store.transcript(ticket.id, masked=False)] == [words]


async def test_an_emergency_payload_is_recorded_with_the_persons_words(make_tracker, dispatcher, domain, store):
    tracker = make_tracker(
        '/emergency{"channel":"119"}',
        intent="emergency",
        metadata={"text": "楼下着火了"},
        entities=[{"entity": "channel", "value": "119", "start": 0, "end": 1}],
    )

    await ActionHandleEmergency(store=store).run(dispatcher, tracker, domain)

    [record] = store.tickets_for_conversation("12345:test:1")
    assert record.summary_redacted == "楼下着火了"


async def test_a_yes_to_the_check_in_question_opens_a_ticket_with_the_gateways_record(
    make_tracker, dispatcher, domain, store, tmp_path
):
    """The check-in question and the person's own words are in the gateway's record, not in Rasa's
    tracker (Rasa saw "/crisis"): the ticket's transcript is the gateway's record."""
    from bot.crisis_words import CHECK_IN_QUESTION, check_in
    from bot.db.engine import make_engine
    from bot.gateway.store import GatewayStore, Reply
    from bot.triage.decision import CHECK_IN_ANSWER_SIGNAL

    gateway = GatewayStore(make_engine(f"sqlite:///{tmp_path / 'tickets.db'}"))  # the store's database
    first, _, _ = gateway.persist_inbound("12345", "test", "1", "g1", "最近好累，什么都不想做")
    gateway.finish(first, [Reply("听起来你最近很辛苦。"), Reply(check_in("12345"), source="check-in")], False)
    gateway.persist_inbound("12345", "test", "1", "g2", "有")
    signals = ["check-in:0.31", f"{CHECK_IN_ANSWER_SIGNAL}:yes"]
    tracker = make_tracker(
        "/crisis",
        intent="crisis",
        earlier_texts=("最近好累，什么都不想做",),
        metadata={"desk": "12355", "text": "有"},
        decision=decided("crisis", "12355", channel="12356", signals=signals),
    )

    await ActionHandleCrisis(store=store).run(dispatcher, tracker, domain)

    [ticket] = store.tickets_for_conversation("12345:test:1")
    assert ticket.summary_redacted.startswith("有\n")
    assert CHECK_IN_QUESTION in ticket.summary_redacted  # what the yes answered
    assert ticket.triage_signals["screen"] == signals
    lines = [(line.sender, line.text) for line in store.transcript(ticket.id, masked=False)]
    assert lines == [
        ("person", "最近好累，什么都不想做"),
        ("bot", "听起来你最近很辛苦。"),
        ("bot", check_in("12345")),
        ("person", "有"),
    ]


@pytest.mark.parametrize("desk", ["12345", "12355"])
async def test_out_of_staff_hours_the_crisis_answer_promises_no_person(make_tracker, dispatcher, desk, monkeypatch):
    """At 03:00 China time with staff on 09:00-18:00: the answer says staff are offline and when they are
    back (the 24-hour line first), never that a person is joining; in hours it is the usual answer."""
    from datetime import UTC, datetime

    from actions.safety import respond_to_crisis

    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", f"{desk}=09:00-18:00")
    night = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    sender = f"{desk}:test:night"
    respond_to_crisis(dispatcher, make_tracker("我不想活了", intent="crisis", sender_id=sender), night)
    assert dispatcher.messages[0]["response"] == "utter_crisis_off_hours"
    assert dispatcher.messages[0]["back_at"] == "今天09:00"
    day = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    respond_to_crisis(dispatcher, make_tracker("我不想活了", intent="crisis", sender_id=sender), day)
    assert dispatcher.messages[1]["response"] == "utter_crisis"


def test_no_crisis_or_handoff_answer_promises_a_person_out_of_hours(domain) -> None:
    """Every variation of the off-hours answers says staff are offline and names 12356 and 110/120."""
    for name in ("utter_crisis_off_hours", "utter_crisis_stay_off_hours", "utter_handoff_off_hours"):
        for variation in domain["responses"][name]:
            text = variation["text"]
            assert "{back_at}" in text and ("110" in text)
            assert "不在线" in text or "offline" in text
            assert "很快会接入" not in text and "马上就来" not in text and "join very soon" not in text
