"""The ticket form: fields per category, answers, digressions, summary, edits, submit, cancel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from action_test_support import buttons, customs, responses, slot_values
from rasa_sdk.executor import CollectingDispatcher

from actions.ticket_form import ValidateTicketForm, form_slots
from actions.ticket_questions import ActionAskCallbackTime, ActionAskTicketConfirmed, ActionAskTicketEdit
from actions.ticket_submit import ActionCancelTicketForm, ActionSubmitTicket
from tests.decisions import decided

DAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 China time
NIGHT = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 China time: 12355 staff are off duty
YOUTH = "12355:web:kid"


@pytest.fixture
def answer(make_tracker):
    """A tracker where the person just answered the form's `slot` with `text`."""

    def build(slot, text, intent="inform", value=None, slots=None, sender_id="12345:test:1", **kwargs):
        current = {
            "route": "ticket",
            "requested_slot": slot,
            "problem_what": "小区门口的路灯坏了",
            "category": "urban_management",
            **(slots or {}),
        }
        return make_tracker(
            text,
            intent,
            slots=current,
            active_loop="ticket_form",
            sender_id=sender_id,
            slot_events={slot: text if value is None else value},
            **kwargs,
        )

    return build


# -- which questions ------------------------------------------------------------------------------


def test_a_municipal_category_asks_what_where_since_and_contact_with_consent(make_tracker):
    """Staff of a 12345 department verify and report back: a phone is asked for, with consent (a no
    skips it; replies then come only in the chat)."""
    tracker = make_tracker("x", slots={"category": "utilities"})
    assert form_slots(tracker, DAY) == [
        "problem_what",
        "problem_where",
        "problem_since",
        "contact_consent",
        "ticket_confirmed",
    ]


def test_the_12345_hotline_is_staffed_around_the_clock(make_tracker):
    tracker = make_tracker("x", slots={"category": "utilities"})
    assert "callback_time" not in form_slots(tracker, NIGHT)


def test_youth_rights_protection_asks_who_and_contact_only_with_consent(make_tracker):
    base = {"desk": "12355", "category": "rights_protection"}
    tracker = make_tracker("x", sender_id=YOUTH, slots=base)
    assert form_slots(tracker, DAY) == [
        "problem_what",
        "sensitive_consent",  # abuse is sensitive: separate consent before any detail
        "problem_who",
        "problem_where",
        "problem_since",
        "person_age",  # a youth desk asks the age when filing
        "contact_consent",
        "ticket_confirmed",
    ]
    agreed = make_tracker("x", sender_id=YOUTH, slots={**base, "contact_consent": True})
    assert "contact_value" in form_slots(agreed, DAY)


def test_youth_counselling_asks_only_what_and_since_and_contact_with_consent(make_tracker):
    tracker = make_tracker("x", sender_id=YOUTH, slots={"desk": "12355", "category": "counselling"})
    assert form_slots(tracker, DAY) == [
        "problem_what",
        "sensitive_consent",
        "problem_since",
        "person_age",
        "contact_consent",
        "ticket_confirmed",
    ]


def test_out_of_youth_staff_hours_the_callback_time_is_asked(make_tracker, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_STAFF_HOURS", raising=False)
    tracker = make_tracker("x", sender_id=YOUTH, slots={"desk": "12355", "category": "counselling"})
    assert form_slots(tracker, NIGHT)[-2:] == ["callback_time", "ticket_confirmed"]
    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12355=24h")
    assert "callback_time" not in form_slots(tracker, NIGHT)


def test_no_callback_time_is_asked_of_a_person_who_asked_not_to_be_contacted(make_tracker, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_STAFF_HOURS", raising=False)
    slots = {"desk": "12355", "category": "counselling", "contact_consent": False}
    tracker = make_tracker("x", sender_id=YOUTH, slots=slots)
    assert form_slots(tracker, NIGHT)[-2:] == ["contact_consent", "ticket_confirmed"]


def test_unknown_category_uses_the_default_questions_and_editing_adds_the_choice(make_tracker):
    tracker = make_tracker("x", slots={"category": None, "ticket_editing": True})
    assert form_slots(tracker, DAY) == [
        "problem_what",
        "problem_where",
        "problem_since",
        "ticket_edit",
        "ticket_confirmed",
    ]


async def test_activation_with_prefilled_details_requests_the_first_missing_one(make_tracker, domain):
    tracker = make_tracker(
        "停电快八个小时了",
        slots={"route": "ticket", "category": "utilities"},
        active_loop="ticket_form",
        slot_events={"problem_what": "停电快八个小时了", "problem_since": "八个小时了"},
    )

    events = await ValidateTicketForm(clock=lambda: DAY).run(CollectingDispatcher(), tracker, domain)

    assert slot_values(events) == {
        "problem_what": "停电快八个小时了",
        "problem_since": "八个小时了",
        "requested_slot": "problem_where",
    }


# -- answers ------------------------------------------------------------------------------------


async def test_a_plain_answer_is_kept(answer, dispatcher, domain):
    validator = ValidateTicketForm()
    result = await validator.validate_problem_where(
        "幸福路和建设路路口", dispatcher, answer("problem_where", "幸福路和建设路路口"), domain
    )
    assert result == {"problem_where": "幸福路和建设路路口"}


@pytest.mark.parametrize(
    ("slot", "intent", "text", "expected"),
    [
        ("problem_where", "deny", "不方便说", "未说明"),
        ("problem_since", "deny", "/deny", "记不清"),
        ("problem_who", "deny", "不清楚", "未说明"),
        ("problem_where", "affirm", "/affirm", "（见问题描述）"),
        ("problem_since", "affirm", "好的", None),  # asked once more (see test_actions_form_turns)
        ("problem_since", "inform", "/inform", None),
    ],
)
async def test_buttons_and_i_dont_know_are_answers_too(answer, dispatcher, domain, slot, intent, text, expected):
    validator = ValidateTicketForm()
    result = await validator._detail(slot, text, dispatcher, answer(slot, text, intent=intent))
    assert result[slot] == expected


async def test_a_new_request_with_another_route_is_answered_and_the_question_asked_again(
    answer, dispatcher, domain, store
):
    decision = decided(route="refer", channel="12368", entry_id="litigation", reply="案件进度请拨打12368。")
    text = "对了，我那个离婚官司法院一直不开庭怎么办"
    tracker = answer("problem_where", text, intent="describe_problem", message_id="m-digress", decision=decision)

    result = await ValidateTicketForm(store=store).validate_problem_where(text, dispatcher, tracker, domain)

    assert result == {"problem_where": None}
    assert next(m.get("text") for m in dispatcher.messages) == "案件进度请拨打12368。"
    assert responses(dispatcher) == [None, "utter_form_continue"]
    [record] = store.tickets_for_conversation("12345:test:1")
    assert (record.route, record.status) == ("refer", "referred")


@pytest.mark.parametrize(
    "text", ["廈門思明區，店面在曾厝垵附近", "Chaoyang district, Jianguo Road 88, the bar downstairs"]
)
async def test_a_statement_is_the_answer_even_when_it_reads_like_another_route_alone(
    text, answer, dispatcher, domain, store
):
    """A place read alone may look like a consumer complaint (refer 12315): stated in answer to "where",
    it is the answer, not a digression."""
    decision = decided(route="refer", channel="12315", entry_id="consumer", reply="消费投诉请拨打12315。")
    tracker = answer("problem_where", text, intent="describe_problem", decision=decision)

    result = await ValidateTicketForm(store=store).validate_problem_where(text, dispatcher, tracker, domain)

    assert result == {"problem_where": text}
    assert dispatcher.messages == []


async def test_how_to_answer_is_explained_and_the_question_asked_once_more(answer, dispatcher, domain, store):
    """ "地址要写多详细？" is not the address: say how much is enough, ask again (once)."""
    from actions.ticket_form import DETAIL_HINTS

    tracker = answer("problem_where", "地址要写多详细？", intent="inform", decision=decided(route="clarify"))
    result = await ValidateTicketForm(store=store).validate_problem_where(
        "地址要写多详细？", dispatcher, tracker, domain
    )
    assert result == {"problem_where": None, "ticket_reasked": "problem_where"}
    assert dispatcher.messages[0]["text"] == DETAIL_HINTS["problem_where"]


async def test_a_long_answer_that_is_still_the_same_matter_is_kept(answer, dispatcher, domain, store):
    decision = decided(route="ticket", category="urban_management")
    text = "就在光明街道向阳小区七栋后面那条小路上"
    tracker = answer("problem_where", text, intent="describe_problem", decision=decision)

    result = await ValidateTicketForm(store=store).validate_problem_where(text, dispatcher, tracker, domain)

    assert result == {"problem_where": text}
    assert dispatcher.messages == []


async def test_a_crisis_the_gateway_sees_inside_the_form_stops_it_with_an_urgent_ticket(
    answer, dispatcher, domain, store
):
    decision = decided(route="crisis", channel="12356")
    text = "算了说这些也没用，我觉得活着没什么意思了"
    tracker = answer("problem_where", text, intent="describe_problem", decision=decision)

    events = await ValidateTicketForm(store=store, clock=lambda: DAY).run(dispatcher, tracker, domain)

    slots = slot_values(events)
    assert slots["ticket_abort"] == "crisis" and slots["in_crisis"] is True and slots["handoff"] is True
    assert slots["requested_slot"] is None  # the form ends; action_submit_ticket then only tidies up
    [ticket] = store.tickets_for_conversation("12345:test:1")
    assert (ticket.route, ticket.priority) == ("crisis", "urgent")
    assert responses(dispatcher)[0] == "utter_crisis"
    assert customs(dispatcher) == [{"handoff": True, "reason": "crisis", "urgent_ticket": ticket.number}]


async def test_the_description_asked_for_after_an_faq_is_triaged_for_its_category(answer, dispatcher, domain, store):
    decision = decided(route="ticket", category="social_insurance", category_l1="劳动和社会保障")
    text = "社区服务中心一直说系统维护，医保卡补办不了"
    tracker = answer(
        "problem_what",
        text,
        intent="describe_problem",
        slots={"problem_what": None, "category": None},
        decision=decision,
    )

    result = await ValidateTicketForm(store=store).validate_problem_what(text, dispatcher, tracker, domain)

    assert result == {"problem_what": text, "category": "social_insurance", "category_l1": "劳动和社会保障"}


async def test_consent_and_number_in_one_message(answer, dispatcher, domain):
    tracker = answer("contact_consent", "可以，13812345678", sender_id=YOUTH)
    result = await ValidateTicketForm().validate_contact_consent("可以，13812345678", dispatcher, tracker, domain)
    assert result == {"contact_consent": True, "contact_value": "13812345678"}


async def test_a_wrong_number_is_asked_again_and_no_means_no(answer, dispatcher, domain):
    validator = ValidateTicketForm()
    assert validator.validate_contact_value("12345", dispatcher, answer("contact_value", "12345"), domain) == {
        "contact_value": None
    }
    assert responses(dispatcher) == ["utter_contact_invalid"]
    refused = validator.validate_contact_value(
        "/deny", dispatcher, answer("contact_value", "/deny", intent="deny"), domain
    )
    assert refused == {"contact_value": None, "contact_consent": False}


def test_every_contact_question_carries_the_privacy_note(domain):
    def key(variation):
        conditions = {c["name"]: c["value"] for c in variation.get("condition") or []}
        return conditions.get("desk", "default"), conditions.get("language", "zh")

    by_desk = {key(v): v["text"] for v in domain["responses"]["utter_ask_contact_consent"]}
    assert "14" in by_desk["12355", "zh"] and "监护人" in by_desk["12355", "zh"] and "紧急" in by_desk["12355", "zh"]
    assert (
        "14" in by_desk["12355", "en"]
        and "guardian" in by_desk["12355", "en"]
        and "emergency" in by_desk["12355", "en"]
    )
    assert all("保密" in text for (_, language), text in by_desk.items() if language == "zh")
    assert all("confidential" in text for (_, language), text in by_desk.items() if language == "en")


# -- summary and corrections -----------------------------------------------------------------------


async def test_the_summary_lists_the_details_with_confirm_and_edit_buttons(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "x",
        sender_id=YOUTH,
        slots={
            "desk": "12355",
            "category": "rights_protection",
            "problem_what": "被同学勒索",
            "problem_who": "隔壁班的两个人",
            "problem_where": "学校后门",
            "problem_since": "上个月",
            "contact_consent": True,
            "contact_value": "13812345678",
        },
    )

    await ActionAskTicketConfirmed(clock=lambda: DAY).run(dispatcher, tracker, domain)

    text = dispatcher.messages[0]["text"]
    for part in ("被同学勒索", "涉及对象：隔壁班的两个人", "地点：学校后门", "开始时间：上个月", "138****5678"):
        assert part in text
    assert "13812345678" not in text
    assert [b["payload"] for b in buttons(dispatcher)] == ["/affirm", "/deny"]


async def test_edit_asks_which_detail_with_a_button_each(make_tracker, dispatcher, domain):
    tracker = make_tracker("x", slots={"category": "utilities", "ticket_editing": True})

    await ActionAskTicketEdit(clock=lambda: DAY).run(dispatcher, tracker, domain)

    assert [b["title"] for b in buttons(dispatcher)] == ["问题描述", "地点", "开始时间", "联系方式", "不用改了"]
    assert buttons(dispatcher)[1]["payload"] == '/inform{"ticket_edit":"problem_where"}'


async def test_confirm_edit_and_correction(answer, dispatcher, domain):
    validator = ValidateTicketForm(clock=lambda: DAY)
    assert await validator.validate_ticket_confirmed(
        True, dispatcher, answer("ticket_confirmed", "/affirm"), domain
    ) == {"ticket_confirmed": True}
    assert await validator.validate_ticket_confirmed(
        False, dispatcher, answer("ticket_confirmed", "/deny"), domain
    ) == {
        "ticket_confirmed": None,
        "ticket_editing": True,
    }
    corrected = await validator.validate_ticket_confirmed(
        "灯杆上有编号 A-17", dispatcher, answer("ticket_confirmed", "灯杆上有编号 A-17"), domain
    )
    assert corrected == {"ticket_confirmed": None, "problem_what": "小区门口的路灯坏了\n补充：灯杆上有编号 A-17"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("problem_where", {"ticket_edit": None, "ticket_editing": False, "problem_where": None}),
        ("时间写错了", {"ticket_edit": None, "ticket_editing": False, "problem_since": None}),
        ("none", {"ticket_edit": None, "ticket_editing": False}),
        ("problem_who", {"ticket_edit": None}),  # not a question of this category: ask again
    ],
)
async def test_choosing_the_detail_to_change(answer, dispatcher, domain, choice, expected):
    tracker = answer("ticket_edit", choice, slots={"ticket_editing": True})
    assert ValidateTicketForm(clock=lambda: DAY).validate_ticket_edit(choice, dispatcher, tracker, domain) == expected


async def test_callback_question_names_the_staff_hours(make_tracker, dispatcher, domain, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_STAFF_HOURS", raising=False)
    await ActionAskCallbackTime().run(dispatcher, make_tracker("x", sender_id=YOUTH, slots={"desk": "12355"}), domain)
    assert "09:00-18:00" in dispatcher.messages[0]["text"]


# -- submit and cancel -------------------------------------------------------------------------


def confirmed(make_tracker, **slots):
    values = {
        "route": "ticket",
        "category": "utilities",
        "category_l1": "城乡建设",
        "problem_what": "停水两天了",
        "problem_where": "向阳小区7栋",
        "problem_since": "前天",
        "ticket_confirmed": True,
        "ticket_origin": "m-origin",
        **slots,
    }
    return make_tracker(
        "/affirm",
        intent="affirm",
        slots=values,
        sender_id=slots.pop("sender_id", "12345:web:u1"),
        earlier_texts=("我们小区停水两天了",),
        bot_texts=("请问具体在什么地方？",),
    )


def youth_rights_confirmed(make_tracker, **slots):
    """A confirmed 12355 rights-protection form (an urgent category) about a classmate."""
    return confirmed(
        make_tracker,
        sender_id=YOUTH,
        desk="12355",
        category="rights_protection",
        category_l1=None,
        problem_who="同班同学",
        **slots,
    )


async def test_submit_opens_the_ticket_and_tells_its_number_and_response_time(
    make_tracker, dispatcher, domain, store, clock
):
    events = await ActionSubmitTicket(store=store, clock=clock).run(dispatcher, confirmed(make_tracker), domain)

    [ticket] = store.tickets_for_conversation("12345:web:u1")
    assert (ticket.route, ticket.status, ticket.category, ticket.category_l1, ticket.channel) == (
        "ticket",
        "new",
        "utilities",
        "城乡建设",
        "web",
    )
    assert ticket.idempotency_key.startswith("ticket:m-origin:")
    assert "向阳小区[门牌]" in ticket.summary_redacted or "向阳小区7栋" in ticket.summary_redacted
    assert ticket.sla_first_response_due == clock.now + (ticket.sla_resolution_due - clock.now) * 24 / 120
    assert responses(dispatcher) == ["utter_ticket_created", None]
    assert customs(dispatcher) == [{"ticket_filed": ticket.number}]  # the gateway offers the next matter
    assert dispatcher.messages[0]["ticket_no"] == ticket.number and dispatcher.messages[0]["eta"] == "1天"
    assert [line.sender for line in store.transcript(ticket.id)] == ["person", "bot"]
    slots = slot_values(events)
    assert slots["last_ticket"] == ticket.number and slots["route"] is None and slots["problem_what"] is None


async def test_a_ticket_whose_request_was_close_to_the_crisis_bar_is_high_priority(
    make_tracker, dispatcher, domain, store, clock
):
    """Masked distress hides just under the bar: staff see that ticket before the ordinary ones."""
    await ActionSubmitTicket(store=store, clock=clock).run(
        dispatcher, confirmed(make_tracker, ticket_concern="check-in:0.31"), domain
    )
    [ticket] = store.tickets_for_conversation("12345:web:u1")
    assert ticket.priority == "high" and ticket.triage_signals["check_in"] == "check-in:0.31"
    assert responses(dispatcher) == ["utter_ticket_created", None]  # the person is told nothing different

    # without the signal the same ticket is ordinary; an urgent category stays urgent with it
    await ActionSubmitTicket(store=store, clock=clock).run(
        CollectingDispatcher(), confirmed(make_tracker, sender_id="12345:web:u2"), domain
    )
    assert store.tickets_for_conversation("12345:web:u2")[0].priority == "normal"
    youth = youth_rights_confirmed(make_tracker, ticket_concern="check-in:0.4")
    await ActionSubmitTicket(store=store, clock=clock).run(CollectingDispatcher(), youth, domain)
    assert store.tickets_for_conversation(YOUTH)[0].priority == "urgent"


async def test_a_retried_submit_makes_one_ticket(make_tracker, domain, store, clock):
    tracker = confirmed(make_tracker)
    numbers = set()
    for _ in range(3):
        dispatcher = CollectingDispatcher()
        await ActionSubmitTicket(store=store, clock=clock).run(dispatcher, tracker, domain)
        numbers.add(dispatcher.messages[0]["ticket_no"])
    assert len(numbers) == 1
    assert len(store.tickets_for_conversation("12345:web:u1")) == 1


async def test_an_urgent_youth_ticket_with_consented_contact(make_tracker, dispatcher, domain, store, clock):
    tracker = youth_rights_confirmed(make_tracker, contact_consent=True, contact_value="13812345678")

    await ActionSubmitTicket(store=store, clock=clock).run(dispatcher, tracker, domain)

    [ticket] = store.tickets_for_conversation(YOUTH)
    assert ticket.priority == "urgent"
    [contact] = store.contacts(ticket.id)
    assert (contact.kind, contact.masked_value) == ("phone", "138****5678")
    assert responses(dispatcher) == ["utter_ticket_created", "utter_ticket_urgent_note", None, None]
    assert customs(dispatcher) == [{"urgent_ticket": ticket.number}, {"ticket_filed": ticket.number}]


async def test_no_contact_is_stored_without_consent(make_tracker, dispatcher, domain, store, clock):
    tracker = confirmed(make_tracker, contact_consent=False, contact_value="13812345678")

    await ActionSubmitTicket(store=store, clock=clock).run(dispatcher, tracker, domain)

    [ticket] = store.tickets_for_conversation("12345:web:u1")
    assert store.contacts(ticket.id) == []


async def test_out_of_hours_the_ticket_says_when_staff_are_back(make_tracker, dispatcher, domain, store, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_STAFF_HOURS", raising=False)
    tracker = confirmed(make_tracker, sender_id=YOUTH, desk="12355", category="counselling", callback_time="明天放学后")

    await ActionSubmitTicket(store=store, clock=lambda: NIGHT).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_ticket_created_off_hours", None]
    assert dispatcher.messages[0]["staff_hours"] == "09:00-18:00"
    [ticket] = store.tickets_for_conversation(YOUTH)
    assert ticket.triage_signals["callback_time"] == "明天放学后"


async def test_an_aborted_form_opens_no_ticket(make_tracker, dispatcher, domain, store):
    tracker = confirmed(make_tracker, ticket_abort="crisis", ticket_confirmed=None)

    events = await ActionSubmitTicket(store=store).run(dispatcher, tracker, domain)

    assert dispatcher.messages == [] and store.tickets_for_conversation("12345:web:u1") == []
    assert slot_values(events)["ticket_abort"] is None


async def test_a_store_failure_apologises_and_keeps_the_details(make_tracker, dispatcher, domain):
    class Broken:
        def create_ticket(self, **kwargs):
            raise ConnectionError("db down")

    events = await ActionSubmitTicket(store=Broken()).run(dispatcher, confirmed(make_tracker), domain)

    assert responses(dispatcher) == ["utter_ticket_error"]
    assert slot_values(events) == {"ticket_confirmed": None}
    assert "转人工" in domain["responses"]["utter_ticket_error"][0]["text"]


async def test_cancel_stops_the_form_politely_and_empties_it(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        "算了",
        intent="cancel",
        active_loop="ticket_form",
        slots={"route": "ticket", "problem_what": "路灯坏了", "requested_slot": "problem_where"},
    )

    events = await ActionCancelTicketForm().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_ticket_cancelled"]
    assert events[0]["event"] == "active_loop" and events[0]["name"] is None
    assert slot_values(events) == {"problem_what": None, "requested_slot": None, "route": None}
