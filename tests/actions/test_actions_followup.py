"""action_follow_up_answer: the answers to a return visit, recorded in the real store."""

from __future__ import annotations

import pytest
from action_test_support import buttons, responses, slot_values
from rasa_sdk.executor import CollectingDispatcher

from actions.followup import ActionFollowUpAnswer

SENDER = "12345:web:p1"


@pytest.fixture
def visited(store, clock):
    """A resolved ticket whose return visit was sent (attempt recorded, answer awaited)."""
    ticket = store.create_ticket(
        desk="12345",
        route="ticket",
        conversation_id=SENDER,
        channel="web",
        idempotency_key="k1",
        summary="路灯坏了",
        sla_first_response_hours=72,
    )
    store.change_status(ticket.id, "resolved", actor="wang")
    clock.advance(hours=25)
    [visit] = store.due_follow_ups()
    store.record_follow_up_outcome(visit.id, "no_answer", actor="followup", retry_after_hours=48, max_attempts=99)
    return ticket


def entity(name, value):
    return {"entity": name, "value": value, "start": 0, "end": 1}


async def test_solved_button_closes_the_ticket_and_asks_for_a_score(make_tracker, dispatcher, domain, store, visited):
    tracker = make_tracker(
        f'/affirm{{"follow_up_ticket":"{visited.id}"}}',
        intent="affirm",
        sender_id=SENDER,
        entities=[entity("follow_up_ticket", str(visited.id))],
        slots={"follow_up_ticket": str(visited.id)},
    )

    events = await ActionFollowUpAnswer(store=store).run(dispatcher, tracker, domain)

    assert store.get(visited.id).status == "closed"
    assert responses(dispatcher) == ["utter_follow_up_solved"]
    assert [b["title"][0] for b in buttons(dispatcher)] == ["5", "4", "3", "2", "1"]
    assert slot_values(events) == {"follow_up_ticket": None}


async def test_rating_button_is_stored(make_tracker, domain, store, visited):
    ref = str(visited.id)
    await ActionFollowUpAnswer(store=store).run(
        CollectingDispatcher(),
        make_tracker("/affirm", intent="affirm", sender_id=SENDER, entities=[entity("follow_up_ticket", ref)]),
        domain,
    )
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        f'/rate_service{{"follow_up_ticket":"{ref}","service_score":2}}',
        intent="rate_service",
        sender_id=SENDER,
        entities=[entity("follow_up_ticket", ref), entity("service_score", 2)],
    )

    await ActionFollowUpAnswer(store=store).run(dispatcher, tracker, domain)

    rating = store.rating(visited.id)
    assert (rating.solved, rating.service_score) == (True, 2)
    assert responses(dispatcher) == ["utter_rating_thanks_low"]


async def test_not_solved_reopens_the_ticket(make_tracker, dispatcher, domain, store, visited):
    tracker = make_tracker(
        "/deny", intent="deny", sender_id=SENDER, entities=[entity("follow_up_ticket", str(visited.id))]
    )

    await ActionFollowUpAnswer(store=store).run(dispatcher, tracker, domain)

    assert store.get(visited.id).status == "in_progress"
    assert responses(dispatcher) == ["utter_follow_up_not_solved"]


async def test_another_conversation_cannot_answer_for_the_ticket(make_tracker, dispatcher, domain, store, visited):
    tracker = make_tracker(
        "/affirm",
        intent="affirm",
        sender_id="12345:web:intruder",
        entities=[entity("follow_up_ticket", str(visited.id))],
    )

    await ActionFollowUpAnswer(store=store).run(dispatcher, tracker, domain)

    assert store.get(visited.id).status == "resolved"
    assert responses(dispatcher) == ["utter_follow_up_unknown"]


async def test_a_typed_score_first_asks_whether_it_was_solved(make_tracker, dispatcher, domain, store, visited):
    tracker = make_tracker("挺满意的，给五分", intent="rate_service", sender_id=SENDER)

    await ActionFollowUpAnswer(store=store).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_follow_up_need_solved"]
    assert buttons(dispatcher)[0]["payload"] == f'/affirm{{"follow_up_ticket":"{visited.id}"}}'
    assert store.rating(visited.id) is None


async def test_a_typed_score_without_any_ticket_is_simply_thanked(make_tracker, dispatcher, domain, store):
    await ActionFollowUpAnswer(store=store).run(dispatcher, make_tracker("五星好评", intent="rate_service"), domain)
    assert responses(dispatcher) == ["utter_rating_thanks"]


async def test_in_crisis_the_answer_keeps_the_person_company(make_tracker, dispatcher, domain, store):
    tracker = make_tracker("5分", intent="rate_service", slots={"in_crisis": True, "handoff": True})
    await ActionFollowUpAnswer(store=store).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_crisis_stay"]


async def test_store_errors_apologise(make_tracker, dispatcher, domain):
    class Broken:
        def get(self, ticket_id):
            raise ConnectionError("db down")

    tracker = make_tracker("/affirm", intent="affirm", entities=[entity("follow_up_ticket", "1")])
    await ActionFollowUpAnswer(store=Broken()).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_triage_error"]
