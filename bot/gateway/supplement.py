"""More about a matter just filed goes onto its ticket, not into a second form.

People keep talking after the ticket number ("他们还推过我一次…", "I don't want a big fuss, my family
is in Hong Kong"). Read alone, such a message triages as the same category again (a second form for
the same matter, a duplicate ticket for staff) or as something vague (a referral nobody asked for).
Within `RECENT` of filing, a message that stays with the ticket's category, or that no category
claims with confidence, and is not a question, is added to the ticket as the person's message
(staff see it in the transcript; a ticket waiting for the person goes back in progress) and the
person is told so, with a way out: "这是另一件事" files it on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from bot.gateway.models import as_utc
from bot.intake.cancel import cancel_kind, is_question
from bot.language import is_english
from bot.text import length_units
from bot.tickets.models import Ticket
from bot.tickets.repository import TicketStore
from bot.tickets.rules import OPEN_STATUSES
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route
from bot.voice import is_youth, you

RECENT = timedelta(minutes=30)
"""How long after filing more words are read as more about that matter."""
UNSURE = 0.30
"""Below this confidence a category other than the ticket's does not claim the message."""
MIN_UNITS = 6
"""Shorter messages ("好的", "谢谢你") are not details."""
SOURCE = "supplement"
STAGE = "supplement"
"""`pending_matters` stage: the words just added, in case the person says it is another matter."""
_ANOTHER = re.compile(
    r"另一件事|另外一件|另外一个事|不是(同)?一(件|个)事|单独登记|單獨登記|重新登记|新的事"
    r"|another matter|different matter|something else|separate(ly)?|new (matter|report|case)",
    re.IGNORECASE,
)
_CLAIMING = (Route.TICKET, Route.REFER, Route.CLARIFY)
_NEW_MATTER = re.compile(
    r"^\W*(?:然后|然後|另外|另一|再有|顺便|順便|此外|also|another|one more|besides|and another)",
    re.IGNORECASE,
)
"""A message that opens with these words raises a new matter ("然后垃圾站那个…"), not more about the last.
"还有" / "仲有" is not among them: it opens more about the same matter as often ("仲有啊，四樓陳伯…記低埋")."""


@dataclass(frozen=True)
class FiledTicket:
    """The conversation's open ticket filed within `RECENT`."""

    id: int
    number: str
    category: str | None


def recent_ticket(engine: Engine, conversation_id: str, now: datetime) -> FiledTicket | None:
    """The latest open ticket (route ticket) this conversation filed within `RECENT`, if any."""
    with sessionmaker(engine)() as session:
        row = session.execute(
            select(Ticket.id, Ticket.number, Ticket.category, Ticket.created_at)
            .where(
                Ticket.conversation_id == conversation_id,
                Ticket.route == Route.TICKET.value,
                Ticket.status.in_(OPEN_STATUSES),
            )
            .order_by(Ticket.id.desc())
            .limit(1)
        ).first()
    if row is None or now - as_utc(row.created_at) > RECENT:
        return None
    return FiledTicket(row.id, row.number, row.category)


def may_add(text: str, decision: Decision | None) -> bool:
    """Whether `text` could be more about a filed matter at all, read from the words and the decision
    alone (checked before the ticket is looked up: most messages stop here)."""
    if decision is None or decision.route not in _CLAIMING:
        return False  # a question answered by an FAQ, a decline, small talk, a goodbye, a crisis
    if length_units(text) < MIN_UNITS or is_question(text) or cancel_kind(text) is not None:
        return False
    return not _NEW_MATTER.match(text)


def adds_to(ticket: FiledTicket, text: str, decision: Decision | None) -> bool:
    """Whether `text` is more about `ticket`'s matter: the same category, or none that claims it."""
    if decision is None or not may_add(text, decision):
        return False
    if decision.route is Route.TICKET and decision.category == ticket.category:
        return True
    return decision.confidence < UNSURE


def says_another_matter(text: str) -> bool:
    return bool(_ANOTHER.search(text))


def add(engine: Engine, ticket: FiledTicket, text: str) -> None:
    """The person's words on the ticket (TicketStore.add_message: a waiting ticket goes back in progress)."""
    TicketStore(engine).add_message(ticket.id, "person", text)


def added(desk: str, number: str, language: str) -> tuple[str, list[dict[str, str]]]:
    """What the person is told, with a button for "it is another matter"."""
    if is_english(language):
        who = "the counsellor" if is_youth(desk) else "staff"
        text = (
            f"Thank you, I've added this to your ticket {number}; {who} will read it together with the rest. "
            'If it is a different matter, tap "Another matter" and I\'ll register it on its own.'
        )
        return text, [{"title": "Another matter", "payload": "It's another matter"}]
    who = "老师" if is_youth(desk) else "工作人员"
    text = (
        f"收到，已经把这些补充到{you(desk)}的工单 {number}，{who}处理时会一起看到。"
        "如果这是另一件事，点「另一件事」，我单独帮" + you(desk) + "登记。"
    )
    return text, [{"title": "另一件事", "payload": "这是另一件事"}]
