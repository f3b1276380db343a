"""The person's answers to a return visit: solved or not, and a 1-5 service score.

Buttons carry the ticket id in the payload (`/affirm{"follow_up_ticket":"17"}`; payloads stay
under Telegram's 64 bytes), so the answer needs no conversation state. Every answer is checked
against the asking conversation: someone else's ticket id is treated as unknown.

Order matters to the store: a rating is kept only for a ticket staff resolved, so the score is
asked after "已解决"; "未解决" reopens the ticket at once (the person's problem comes first) and the
rating waits for the next return visit, after staff have handled it again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.tickets.models import Ticket
    from bot.tickets.repository import TicketStore

log = logging.getLogger(__name__)

SCORE_TITLES = {5: "5分 非常满意", 4: "4分 满意", 3: "3分 一般", 2: "2分 不满意", 1: "1分 很不满意"}
SCORE_TITLES_EN = {5: "5 Very satisfied", 4: "4 Satisfied", 3: "3 OK", 2: "2 Dissatisfied", 1: "1 Very dissatisfied"}
PERSON_ROUTES = ("ticket", "crisis")


def solved_buttons(ticket_id: int, crisis: bool = False, language: str = "zh-Hans") -> list[dict[str, str]]:
    ref = f'{{"follow_up_ticket":"{ticket_id}"}}'
    if language == "en":
        yes, no = ("Much better", "Still not great") if crisis else ("Solved", "Not solved")
    else:
        yes, no = ("好多了", "还是不太好") if crisis else ("已解决", "未解决")
    return [{"title": yes, "payload": f"/affirm{ref}"}, {"title": no, "payload": f"/deny{ref}"}]


def rating_buttons(ticket_id: int, language: str = "zh-Hans") -> list[dict[str, str]]:
    titles = SCORE_TITLES_EN if language == "en" else SCORE_TITLES
    return [
        {"title": title, "payload": f'/rate_service{{"follow_up_ticket":"{ticket_id}","service_score":{score}}}'}
        for score, title in titles.items()
    ]


_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "十": 10}
_WORDS: tuple[tuple[str, int], ...] = (
    ("非常不满意", 1),
    ("很不满意", 1),
    ("非常不滿意", 1),
    ("很不滿意", 1),
    ("差评", 1),
    ("差評", 1),
    ("不太满意", 2),
    ("不满意", 2),
    ("不太滿意", 2),
    ("不滿意", 2),
    ("not satisfied", 2),
    ("unsatisfied", 2),
    ("非常满意", 5),
    ("非常滿意", 5),
    ("满分", 5),
    ("滿分", 5),
    ("五星", 5),
    ("very satisfied", 5),
    ("基本满意", 3),
    ("基本滿意", 3),
    ("一般", 3),
    ("还行", 3),
    ("還行", 3),
    ("还可以", 3),
    ("還可以", 3),
    ("比较满意", 4),
    ("比較滿意", 4),
    ("满意", 4),
    ("滿意", 4),
    ("好评", 5),
    ("好評", 5),
    ("satisfied", 4),
)


def parse_score(text: str | None, entity: Any = None) -> int | None:
    """A 1-5 score from a button entity or typed words ("5分", "给四颗星", "⭐⭐⭐", "挺满意")."""
    if entity is not None and str(entity).strip():
        try:
            score = round(float(str(entity).strip()))
        except ValueError:
            score = 0
        if score > 0:
            return min(5, score)
    text = (text or "").strip().lower()
    if not text:
        return None
    stars = text.count("⭐") + text.count("★")
    if stars:
        return min(5, stars)
    if match := re.search(r"(\d{1,2})\s*(?:分|星|颗|顆|/5|out of 5)?", text):
        number = int(match.group(1))
        if number == 10 and re.search(r"10\s*分", text):
            return 5
        if 1 <= number <= 5:
            return number
    if match := re.search(r"([一二两三四五十])\s*(?:分|星|颗|顆)", text):
        number = _CN_DIGITS[match.group(1)]
        return 5 if number == 10 else number
    for word, score in _WORDS:
        if word in text:
            return score
    return None


@dataclass(frozen=True)
class Answer:
    """What happened to an answer; `kind` picks the reply the person gets."""

    kind: str
    ticket: Ticket | None = None

    # kinds: solved | not_solved | rated | already_rated | not_rateable | need_solved | unknown


def _own_ticket(store: TicketStore, conversation_id: str, ref: Any) -> Ticket | None:
    try:
        ticket_id = int(str(ref).strip())
    except (TypeError, ValueError):
        return None
    try:
        ticket = store.get(ticket_id)
    except LookupError:
        return None
    if ticket.conversation_id != conversation_id or ticket.route not in PERSON_ROUTES:
        return None
    return ticket


def answer_solved(store: TicketStore, conversation_id: str, ref: Any, solved: bool) -> Answer:
    """Record 已解决 (closes the ticket) or 未解决 (reopens it for its handler)."""
    ticket = _own_ticket(store, conversation_id, ref)
    if ticket is None:
        return Answer("unknown")
    outcome = "solved" if solved else "not_solved"
    visits = store.follow_ups(ticket.id)
    pending = [f for f in visits if f.status == "pending"]
    if pending:
        store.record_follow_up_outcome(pending[-1].id, outcome, actor="person")
        return Answer(outcome, store.get(ticket.id))
    if visits and visits[-1].outcome == outcome:  # the same answer again, or a retried action
        return Answer(outcome, ticket)
    if not solved and ticket.status in ("resolved", "closed") and ticket.resolved_at is not None:
        store.change_status(ticket.id, "in_progress", actor="person", reason="回访后群众表示问题未解决")
        return Answer("not_solved", store.get(ticket.id))
    return Answer(outcome, ticket)


def _latest_outcome(store: TicketStore, ticket_id: int) -> str | None:
    for visit in reversed(store.follow_ups(ticket_id)):
        if visit.outcome in ("solved", "not_solved"):
            return str(visit.outcome)
    return None


def _rateable(store: TicketStore, conversation_id: str) -> Ticket | None:
    """The newest handled ticket of the conversation that still waits for its rating."""
    for ticket in store.tickets_for_conversation(conversation_id, limit=20):
        handled = ticket.route in PERSON_ROUTES and ticket.status in ("resolved", "closed") and ticket.resolved_at
        if handled and store.rating(ticket.id) is None:
            return ticket
    return None


def answer_rating(store: TicketStore, conversation_id: str, ref: Any, score: int, comment: str | None = None) -> Answer:
    """Record the 1-5 score of a handled ticket (once per ticket; the store refuses the rest)."""
    from bot.tickets.errors import RatingError

    ticket = _own_ticket(store, conversation_id, ref) if ref is not None else _rateable(store, conversation_id)
    if ticket is None:
        return Answer("unknown")
    if store.rating(ticket.id) is not None:
        return Answer("already_rated", ticket)
    outcome = _latest_outcome(store, ticket.id)
    if outcome is None:
        return Answer("need_solved", ticket)
    try:
        store.record_rating(
            ticket.id, solved=outcome == "solved", service_score=score, comment=comment, conversation_id=conversation_id
        )
    except RatingError as exc:
        if store.rating(ticket.id) is not None:
            return Answer("already_rated", ticket)
        log.info("rating of ticket %s not stored: %s", ticket.number, exc)
        store.add_note(ticket.id, actor="bot", text=f"群众在回访中打分 {score}/5，工单尚未重新办结，评分未计入满意度。")
        return Answer("not_rateable", ticket)
    return Answer("rated", ticket)
