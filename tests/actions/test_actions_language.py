"""The actions in the conversation's language: the `language` slot, and the texts the actions write."""

from __future__ import annotations

from datetime import UTC, datetime

from action_test_support import buttons, responses
from rasa_sdk.events import SlotSet

from actions.common import language_of, response_variation
from actions.followup import ActionFollowUpAnswer
from actions.language import ActionExtractLanguage
from actions.safety import respond_to_emergency
from actions.status import ActionCheckStatus, store_lookup
from actions.ticket_questions import ActionAskCallbackTime, ActionAskTicketConfirmed, ActionAskTicketEdit
from actions.ticket_submit import consent_text
from actions.triage import ActionTriageRequest
from bot.followups.answers import rating_buttons, solved_buttons
from bot.intake.fields import format_duration, summary_lines
from tests.decisions import decided

DAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 China time
EN = {"language": "en"}
HK = {"language": "zh-Hant"}


def has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_the_language_slot_follows_the_gateways_metadata(make_tracker, dispatcher, domain):
    action = ActionExtractLanguage()
    assert action.name() == "action_extract_language"
    assert await action.run(dispatcher, make_tracker("hello there", metadata=EN), domain) == [SlotSet("language", "en")]
    # Traditional and Simplified readers get the Chinese responses: the slot says zh
    assert await action.run(dispatcher, make_tracker("你好", metadata=HK), domain) == []
    back = make_tracker("我们小区停水了", metadata={"language": "zh-Hans"}, slots={"language": "en"})
    assert await action.run(dispatcher, back, domain) == [SlotSet("language", "zh")]
    # no metadata (not through the gateway) or an unknown value: the slot stays as it is
    assert await action.run(dispatcher, make_tracker("hi", slots={"language": "en"}), domain) == []
    assert await action.run(dispatcher, make_tracker("hi", metadata={"language": "fr"}), domain) == []
    assert dispatcher.messages == []


def test_language_of_reads_the_metadata_then_the_slot(make_tracker):
    assert language_of(make_tracker("x", metadata=HK)) == "zh-Hant"
    assert language_of(make_tracker("x", slots={"language": "en"})) == "en"
    assert language_of(make_tracker("x")) == "zh-Hans"


async def test_the_summary_is_written_in_english(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "x",
        metadata=EN,
        slots={
            "category": "utilities",
            "problem_what": "No hot water since Monday",
            "problem_where": "未说明",
            "problem_since": "since Monday",
        },
    )
    await ActionAskTicketConfirmed(clock=lambda: DAY).run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert text.startswith("Please check what you are reporting:")
    for part in ("Description: No hot water since Monday", "Place: not given", "Since: since Monday"):
        assert part in text
    assert not has_han(text)
    assert buttons(dispatcher) == [{"title": "Submit", "payload": "/affirm"}, {"title": "Edit", "payload": "/deny"}]


async def test_the_youth_summary_in_english_is_warm(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "x", sender_id="12355:web:kid", metadata=EN, slots={"desk": "12355", "problem_what": "They took my phone"}
    )
    await ActionAskTicketConfirmed(clock=lambda: DAY).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"].startswith("Here's what I've noted down")


async def test_the_edit_menu_is_written_in_english(make_tracker, dispatcher, domain):
    tracker = make_tracker("x", metadata=EN, slots={"category": "utilities", "ticket_editing": True})
    await ActionAskTicketEdit(clock=lambda: DAY).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == "Which detail would you like to change?"
    assert [b["title"] for b in buttons(dispatcher)] == ["Description", "Place", "Since", "Contact", "No changes"]
    assert buttons(dispatcher)[1]["payload"] == '/inform{"ticket_edit":"problem_where"}'


async def test_the_callback_question_is_written_in_english(make_tracker, dispatcher, domain, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_STAFF_HOURS", raising=False)
    tracker = make_tracker("x", sender_id="12355:web:kid", metadata=EN, slots={"desk": "12355"})
    await ActionAskCallbackTime().run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert "09:00-18:00 every day" in text and not has_han(text)
    assert buttons(dispatcher) == [{"title": "Any time", "payload": "/affirm"}]


def test_the_consent_is_recorded_in_the_language_it_was_asked_in(domain):
    english = consent_text(domain, "12345", "en")
    assert english.startswith("If you would like staff to phone you") and english.endswith("(Answer: yes)")
    youth = consent_text(domain, "12355", "en")
    assert "under 14" in youth
    chinese = consent_text(domain, "12345", "zh-Hant")  # Rasa asked the Chinese question (converted on the way out)
    assert chinese.startswith("如需工作人员电话联系您") and chinese.endswith("（回答：同意）")


def test_response_variation_follows_rasas_rule(domain):
    assert response_variation(domain, "utter_greet", {"desk": "12355", "language": "en"})["text"].startswith("Hi there")
    assert response_variation(domain, "utter_greet", {"desk": "12345", "language": "zh"})["text"].startswith("您好")
    assert response_variation(domain, "utter_cancelled", {"desk": "12345", "language": "en"})["text"].startswith("OK")
    assert response_variation(domain, "no_such_response", {}) is None


def test_durations_and_summary_lines_in_english():
    assert [format_duration(h, "en") for h in (72, 24, 4, 1, 0.25, 36)] == [
        "3 days",
        "1 day",
        "4 hours",
        "1 hour",
        "15 minutes",
        "36 hours",
    ]
    assert format_duration(72) == "3天"
    lines = summary_lines(
        {"problem_since": "记不清", "callback_time": "都可以"}, ("problem_since", "callback_time"), "en"
    )
    assert lines == ["Since: can't remember", "Best time to call: any time"]


def test_emergency_names_the_service_in_english(make_tracker, dispatcher):
    respond_to_emergency(dispatcher, make_tracker("fire!", metadata=EN), "119")
    assert dispatcher.messages[0]["response"] == "utter_emergency_call"
    assert dispatcher.messages[0]["channel_name"] == "fire and rescue"


async def test_triage_answers_in_english_from_the_decision(make_tracker, dispatcher, domain):
    faq = decided("faq", faq_id="opening_hours", reply="We are open Monday to Friday, 9:00-17:00.")
    events = ActionTriageRequest().act_on(faq, "when are you open?", dispatcher, make_tracker("x", metadata=EN))
    assert dispatcher.messages[0]["text"] == "We are open Monday to Friday, 9:00-17:00."
    assert responses(dispatcher)[1] == "utter_faq_helpful"
    assert SlotSet("route", "faq") in events


async def test_a_ticket_intro_without_an_english_category_name_is_the_plain_one(make_tracker, dispatcher, domain):
    ticket = decided("ticket", category="utilities", category_name="水电气暖")
    ActionTriageRequest().act_on(ticket, "no hot water for three days", dispatcher, make_tracker("x", metadata=EN))
    assert responses(dispatcher)[0] == "utter_ticket_intro_plain"
    dispatcher.messages.clear()
    named = decided("ticket", category="utilities", category_name="Water, power and heating")
    ActionTriageRequest().act_on(named, "no hot water for three days", dispatcher, make_tracker("x", metadata=EN))
    assert dispatcher.messages[0]["response"] == "utter_ticket_intro"
    assert dispatcher.messages[0]["category_name"] == "Water, power and heating"


def test_follow_up_buttons_in_english():
    assert [b["title"] for b in solved_buttons(17, language="en")] == ["Solved", "Not solved"]
    assert [b["title"] for b in solved_buttons(17, crisis=True, language="en")] == ["Much better", "Still not great"]
    assert rating_buttons(17, "en")[0]["title"] == "5 Very satisfied"
    assert [b["payload"] for b in rating_buttons(17, "en")] == [b["payload"] for b in rating_buttons(17)]


async def test_status_in_english(make_tracker, dispatcher, domain, store, clock):
    from test_actions_status import open_ticket

    ticket = open_ticket(store, "12345:test:1", "k1")
    store.record_staff_reply(ticket.id, staff_user="wang", text="Repair team coming tomorrow morning.")
    tracker = make_tracker("how is my ticket?", intent="check_status", metadata=EN)
    await ActionCheckStatus(lookup=store_lookup(store, clock)).run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert text.startswith(f"Ticket {ticket.number} (City management and municipal facilities): being handled.")
    assert "Latest reply: Repair team coming tomorrow morning." in text


async def test_follow_up_rating_buttons_in_english(make_tracker, dispatcher, domain, store, clock):
    sender = "12345:web:p1"
    ticket = store.create_ticket(
        desk="12345",
        route="ticket",
        conversation_id=sender,
        channel="web",
        idempotency_key="k1",
        summary="street light",
        sla_first_response_hours=72,
    )
    store.change_status(ticket.id, "resolved", actor="wang")
    clock.advance(hours=25)
    [visit] = store.due_follow_ups()
    store.record_follow_up_outcome(visit.id, "no_answer", actor="followup", retry_after_hours=48, max_attempts=99)
    tracker = make_tracker(
        f'/affirm{{"follow_up_ticket":"{ticket.id}"}}',
        intent="affirm",
        sender_id=sender,
        metadata=EN,
        entities=[{"entity": "follow_up_ticket", "value": str(ticket.id), "start": 0, "end": 1}],
    )
    await ActionFollowUpAnswer(store=store).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_follow_up_solved"]
    assert buttons(dispatcher)[0]["title"] == "5 Very satisfied"
