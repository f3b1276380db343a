"""action_triage_request: what each route of the engine's decision makes the bot say, record and start.

The decision is a real `bot.triage.decision.Decision`, carried in the message metadata as the
gateway sends it, and the ticket store is a real SQLite one; the stack tests in tests/e2e run the
real engine in the gateway and the real action server.
"""

from __future__ import annotations

from action_test_support import buttons, customs, responses, slot_values
from rasa_sdk.executor import CollectingDispatcher

from actions.triage import ActionTriageRequest
from tests.decisions import decided


async def test_ticket_route_prefills_the_form_and_sets_route_ticket(make_tracker, dispatcher, domain, store):
    decision = decided(route="ticket", category="housing_property", category_l1="城乡建设", category_name="住房与物业")
    tracker = make_tracker(
        "小区物业不打扫卫生，垃圾堆了一周了", earlier_texts=("你好",), message_id="m-42", decision=decision
    )

    events = await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_ticket_intro"]
    assert dispatcher.messages[0]["category_name"] == "住房与物业"
    slots = slot_values(events)
    assert slots["route"] == "ticket"
    assert slots["category"] == "housing_property"
    assert slots["category_l1"] == "城乡建设"
    assert slots["problem_what"] == "小区物业不打扫卫生，垃圾堆了一周了"
    assert slots["problem_since"] == "一周了"  # read from the message: the form will not ask it
    assert slots["ticket_origin"] == "m-42"
    assert slots["ticket_concern"] is None  # nothing close to the crisis bar
    assert store.tickets_for_conversation("12345:test:1") == []  # the ticket comes after the form


async def test_a_request_close_to_the_crisis_bar_marks_the_form_for_a_high_priority_ticket(
    make_tracker, dispatcher, domain, store
):
    decision = decided(
        route="ticket",
        desk="12355",
        category="counselling",
        signals=("top:ticket:counselling:0.41", "second:ticket:rights_protection:0.12", "check-in:0.31"),
    )
    tracker = make_tracker("最近什么都不想做，成绩也掉了，爸妈只会骂我", sender_id="12355:web:y1", decision=decision)

    events = await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)

    assert slot_values(events)["ticket_concern"] == "check-in:0.31"


async def test_ticket_route_clears_a_previous_form(make_tracker, dispatcher, domain, store):
    decision = decided(route="ticket", category="noise", category_l1="城乡建设")
    tracker = make_tracker("楼上太吵", slots={"problem_where": "旧地址", "contact_consent": True}, decision=decision)

    events = await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)

    slots = slot_values(events)
    assert slots["problem_where"] is None and slots["contact_consent"] is None
    assert dispatcher.messages[0]["category_name"] == "城乡建设"


async def test_ticket_route_without_a_readable_category_name_does_not_show_an_id(
    make_tracker, dispatcher, domain, store
):
    decision = decided(route="ticket", category="psych_counselling")
    tracker = make_tracker("最近压力好大", sender_id="12355:web:7", slots={"desk": "12355"}, decision=decision)

    await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_ticket_intro_plain"]


async def test_faq_answers_asks_whether_it_helped_and_is_recorded(make_tracker, dispatcher, domain, store):
    decision = decided(
        route="faq", faq_id="service_hours", entry_id="service_hours", reply="12345热线7×24小时有人接听。"
    )

    events = await ActionTriageRequest(store=store).run(
        dispatcher, make_tracker("12345晚上有人接吗", decision=decision), domain
    )

    assert dispatcher.messages[0]["text"] == "12345热线7×24小时有人接听。"
    assert responses(dispatcher) == [None, "utter_faq_helpful"]
    payloads = {b["payload"] for b in domain["responses"]["utter_faq_helpful"][0]["buttons"]}
    assert payloads == {"/affirm", "/describe_problem"}
    assert slot_values(events)["route"] == "faq"
    [record] = store.tickets_for_conversation("12345:test:1")
    assert (record.route, record.status) == ("faq", "closed")
    assert record.triage_signals["faq_id"] == "service_hours"


async def test_refer_and_decline_reply_offer_buttons_and_are_recorded_with_reason(make_tracker, domain, store):
    cases = (
        ("refer", "12368", "litigation", "utter_refer_helpful", "referred"),
        ("decline", None, "wishing_well", "utter_decline_next", "declined"),
    )
    for i, (route, channel, entry, follow, status) in enumerate(cases):
        dispatcher_ = CollectingDispatcher()
        decision = decided(route=route, channel=channel, entry_id=entry, reply=f"reply for {route}")
        sender = f"12345:rest:r{i}"

        events = await ActionTriageRequest(store=store).run(
            dispatcher_, make_tracker("something", sender_id=sender, decision=decision), domain
        )

        assert next(m.get("text") for m in dispatcher_.messages) == f"reply for {route}"
        assert responses(dispatcher_) == [None, follow]
        assert slot_values(events)["route"] == route
        assert slot_values(events)["channel"] == channel
        [record] = store.tickets_for_conversation(sender)
        assert (record.route, record.status, record.channel) == (route, status, "rest")
        assert record.triage_signals["entry_id"] == entry
        if route == "decline":
            assert record.triage_signals["reason_code"] == "wishing_well"
        assert store.transcript(record.id) == []  # nobody follows it up: the person's words are not kept


async def test_an_answered_request_keeps_only_masked_text_for_analytics(make_tracker, dispatcher, domain, store):
    decision = decided(route="decline", entry_id="wishing_well", reply="这个没办法帮您办理。")
    text = "帮我儿子找个对象，我叫王小明，电话13912345678"
    await ActionTriageRequest(store=store).run(dispatcher, make_tracker(text, decision=decision), domain)

    [record] = store.tickets_for_conversation("12345:test:1")
    assert (record.route, record.status, record.triage_signals["reason_code"]) == (
        "decline",
        "declined",
        "wishing_well",
    )
    assert "13912345678" not in record.summary_redacted and "139****5678" in record.summary_redacted
    assert store.transcript(record.id, masked=False) == []


async def test_a_retried_action_records_the_answer_once(make_tracker, domain, store):
    decision = decided(route="decline", entry_id="wishing_well", reply="这个没办法帮您办理。")
    tracker = make_tracker("帮我儿子找个对象", message_id="m-7", decision=decision)

    for _ in range(2):
        await ActionTriageRequest(store=store).run(CollectingDispatcher(), tracker, domain)

    assert len(store.tickets_for_conversation("12345:test:1")) == 1


async def test_clarify_without_a_reply_still_asks_one_question_and_records_nothing(
    make_tracker, dispatcher, domain, store
):
    decision = decided(route="clarify")

    await ActionTriageRequest(store=store).run(dispatcher, make_tracker("有个问题", decision=decision), domain)

    assert responses(dispatcher) == ["utter_ask_rephrase"]
    assert store.tickets_for_conversation("12345:test:1") == []


async def test_smalltalk_invites_the_request(make_tracker, dispatcher, domain, store):
    decision = decided(route="smalltalk")

    await ActionTriageRequest(store=store).run(dispatcher, make_tracker("哈哈", decision=decision), domain)

    assert responses(dispatcher) == ["utter_invite_request"]


async def test_crisis_route_answers_opens_an_urgent_ticket_and_hands_over(make_tracker, dispatcher, domain, store):
    decision = decided(route="crisis", channel="12356", signals=("lexicon:撑不下去",))
    tracker = make_tracker(
        "感觉自己撑不下去了", active_loop="ticket_form", slots={"problem_what": "宿舍热水器坏了"}, decision=decision
    )

    events = await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher)[0] == "utter_crisis"
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    [ticket] = store.tickets_for_conversation("12345:test:1")
    assert (ticket.route, ticket.priority, ticket.status) == ("crisis", "urgent", "new")
    assert customs(dispatcher) == [{"handoff": True, "reason": "crisis", "urgent_ticket": ticket.number}]
    slots = slot_values(events)
    assert slots["in_crisis"] is True and slots["handoff"] is True and slots["last_ticket"] == ticket.number
    assert slots["problem_what"] is None  # the form does not come back after a crisis


async def test_emergency_route_says_call_now_first_and_is_recorded(make_tracker, dispatcher, domain, store):
    decision = decided(route="emergency", channel="119")

    events = await ActionTriageRequest(store=store).run(
        dispatcher, make_tracker("楼道里冒黑烟", decision=decision), domain
    )

    assert responses(dispatcher) == ["utter_emergency_call", "utter_emergency_after"]
    assert dispatcher.messages[0]["channel"] == "119"
    assert slot_values(events)["route"] == "emergency"
    [record] = store.tickets_for_conversation("12345:test:1")
    assert (record.route, record.status) == ("emergency", "referred")
    assert record.triage_signals["channel"] == "119"


async def test_no_gateway_decision_apologises_and_offers_a_person(make_tracker, dispatcher, domain, store):
    """A message that did not come through the gateway (or whose triage failed) carries no decision."""

    events = await ActionTriageRequest(store=store).run(dispatcher, make_tracker("路灯坏了"), domain)

    assert slot_values(events) == {"route": None}
    assert responses(dispatcher) == ["utter_triage_error"]
    assert "转人工" in domain["responses"]["utter_triage_error"][0]["text"]


async def test_a_broken_ticket_store_never_reaches_the_person(make_tracker, dispatcher, domain):
    class Broken:
        def create_ticket(self, **kwargs):
            raise ConnectionError("db down")

    decision = decided(route="refer", channel="12368", reply="请拨打12368。")

    await ActionTriageRequest(store=Broken()).run(dispatcher, make_tracker("案子还在法院审", decision=decision), domain)

    assert responses(dispatcher) == [None, "utter_refer_helpful"]


async def test_button_payload_asks_for_details_whatever_the_decision(make_tracker, dispatcher, domain, store):
    decision = decided(route="ticket")

    events = await ActionTriageRequest(store=store).run(
        dispatcher, make_tracker("/describe_problem", decision=decision), domain
    )

    assert responses(dispatcher) == ["utter_ask_details"]
    assert slot_values(events) == {"route": None, "faq_id": None}


async def test_i_still_want_to_report_after_an_faq_starts_the_form_empty(make_tracker, dispatcher, domain, store):
    decision = decided(route="ticket")
    tracker = make_tracker(
        "/describe_problem", slots={"route": "faq", "faq_id": "medical_card"}, message_id="m-9", decision=decision
    )

    events = await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_ticket_intro_plain"]
    slots = slot_values(events)
    assert slots["route"] == "ticket" and slots["category"] is None and slots["ticket_origin"] == "m-9"
    assert "problem_what" not in slots or slots["problem_what"] is None  # the form asks what happened


async def test_a_clarify_decision_asks_its_one_question(make_tracker, dispatcher, domain, store):
    decision = decided(route="clarify", reply="在哪里呢？")
    tracker = make_tracker("就在我家楼下", intent="inform", earlier_texts=("/greet", "路灯坏了"), decision=decision)

    events = await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)

    assert [m.get("text") for m in dispatcher.messages] == ["在哪里呢？"]
    assert buttons(dispatcher) == []
    assert slot_values(events)["route"] == "clarify"


async def test_a_young_persons_message_prefills_the_people_it_names_and_the_place_is_asked(
    make_tracker, dispatcher, domain, store
):
    """Only for the fields the category asks (real 12355 catalogue) and only when unambiguous. The place
    is always asked: "学校" read from the message does not tell staff which school."""
    rights = decided(route="ticket", desk="12355", category="rights_protection")
    events = await ActionTriageRequest(store=store).run(
        dispatcher, make_tracker("宿舍里室友一直偷用我的东西", sender_id="12355:web:k1", decision=rights), domain
    )
    assert "problem_where" not in slot_values(events) and slot_values(events)["problem_who"] == "同学"
    text = "宿舍里室友一直偷用我的东西，还在群里造谣"  # 宿舍 and 群里: two kinds of place, the form asks
    events = await ActionTriageRequest(store=store).run(
        CollectingDispatcher(), make_tracker(text, sender_id="12355:web:k3", decision=rights), domain
    )
    assert "problem_where" not in slot_values(events) and slot_values(events)["problem_who"] == "同学"

    counselling = decided(route="ticket", desk="12355", category="counselling")
    events = await ActionTriageRequest(store=store).run(
        CollectingDispatcher(),
        make_tracker("我爸喝了酒就在家里砸东西", sender_id="12355:web:k2", decision=counselling),
        domain,
    )
    assert "problem_where" not in slot_values(events) and "problem_who" not in slot_values(events)

    adult = decided(route="ticket", category="housing_property")
    events = await ActionTriageRequest(store=store).run(
        CollectingDispatcher(), make_tracker("宿舍楼的水管漏水了", decision=adult), domain
    )
    assert "problem_where" not in slot_values(events)  # 12345 asks for the address itself


async def test_money_just_lost_to_a_scam_is_told_to_call_the_police_first(make_tracker, dispatcher, domain, store):
    decision = decided(route="ticket", desk="12355", category="legal", category_name="法律咨询")
    tracker = make_tracker("我被网友骗了两千块钱，他现在拉黑我了", sender_id="12355:web:s1", decision=decision)
    await ActionTriageRequest(store=store).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_ticket_intro", "utter_fraud_report_first"]

    question = CollectingDispatcher()
    tracker = make_tracker("怎么识别网络诈骗啊", sender_id="12355:web:s2", decision=decision)
    await ActionTriageRequest(store=store).run(question, tracker, domain)
    assert responses(question) == ["utter_ticket_intro"]
