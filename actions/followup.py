"""action_follow_up_answer: the person's answers to a return visit (回访), recorded in the store.

The questions are sent by bot.followups (outside Rasa); their buttons carry the ticket id:
`/affirm{"follow_up_ticket":"17"}` (已解决), `/deny{...}` (未解决),
`/rate_service{"follow_up_ticket":"17","service_score":5}`. A typed rating ("给五分") is matched
to the conversation's newest handled ticket that still waits for one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_intent, latest_text, ticket_store

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore
from actions.safety import respond_to_crisis

logger = logging.getLogger(__name__)


class ActionFollowUpAnswer(Action):
    """已解决 / 未解决 with a follow-up ticket, and every rate_service message."""

    def __init__(self, store: TicketStore | None = None) -> None:
        """`store` replaces the ticket store in tests."""
        self._store = store

    def name(self) -> str:
        return "action_follow_up_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("in_crisis") is True:
            return respond_to_crisis(dispatcher, tracker)
        reset = [SlotSet(name, None) for name in ("follow_up_ticket", "service_score") if tracker.get_slot(name)]
        ref = next(tracker.get_latest_entity_values("follow_up_ticket"), None)
        intent = latest_intent(tracker)
        try:
            store = await ticket_store(self._store)
            language = language_of(tracker)
            if intent in ("affirm", "deny") and ref is not None:
                await self._solved(dispatcher, store, tracker.sender_id, ref, intent == "affirm", language)
            else:
                await self._rating(dispatcher, store, tracker, ref, language)
        except Exception:
            logger.exception("could not record the follow-up answer")
            dispatcher.utter_message(response="utter_triage_error")
        return reset

    @staticmethod
    async def _solved(
        dispatcher: CollectingDispatcher,
        store: TicketStore,
        conversation_id: str,
        ref: Any,
        solved: bool,
        language: str = "zh-Hans",
    ) -> None:
        from bot.followups.answers import answer_solved, rating_buttons

        answer = await asyncio.to_thread(answer_solved, store, conversation_id, ref, solved)
        ticket = answer.ticket
        if answer.kind == "unknown" or ticket is None:
            dispatcher.utter_message(response="utter_follow_up_unknown")
            return
        crisis = ticket.route == "crisis"
        if answer.kind == "solved":
            if crisis:
                dispatcher.utter_message(response="utter_follow_up_better")
            elif await asyncio.to_thread(store.rating, ticket.id) is None:
                dispatcher.utter_message(response="utter_follow_up_solved", buttons=rating_buttons(ticket.id, language))
            else:
                dispatcher.utter_message(response="utter_rating_already")
        else:
            dispatcher.utter_message(response="utter_follow_up_not_better" if crisis else "utter_follow_up_not_solved")

    @staticmethod
    async def _rating(
        dispatcher: CollectingDispatcher, store: TicketStore, tracker: Tracker, ref: Any, language: str = "zh-Hans"
    ) -> None:
        from bot.followups.answers import answer_rating, parse_score, solved_buttons

        score = parse_score(latest_text(tracker), next(tracker.get_latest_entity_values("service_score"), None))
        if score is None:
            dispatcher.utter_message(response="utter_rating_thanks")
            return
        answer = await asyncio.to_thread(answer_rating, store, tracker.sender_id, ref, score)
        if answer.kind == "rated":
            dispatcher.utter_message(response="utter_rating_thanks_low" if score <= 2 else "utter_rating_thanks")
        elif answer.kind == "already_rated":
            dispatcher.utter_message(response="utter_rating_already")
        elif answer.kind == "not_rateable":
            dispatcher.utter_message(response="utter_rating_not_rateable")
        elif answer.kind == "need_solved" and answer.ticket is not None:
            dispatcher.utter_message(
                response="utter_follow_up_need_solved", buttons=solved_buttons(answer.ticket.id, language=language)
            )
        elif ref is not None:
            dispatcher.utter_message(response="utter_follow_up_unknown")
        else:  # a typed "五星好评" with no ticket waiting for a rating: a thank-you is all it needs
            dispatcher.utter_message(response="utter_rating_thanks")
