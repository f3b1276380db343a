"""Separate consent before a sensitive matter is recorded, the age on a youth desk and the guardian
path for under-14s (actions/ticket_form.py, actions/ticket_submit.py); crisis help needs no consent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from action_test_support import customs, responses, slot_values
from rasa_sdk.executor import CollectingDispatcher

from actions.form_turns import ActionCancelTicketForm
from actions.safety import ActionHandleCrisis
from actions.ticket_form import ValidateTicketForm, form_slots
from actions.ticket_submit import ActionSubmitTicket
from bot.intake.records import UNDER_14_NOTE
from tests.decisions import decided

DAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 China time: both desks staffed
KID = "12355:web:kid"
COUNSELLING = {"desk": "12355", "category": "counselling", "route": "ticket", "problem_what": "最近压力好大，总是失眠"}


def at(make_tracker, slot, text, intent="inform", value=None, decision=None, **slots):
    """The person answers the form's `slot` with `text` in a 12355 counselling form."""
    return make_tracker(
        text,
        intent,
        slots={**COUNSELLING, "requested_slot": slot, **slots},
        active_loop="ticket_form",
        sender_id=KID,
        slot_events={slot: text if value is None else value},
        decision=decision,
    )


def confirmed(make_tracker, **slots):
    values = {
        **COUNSELLING,
        "problem_since": "上个月",
        "sensitive_consent": True,
        "ticket_confirmed": True,
        "ticket_origin": "m-origin",
        **slots,
    }
    return make_tracker("/affirm", intent="affirm", slots=values, sender_id=KID, earlier_texts=("最近压力好大",))


# -- which questions ------------------------------------------------------------------------------


def test_a_sensitive_category_asks_consent_before_any_detail_and_a_no_ends_the_form(make_tracker):
    asked = make_tracker("x", sender_id=KID, slots=COUNSELLING)
    assert form_slots(asked, DAY)[:2] == ["problem_what", "sensitive_consent"]
    refused = make_tracker("x", sender_id=KID, slots={**COUNSELLING, "sensitive_consent": False})
    assert form_slots(refused, DAY) == []  # nothing more is asked; action_submit_ticket files nothing


def test_an_ordinary_category_asks_no_consent_and_12345_asks_no_age(make_tracker):
    tracker = make_tracker("x", slots={"category": "utilities"})
    slots = form_slots(tracker, DAY)
    assert "sensitive_consent" not in slots and "person_age" not in slots
    youth = make_tracker("x", sender_id=KID, slots={"desk": "12355", "category": "youth_employment"})
    assert "sensitive_consent" not in form_slots(youth, DAY) and "person_age" in form_slots(youth, DAY)


# -- the consent question ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "value", "expected"),
    [
        ("/affirm", "affirm", True, True),
        ("/deny", "deny", False, False),
        ("嗯，记下来吧", "inform", None, True),
        ("可以", "inform", None, True),
        ("不要记", "inform", None, False),
        ("算了吧", "inform", None, False),
        ("don't record it", "inform", None, False),
        ("yes please", "inform", None, True),
        ("说不清", "inform", None, None),  # not an answer: the question is asked again
        ("想搵人傾下 但唔想你哋打電話返屋企", "inform", None, True),  # asking to be heard is a yes
        ("I just want to talk to someone", "inform", None, True),
        ("note it down please", "inform", None, True),  # "no" at the start of a word is not a no
    ],
)
async def test_consent_answers(make_tracker, dispatcher, domain, text, intent, value, expected):
    tracker = at(make_tracker, "sensitive_consent", text, intent, value)
    result = await ValidateTicketForm().validate_sensitive_consent(
        text if value is None else value, dispatcher, tracker, domain
    )
    assert result == {"sensitive_consent": expected}


async def test_more_of_the_story_at_the_consent_question_is_added_and_asked_once_more(make_tracker, dispatcher, domain):
    """ "我媽尋晚收埋我部電話 仲話要送我去寄宿學校" instead of a yes or no: the words join the
    description and the question comes back once; a person who goes on telling is taken as wanting it
    noted (the summary still asks before anything is filed), never asked a third time."""
    story = "我媽尋晚收埋我部電話 仲話要送我去寄宿學校"
    first = await ValidateTicketForm().validate_sensitive_consent(
        story, dispatcher, at(make_tracker, "sensitive_consent", story), domain
    )
    assert first["sensitive_consent"] is None and first["ticket_reasked"] == "sensitive_consent"
    assert story in first["problem_what"] and "压力" in first["problem_what"]
    assert responses(dispatcher) == ["utter_correction_added"]

    more = "不過如果係放學後打俾我自己 都得嘅 五點之後"  # "不過…" is not a no
    second = await ValidateTicketForm().validate_sensitive_consent(
        more, dispatcher, at(make_tracker, "sensitive_consent", more, ticket_reasked="sensitive_consent"), domain
    )
    assert second["sensitive_consent"] is True and more in second["problem_what"]
    assert responses(dispatcher)[-1] == "utter_consent_taken"


async def test_a_crisis_at_the_consent_question_gets_help_at_once_without_consent(
    make_tracker, dispatcher, domain, store
):
    decision = decided(route="crisis", channel="12356", desk="12355")
    tracker = at(
        make_tracker, "sensitive_consent", "记不记都无所谓了，我不想活了", "describe_problem", decision=decision
    )

    events = await ValidateTicketForm(store=store, clock=lambda: DAY).run(dispatcher, tracker, domain)

    slots = slot_values(events)
    assert slots["ticket_abort"] == "crisis" and slots["handoff"] is True and slots["requested_slot"] is None
    assert responses(dispatcher)[0] == "utter_crisis"
    [ticket] = store.tickets_for_conversation(KID)
    assert (ticket.route, ticket.priority) == ("crisis", "urgent")  # filed for staff, no consent asked
    assert customs(dispatcher) == [{"handoff": True, "reason": "crisis", "urgent_ticket": ticket.number}]


async def test_the_crisis_intent_in_a_form_waiting_for_consent_opens_the_crisis_ticket(
    make_tracker, dispatcher, domain, store
):
    """The gateway sends a crisis as /crisis: the safety rule leaves the form and action_handle_crisis
    files the urgent ticket with the matter, whatever the consent question was waiting for."""
    tracker = make_tracker(
        "/crisis",
        intent="crisis",
        active_loop="ticket_form",
        sender_id=KID,
        slots={**COUNSELLING, "requested_slot": "sensitive_consent"},
    )

    events = await ActionHandleCrisis(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher)[0] == "utter_crisis"
    [ticket] = store.tickets_for_conversation(KID)
    assert ticket.route == "crisis" and "压力" in ticket.summary_redacted
    assert slot_values(events)["handoff"] is True


async def test_a_bare_suan_le_at_the_consent_question_is_a_no_to_recording(make_tracker, dispatcher, domain, store):
    tracker = at(make_tracker, "sensitive_consent", "算了", "cancel")
    events = await ActionCancelTicketForm(store=store).run(dispatcher, tracker, domain)
    assert slot_values(events) == {"sensitive_consent": False}
    assert {"event": "active_loop", "name": "ticket_form"} in [
        {"event": e["event"], "name": e.get("name")} for e in events if e["event"] == "active_loop"
    ]


# -- submit ---------------------------------------------------------------------------------------------


async def test_no_to_recording_files_nothing_and_says_what_can_be_done_without_a_ticket(
    make_tracker, dispatcher, domain, store, clock
):
    tracker = make_tracker("/deny", intent="deny", slots={**COUNSELLING, "sensitive_consent": False}, sender_id=KID)

    events = await ActionSubmitTicket(store=store, clock=clock).run(dispatcher, tracker, domain)

    assert store.tickets_for_conversation(KID) == []
    assert responses(dispatcher) == ["utter_sensitive_not_recorded"]
    assert slot_values(events)["problem_what"] is None and slot_values(events)["sensitive_consent"] is None
    [said] = [v["text"] for v in domain["responses"]["utter_sensitive_not_recorded"] if v.get("condition")][:1]
    assert "12356" in said and "110" in said and "不记下来" in said


async def test_yes_files_the_ticket_with_the_consent_as_asked(make_tracker, dispatcher, domain, store, clock):
    await ActionSubmitTicket(store=store, clock=clock).run(dispatcher, confirmed(make_tracker), domain)

    [ticket] = store.tickets_for_conversation(KID)
    assert ticket.route == "ticket" and ticket.category == "counselling"
    consent = ticket.triage_signals["sensitive_consent"]
    assert "敏感信息" in consent and consent.endswith("（回答：同意）")


# -- age and the guardian path --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "stored", "told"),
    [
        ("15", "inform", "15", []),
        ("我今年十二岁", "inform", "12", ["utter_under_14"]),
        ("13岁，初一", "inform", "13", ["utter_under_14"]),
        ("14", "inform", "14", []),
        ("不想说", "deny", "未说明", []),
        ("/deny", "deny", "未说明", []),
        ("初二", "inform", "未说明", []),
    ],
)
async def test_age_answers(make_tracker, dispatcher, domain, text, intent, stored, told):
    tracker = at(make_tracker, "person_age", text, intent)
    result = await ValidateTicketForm().validate_person_age(text, dispatcher, tracker, domain)
    assert result == {"person_age": stored}
    assert responses(dispatcher) == told


async def test_an_under_14_ticket_is_filed_marked_and_tells_staff_to_involve_a_guardian(
    make_tracker, dispatcher, domain, store, clock
):
    await ActionSubmitTicket(store=store, clock=clock).run(dispatcher, confirmed(make_tracker, person_age="12"), domain)

    [ticket] = store.tickets_for_conversation(KID)
    assert ticket.route == "ticket" and ticket.status == "new"  # filed: to protect the child
    assert ticket.triage_signals["under_14"] is True and ticket.triage_signals["age"] == "12"
    assert UNDER_14_NOTE in ticket.summary_redacted and "监护人或学校" in ticket.summary_redacted
    assert responses(dispatcher)[0] == "utter_ticket_created"


async def test_fourteen_and_not_said_are_not_marked(make_tracker, domain, store, clock):
    for sender, age in (("12355:web:a", "14"), ("12355:web:b", "未说明")):
        tracker = make_tracker(
            "/affirm",
            intent="affirm",
            slots={**COUNSELLING, "sensitive_consent": True, "ticket_confirmed": True, "person_age": age},
            sender_id=sender,
        )
        await ActionSubmitTicket(store=store, clock=clock).run(CollectingDispatcher(), tracker, domain)
        [ticket] = store.tickets_for_conversation(sender)
        assert "under_14" not in ticket.triage_signals and UNDER_14_NOTE not in ticket.summary_redacted


def test_the_under_14_message_is_kind_and_truthful(domain):
    youth_zh = domain["responses"]["utter_under_14"][0]
    assert youth_zh["condition"][0]["value"] == "12355"
    text = youth_zh["text"]
    assert "14岁" in text and "监护人" in text and "学校" in text and "还是会记下来" in text
    assert "您" not in text


async def test_asking_for_a_person_mid_form_still_marks_an_under_14s_ticket(make_tracker, dispatcher, domain, store):
    from actions.handoff import ActionHandoff

    tracker = make_tracker(
        "转人工",
        intent="ask_human",
        active_loop="ticket_form",
        sender_id=KID,
        slots={**COUNSELLING, "sensitive_consent": True, "person_age": "11", "requested_slot": "contact_consent"},
    )
    await ActionHandoff(store=store).run(dispatcher, tracker, domain)
    [ticket] = store.tickets_for_conversation(KID)
    assert ticket.triage_signals["under_14"] is True and UNDER_14_NOTE in ticket.summary_redacted
