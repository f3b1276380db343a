"""What NLU takes out of the form's hands (actions/form_turns.py): only a real cancel cancels, a cancel
after filing tells the truth, a question at the summary is answered, an English answer is taken."""

from __future__ import annotations

import pytest
from action_test_support import responses, slot_values
from rasa_sdk.executor import CollectingDispatcher

from actions.form_turns import ActionCancelRequest, ActionCancelTicketForm, ActionFormAside
from actions.ticket_form import ValidateTicketForm
from actions.ticket_submit import ActionSubmitTicket
from tests.decisions import decided


@pytest.fixture
def in_form(make_tracker):
    """A tracker where the form asked `slot` and the person wrote `text` (NLU's `intent`)."""

    def build(slot, text, intent="cancel", slots=None, **kwargs):
        current = {
            "route": "ticket",
            "requested_slot": slot,
            "problem_what": "小区电梯经常坏",
            "category": "urban_management",
            **(slots or {}),
        }
        return make_tracker(text, intent, slots=current, active_loop="ticket_form", **kwargs)

    return build


def _loop_ended(events):
    return any(e.get("event") == "active_loop" and e.get("name") is None for e in events)


def _kept(events):
    """The cancel action keeps the loop explicitly (Rasa wants it to set the loop in every rule)."""
    return events[0] == {"event": "active_loop", "name": "ticket_form", "timestamp": None} and _follows_with_form(
        events
    )


def _follows_with_form(events):
    return events[-1] == {"event": "followup", "name": "ticket_form", "timestamp": None}


# -- a cancel that is not one ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot", "text"),
    [
        ("problem_where", "先说电梯吧"),
        ("problem_since", "no wait, it's Tuesday"),
        ("problem_where", "算了不说这个了，地址是幸福路3号"),
        ("problem_where", "不說這個了，地址是彌敦道88號"),
    ],
)
async def test_not_a_cancel_keeps_the_form_and_is_heard_as_the_answer(in_form, dispatcher, domain, slot, text):
    events = await ActionCancelTicketForm().run(dispatcher, in_form(slot, text), domain)

    assert not _loop_ended(events) and "utter_ticket_cancelled" not in responses(dispatcher)
    assert slot_values(events)[slot] == text
    assert _kept(events)  # the form asks its next question, and validates nothing twice


async def test_a_redirect_gets_the_same_question_once_more_once(in_form, dispatcher, domain):
    first = await ActionCancelTicketForm().run(dispatcher, in_form("problem_since", "算了，先说另一件事"), domain)

    assert responses(dispatcher) == ["utter_form_go_on"]
    assert slot_values(first) == {"ticket_reasked": "problem_since"} and _kept(first)

    again = CollectingDispatcher()
    tracker = in_form("problem_since", "不是这个意思", slots={"ticket_reasked": "problem_since"})
    second = await ActionCancelTicketForm().run(again, tracker, domain)

    assert again.messages == []  # not a third time: the question counts as not answered
    assert slot_values(second) == {"problem_since": "记不清", "ticket_reasked": None}
    assert _kept(second)


@pytest.mark.parametrize("text", ["算了，不办了", "取消", "不辦了", "算咗", "forget it", "/cancel"])
async def test_a_real_cancel_cancels(in_form, dispatcher, domain, text):
    events = await ActionCancelTicketForm().run(dispatcher, in_form("problem_where", text), domain)

    assert responses(dispatcher) == ["utter_ticket_cancelled"]
    assert _loop_ended(events)
    assert slot_values(events)["problem_what"] is None and slot_values(events)["route"] is None


async def test_a_bare_no_at_the_contact_question_is_a_no_to_it_not_to_the_ticket(in_form, dispatcher, domain):
    events = await ActionCancelTicketForm().run(dispatcher, in_form("contact_consent", "不用了"), domain)

    assert dispatcher.messages == [] and _kept(events)
    assert slot_values(events) == {"contact_consent": False}
    # the same words at a question the ticket needs give the ticket up
    events = await ActionCancelTicketForm().run(dispatcher, in_form("problem_where", "不用了"), domain)
    assert _loop_ended(events)


async def test_a_goodbye_that_is_an_address_is_heard(in_form, dispatcher, domain):
    """ "88" is also 拜拜 to NLU."""
    text = "Chaoyang district, Jianguo Road 88"
    events = await ActionCancelTicketForm().run(dispatcher, in_form("problem_where", text, intent="goodbye"), domain)
    assert slot_values(events)["problem_where"] == text and _kept(events)

    bye = await ActionCancelTicketForm().run(
        dispatcher, in_form("problem_where", "先这样吧，拜拜", intent="goodbye"), domain
    )
    assert _loop_ended(bye)


@pytest.mark.parametrize(
    ("slot", "text", "slots"),
    [
        ("contact_consent", "多謝晒，拜拜", {"contact_consent": False}),
        ("contact_value", "thanks, bye", {"contact_value": None, "contact_consent": False}),
        ("ticket_confirmed", "好的谢谢 拜拜", {"ticket_confirmed": True}),
    ],
)
async def test_a_goodbye_at_the_last_steps_files_the_report(in_form, dispatcher, domain, slot, text, slots):
    """The person told what happened and leaves content: no contact, the summary as shown."""
    events = await ActionCancelTicketForm().run(dispatcher, in_form(slot, text, intent="goodbye"), domain)
    assert _kept(events) and slot_values(events) == slots and dispatcher.messages == []


async def test_a_goodbye_with_a_cancels_words_still_cancels_at_the_summary(in_form, dispatcher, domain):
    events = await ActionCancelTicketForm().run(
        dispatcher, in_form("ticket_confirmed", "算了不办了，拜拜", intent="goodbye"), domain
    )
    assert _loop_ended(events)


# -- a cancel after the ticket was filed ---------------------------------------------------------------


async def test_cancel_after_filing_tells_the_truth_and_notes_the_wish(make_tracker, dispatcher, domain, store, clock):
    sender = "12345:web:u9"
    filed = make_tracker(
        "/affirm",
        intent="affirm",
        sender_id=sender,
        slots={
            "route": "ticket",
            "category": "utilities",
            "problem_what": "停水两天了",
            "problem_where": "向阳小区7栋",
            "problem_since": "前天",
            "ticket_confirmed": True,
            "ticket_origin": "m-origin",
        },
    )
    created = slot_values(await ActionSubmitTicket(store=store, clock=clock).run(CollectingDispatcher(), filed, domain))
    number = created["last_ticket"]

    tracker = make_tracker("算了，不办了", intent="cancel", sender_id=sender, slots={"last_ticket": number})
    await ActionCancelRequest(store=store, clock=clock).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_cancel_after_ticket_noted"]
    assert dispatcher.messages[0]["ticket_no"] == number
    [ticket] = store.tickets_for_conversation(sender)
    assert ticket.status == "new"  # still filed: the words say so
    assert "算了，不办了" in store.transcript(ticket.id)[-1].text
    said = domain["responses"]["utter_cancel_after_ticket_noted"][1]["text"]
    assert "已经提交" in said and "转人工" in said and "取消了" not in said


async def test_cancel_with_no_ticket_filed_is_plainly_cancelled(make_tracker, dispatcher, domain, store, clock):
    tracker = make_tracker("算了", intent="cancel", slots={"last_ticket": "20990101-0001"})
    await ActionCancelRequest(store=store, clock=clock).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_cancelled"]


# -- a question at the summary -------------------------------------------------------------------------


async def test_a_question_at_the_summary_is_answered_not_added_to_the_description(in_form, dispatcher, domain, store):
    text = "btw will the bar see my name??"
    tracker = in_form("ticket_confirmed", text, intent="inform")

    result = await ValidateTicketForm(store=store).validate_ticket_confirmed(text, dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_form_question_noted"]
    assert "utter_correction_added" not in responses(dispatcher)
    assert result == {"ticket_confirmed": None, "problem_what": f"小区电梯经常坏\n群众提问：{text}"}


async def test_a_question_the_engine_can_answer_gets_its_answer_and_the_summary_once_more(
    in_form, dispatcher, domain, store
):
    text = "登记以后多久有人联系我？"
    decision = decided(route="faq", faq_id="response_time", reply="一般在1个工作日内联系您。")
    tracker = in_form("ticket_confirmed", text, intent="chitchat", decision=decision)

    events = await ActionFormAside(store=store).run(dispatcher, tracker, domain)

    assert [m.get("text") for m in dispatcher.messages] == ["一般在1个工作日内联系您。"]
    assert slot_values(events) == {"ticket_confirmed": None}  # the form shows the summary again, once
    assert _follows_with_form(events)


# -- answers NLU took for small talk ---------------------------------------------------------------------


@pytest.mark.parametrize("intent", ["greet", "thanks", "chitchat"])
async def test_an_english_address_is_taken(in_form, dispatcher, domain, intent):
    text = "Chaoyang district, Jianguo Road 88"
    events = await ActionFormAside().run(dispatcher, in_form("problem_where", text, intent=intent), domain)

    assert dispatcher.messages == []
    assert slot_values(events) == {"problem_where": text} and _follows_with_form(events)


@pytest.mark.parametrize(
    ("intent", "text", "reply"), [("greet", "在吗", "utter_form_continue"), ("chitchat", "你几岁了", "utter_chitchat")]
)
async def test_a_real_pleasantry_gets_its_reply_and_the_question_again(
    in_form, dispatcher, domain, intent, text, reply
):
    events = await ActionFormAside().run(dispatcher, in_form("problem_where", text, intent=intent), domain)
    assert responses(dispatcher) == [reply] and events == []


async def test_a_redirect_nlu_calls_an_answer_is_asked_again_once_too(in_form, dispatcher, domain):
    validator = ValidateTicketForm()
    first = await validator.validate_problem_where(
        "不是这个意思", dispatcher, in_form("problem_where", "不是这个意思", intent="inform"), domain
    )
    assert first == {"problem_where": None, "ticket_reasked": "problem_where"}
    assert responses(dispatcher) == ["utter_form_go_on"]
    tracker = in_form("problem_where", "等一下", intent="inform", slots={"ticket_reasked": "problem_where"})
    assert await validator.validate_problem_where("等一下", dispatcher, tracker, domain) == {"problem_where": "未说明"}


# -- a question instead of the answer (contact, consent, age) ------------------------------------------


async def test_a_question_at_the_contact_question_gets_its_answer_and_the_contact_question_once_more(
    in_form, dispatcher, domain, store
):
    text = "对了你们晚上有人吗 我白天上班 电话经常接不了"
    decision = decided(route="faq", faq_id="service_hours", reply="12345热线24小时有人接听。")
    tracker = in_form("contact_consent", text, intent="inform", decision=decision)

    result = await ValidateTicketForm(store=store).validate_contact_consent(text, dispatcher, tracker, domain)

    assert [m.get("text") for m in dispatcher.messages if m.get("text")] == ["12345热线24小时有人接听。"]
    assert [r for r in responses(dispatcher) if r] == ["utter_form_continue"]
    assert result == {"contact_consent": None, "ticket_reasked": "contact_consent"}


async def test_a_question_nobody_can_answer_here_goes_on_the_ticket_and_the_person_is_told(
    in_form, dispatcher, domain, store
):
    text = "btw will the bar see my name??"
    tracker = in_form("sensitive_consent", text, intent="inform", decision=decided(route="clarify"))

    result = await ValidateTicketForm(store=store).validate_sensitive_consent(text, dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_form_question_noted", "utter_form_continue"]
    assert result == {
        "sensitive_consent": None,
        "ticket_reasked": "sensitive_consent",
        "problem_what": f"小区电梯经常坏\n群众提问：{text}",
    }


async def test_a_second_question_at_the_same_question_is_not_answered_twice(in_form, dispatcher, domain, store):
    text = "你们会不会告诉物业是我打的？"
    decision = decided(route="faq", faq_id="anonymity", reply="您的信息只有工作人员能看到。")
    tracker = in_form(
        "contact_consent", text, intent="inform", decision=decision, slots={"ticket_reasked": "contact_consent"}
    )

    result = await ValidateTicketForm(store=store).validate_contact_consent(text, dispatcher, tracker, domain)

    assert dispatcher.messages == []
    assert result == {"contact_consent": None}


@pytest.mark.parametrize(
    "text",
    [
        "you can message me here, not call please",
        "想搵人傾下 但唔想你哋打電話返屋企",
        "好的 不过别打电话 在这里回我就行",
    ],
)
async def test_a_no_to_phone_calls_inside_a_longer_answer_is_a_no_to_contact(in_form, dispatcher, domain, store, text):
    tracker = in_form("contact_consent", text, intent="inform")
    result = await ValidateTicketForm(store=store).validate_contact_consent(text, dispatcher, tracker, domain)
    assert result == {"contact_consent": False}


async def test_a_question_at_the_place_question_is_noted_once_then_the_place_stays_unknown(
    in_form, dispatcher, domain, store
):
    """ "咁樣合法咩" at "where did it happen?": not a place. Noted for staff and the question asked once
    more; the same kind of question again leaves the place unknown (never the question as the place)."""
    text = "咁樣合法咩"
    validator = ValidateTicketForm(store=store)
    first = await validator.validate_problem_where(
        text, dispatcher, in_form("problem_where", text, intent="inform", decision=decided(route="clarify")), domain
    )
    assert first["problem_where"] is None and first["ticket_reasked"] == "problem_where"
    assert first["problem_what"].endswith(f"群众提问：{text}")
    again = in_form(
        "problem_where",
        text,
        intent="inform",
        decision=decided(route="clarify"),
        slots={"ticket_reasked": "problem_where"},
    )
    second = await validator.validate_problem_where(text, dispatcher, again, domain)
    assert second["problem_where"] == "未说明" and second["problem_what"].endswith(f"群众提问：{text}")


@pytest.mark.parametrize("place", ["前海 一間做跨境電商嘅公司", "the factory by the river", "学校宿舍"])
async def test_a_workplace_or_a_dorm_is_a_place(in_form, dispatcher, domain, store, place):
    tracker = in_form("problem_where", place, intent="inform", decision=decided(route="clarify"))
    result = await ValidateTicketForm(store=store).validate_problem_where(place, dispatcher, tracker, domain)
    assert result == {"problem_where": place}


async def test_a_question_at_the_age_question_is_answered_and_a_statement_is_no_age(in_form, dispatcher, domain, store):
    form = ValidateTicketForm(store=store)
    asked = "为什么要问我几岁？"
    decision = decided(route="faq", desk="12355", faq_id="why_age", reply="年龄帮助老师判断怎么帮你。")
    result = await form.validate_person_age(
        asked, dispatcher, in_form("person_age", asked, intent="inform", decision=decision), domain
    )
    assert result == {"person_age": None, "ticket_reasked": "person_age"}
    assert [m.get("text") for m in dispatcher.messages if m.get("text")] == ["年龄帮助老师判断怎么帮你。"]

    dispatcher.messages.clear()
    result = await form.validate_person_age(
        "不想说", dispatcher, in_form("person_age", "不想说", intent="inform"), domain
    )
    assert result["person_age"] != "不想说" and dispatcher.messages == []


# -- "I don't know" is an answer, whatever NLU makes of it -----------------------------------------------


@pytest.mark.parametrize(
    ("slot", "intent"), [("problem_since", "affirm"), ("problem_who", "crisis"), ("problem_where", "inform")]
)
@pytest.mark.parametrize("text", ["I don't know", "not sure", "唔知", "记不清了"])
async def test_i_dont_know_is_taken_as_the_answer(in_form, dispatcher, domain, store, slot, intent, text):
    tracker = in_form(slot, text, intent=intent)
    result = await ValidateTicketForm(store=store)._detail(slot, text, dispatcher, tracker)
    assert result == {slot: {"problem_where": "未说明", "problem_since": "记不清", "problem_who": "未说明"}[slot]}


async def test_a_bare_yes_to_an_open_question_is_asked_about_once_then_taken_as_no_answer(
    in_form, dispatcher, domain, store
):
    form = ValidateTicketForm(store=store)
    first = await form._detail("problem_since", "ok", dispatcher, in_form("problem_since", "ok", intent="affirm"))
    assert first == {"problem_since": None, "ticket_reasked": "problem_since"}
    again = in_form("problem_since", "yes", intent="affirm", slots={"ticket_reasked": "problem_since"})
    assert await form._detail("problem_since", "yes", dispatcher, again) == {"problem_since": "记不清"}


async def test_a_longer_answer_with_not_sure_in_it_is_kept_as_said(in_form, dispatcher, domain, store):
    text = "not sure, maybe since March when the new tenants moved in"
    result = await ValidateTicketForm(store=store)._detail(
        "problem_since", text, dispatcher, in_form("problem_since", text, intent="inform")
    )
    assert result == {"problem_since": text}


@pytest.mark.parametrize(
    ("slot", "text", "expected"),
    [
        ("contact_value", "139 8012 4476", "13980124476"),
        ("contact_value", "+86 186 0000 1234", "18600001234"),
    ],
)
async def test_a_phone_number_nlu_took_for_a_goodbye_is_the_answer_not_a_cancel(
    in_form, dispatcher, domain, slot, text, expected
):
    """After a retrain NLU read "139 8012 4476" as goodbye (0.66) and the form was cancelled."""
    tracker = in_form(slot, text, intent="goodbye", slots={"contact_consent": True})
    events = await ActionCancelTicketForm().run(dispatcher, tracker, domain)

    assert "utter_ticket_cancelled" not in responses(dispatcher) and not _loop_ended(events)
    assert slot_values(events)[slot] == expected


async def test_a_question_nlu_took_for_small_talk_gets_the_engines_answer_once(in_form, dispatcher, domain):
    text = "請問你哋係咪24小時都有人？我夜晚先得閒"
    decision = decided(route="faq", faq_id="service_hours", reply="12345熱線24小時有人接聽。")
    events = await ActionFormAside().run(
        dispatcher, in_form("contact_consent", text, intent="chitchat", decision=decision), domain
    )

    assert [m.get("text") for m in dispatcher.messages if m.get("text")] == ["12345熱線24小時有人接聽。"]
    assert [r for r in responses(dispatcher) if r] == ["utter_form_continue"]
    assert slot_values(events) == {"ticket_reasked": "contact_consent"}

    again = CollectingDispatcher()
    tracker = in_form(
        "contact_consent", text, intent="chitchat", decision=decision, slots={"ticket_reasked": "contact_consent"}
    )
    await ActionFormAside().run(again, tracker, domain)
    assert [m.get("text") for m in again.messages if m.get("text")] == []


@pytest.mark.parametrize("text", ["啱，冇錯", "对，提交吧", "冇問題，係咁"])
async def test_a_cantonese_or_doubled_yes_confirms_the_summary(in_form, dispatcher, domain, store, text):
    result = await ValidateTicketForm(store=store).validate_ticket_confirmed(
        text, dispatcher, in_form("ticket_confirmed", text, intent="inform"), domain
    )
    assert result == {"ticket_confirmed": True}


@pytest.mark.parametrize(
    "text",
    ["唔使打俾我，整返好就得，唔該晒", "唔好打俾我呀", "無需聯繫我", "don't call me, just fix it", "nah I'm good"],
)
async def test_a_no_to_contact_in_cantonese_traditional_or_english_is_heard(in_form, dispatcher, domain, store, text):
    tracker = in_form("contact_consent", text, intent="inform")
    result = await ValidateTicketForm(store=store).validate_contact_consent(text, dispatcher, tracker, domain)
    assert result == {"contact_consent": False}


async def test_an_apology_in_cantonese_is_not_a_no_to_recording(in_form, dispatcher, domain, store):
    tracker = in_form("sensitive_consent", "唔好意思，可以記低", intent="inform")
    result = await ValidateTicketForm(store=store).validate_sensitive_consent(
        "唔好意思，可以記低", dispatcher, tracker, domain
    )
    assert result != {"sensitive_consent": False}


async def test_a_cantonese_yes_nlu_heard_as_a_no_confirms_the_summary(in_form, dispatcher, domain, store):
    tracker = in_form("ticket_confirmed", "啱，冇錯", intent="deny")
    result = await ValidateTicketForm(store=store).validate_ticket_confirmed(False, dispatcher, tracker, domain)
    assert result == {"ticket_confirmed": True}
    no = in_form("ticket_confirmed", "不对", intent="deny")
    assert (await ValidateTicketForm(store=store).validate_ticket_confirmed(False, dispatcher, no, domain))[
        "ticket_editing"
    ] is True


async def test_a_remark_at_the_place_question_goes_into_the_description_and_the_question_comes_again(
    in_form, dispatcher, domain, store
):
    text = "开玩笑的啦 我妈不会真打的 她就嘴上说说 你们别紧张"
    tracker = in_form("problem_where", text, intent="chitchat")
    result = await ValidateTicketForm(store=store).validate_problem_where(text, dispatcher, tracker, domain)
    assert result == {
        "problem_where": None,
        "ticket_reasked": "problem_where",
        "problem_what": f"小区电梯经常坏\n补充：{text}",
    }
    assert responses(dispatcher) == ["utter_correction_added"]
    # a place without a sign of one, said the second time, or a short one, is taken as it is
    again = in_form("problem_where", text, intent="chitchat", slots={"ticket_reasked": "problem_where"})
    assert (await ValidateTicketForm(store=store).validate_problem_where(text, dispatcher, again, domain)) == {
        "problem_where": text
    }
    short = in_form("problem_where", "番禺那边", intent="inform")
    assert (await ValidateTicketForm(store=store).validate_problem_where("番禺那边", dispatcher, short, domain)) == {
        "problem_where": "番禺那边"
    }


def test_more_details_at_which_item_to_edit_join_the_description_and_the_summary_returns(in_form, dispatcher, domain):
    text = "仲有啊，四樓陳伯八十幾歲，自己擔唔到水上樓，你哋記低埋"
    tracker = in_form("ticket_edit", text, intent="inform", slots={"ticket_editing": True})
    result = ValidateTicketForm().validate_ticket_edit(text, dispatcher, tracker, domain)
    assert result == {
        "ticket_edit": None,
        "ticket_editing": False,
        "ticket_confirmed": None,
        "problem_what": f"小区电梯经常坏\n补充：{text}",
    }
    assert responses(dispatcher) == ["utter_correction_added"]
    assert ValidateTicketForm().validate_ticket_edit("嗯", dispatcher, tracker, domain) == {"ticket_edit": None}


SWITCH_TEXT = (
    "Actually, forget the taxi, I don't have his plate number anyway. What really needs fixing is the bus stop "
    "near my home: the sign says route 911 stops there but it hasn't for months."
)


async def test_setting_the_matter_aside_for_another_starts_the_form_over_on_the_new_one(
    in_form, dispatcher, domain, store
):
    decision = decided(route="ticket", category="transport", category_l1="交通运输", confidence=0.62)
    tracker = in_form(
        "contact_consent",
        SWITCH_TEXT,
        intent="describe_problem",
        decision=decision,
        slots={"problem_since": "yesterday around 9pm", "problem_where": "Hongqiao station"},
    )
    result = await ValidateTicketForm(store=store).validate_contact_consent(SWITCH_TEXT, dispatcher, tracker, domain)
    assert result["category"] == "transport" and result["problem_what"] == SWITCH_TEXT
    assert result["contact_consent"] is None and result["problem_where"] is None  # the old matter's place is gone
    assert "requested_slot" not in result
    assert any(r and r.startswith("utter_ticket_intro") for r in responses(dispatcher))


@pytest.mark.parametrize(
    ("text", "confidence", "category"),
    [
        (SWITCH_TEXT, 0.2, "transport"),  # the engine is unsure what the new matter is
        (SWITCH_TEXT, 0.62, "urban_management"),  # the same category: more about the same matter
        ("Hongmei Road, the stop at the Yan'an Road corner", 0.62, "transport"),  # no words that switch
    ],
)
async def test_no_switch_without_switching_words_or_a_confident_other_category(
    in_form, dispatcher, domain, store, text, confidence, category
):
    decision = decided(route="ticket", category=category, confidence=confidence)
    tracker = in_form("problem_where", text, intent="inform", decision=decision)
    result = await ValidateTicketForm(store=store).validate_problem_where(text, dispatcher, tracker, domain)
    assert "category" not in result
