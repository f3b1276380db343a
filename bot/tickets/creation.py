"""Recording a request as a ticket, its readable number, and the person's own lookups.

Creation is where "one escalation makes one ticket" is enforced (idempotency key, retried on a lost
race) and where a ticket's number comes from a per desk/day counter; the person-side lookups are here
because they answer the same person by the same keys (conversation, number) and must never show them
anyone else's ticket.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.privacy import mask
from bot.tickets.base import StoreBase, valid_enum, valid_hours, valid_text
from bot.tickets.errors import IdempotencyConflict, TicketError
from bot.tickets.models import Channel, EventKind, Message, Priority, Route, Sender, Ticket, TicketNumberCounter
from bot.tickets.rules import CRISIS_FIRST_RESPONSE_HOURS, INITIAL_STATUS, OPEN_STATUSES

MAX_CREATE_ATTEMPTS = 5
_DESK = re.compile(r"^[0-9A-Za-z_]{1,16}$")
_NUMBER = re.compile(r"^[0-9A-Za-z_]{1,16}-\d{8}-\d{4,}$")


class CreationMixin(StoreBase):
    """`create_ticket` with its numbering, and the lookups a person may make of their own tickets."""

    def _next_number(self, session: Session, desk: str, at: datetime) -> str:
        """Next readable number `<desk>-<YYYYMMDD>-<seq>` from an atomic per desk/day counter upsert.

        The counter is bumped inside the ticket's transaction, so a rolled-back creation gives its
        number back (no gaps to explain on the phone); on PostgreSQL the counter row lock makes
        concurrent creations of one desk queue for the length of a short transaction.
        """
        day = at.astimezone(self._local_tz).strftime("%Y%m%d")
        dialect = session.get_bind().dialect.name
        seq: int
        if dialect in ("postgresql", "sqlite"):
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = (
                insert(TicketNumberCounter)
                .values(desk=desk, day=day, last_seq=1)
                .on_conflict_do_update(
                    index_elements=[TicketNumberCounter.desk, TicketNumberCounter.day],
                    set_={"last_seq": TicketNumberCounter.last_seq + 1},
                )
                .returning(TicketNumberCounter.last_seq)
            )
            seq = session.execute(stmt).scalar_one()
        else:  # portable fallback: lock, then bump or insert (a racing insert fails and is retried)
            counter = session.get(TicketNumberCounter, (desk, day), with_for_update=True)
            if counter is None:
                counter = TicketNumberCounter(desk=desk, day=day, last_seq=0)
                session.add(counter)
            counter.last_seq += 1
            seq = counter.last_seq
        return f"{desk}-{day}-{seq:04d}"

    def _by_key(self, idempotency_key: str) -> Ticket | None:
        with self._read() as session:
            return session.scalars(select(Ticket).where(Ticket.idempotency_key == idempotency_key)).one_or_none()

    def create_ticket(
        self,
        *,
        desk: str,
        route: Route | str,
        conversation_id: str,
        channel: Channel | str,
        idempotency_key: str,
        summary: str,
        priority: Priority | str = Priority.NORMAL,
        category: str | None = None,
        category_l1: str | None = None,
        triage_signals: dict[str, Any] | None = None,
        sla_first_response_hours: float | None = None,
        sla_resolution_hours: float | None = None,
        transcript: Sequence[tuple[Sender | str, str]] = (),
        actor: str = "bot",
    ) -> Ticket:
        """Record a request and return its ticket; the same `idempotency_key` returns the same ticket.

        `summary` is masked before it is stored. Closed records (refer/emergency/decline/faq) start in
        their final status and carry no SLA. A crisis is always urgent and its first response is due
        within 15 minutes. `transcript` lines are stored in the same transaction as the ticket, so a
        retried escalation never duplicates them.
        """
        if not _DESK.match(desk):
            raise ValueError(f"invalid desk {desk!r}")
        route_value = valid_enum(Route, route, "route")
        priority_value = valid_enum(Priority, priority, "priority")
        channel_value = valid_enum(Channel, channel, "channel")
        conversation_id = valid_text(conversation_id, "conversation_id", 200)
        idempotency_key = valid_text(idempotency_key, "idempotency_key", 200)
        lines = [(valid_enum(Sender, sender, "sender"), text) for sender, text in transcript]
        first_response = valid_hours(sla_first_response_hours, "sla_first_response_hours")
        resolution = valid_hours(sla_resolution_hours, "sla_resolution_hours")
        status = INITIAL_STATUS[route_value]
        if route_value == Route.CRISIS.value:
            priority_value = Priority.URGENT.value
            crisis_limit = timedelta(hours=CRISIS_FIRST_RESPONSE_HOURS)
            first_response = min(first_response or crisis_limit, crisis_limit)
        if status not in OPEN_STATUSES:
            first_response = resolution = None

        for _attempt in range(MAX_CREATE_ATTEMPTS):
            existing = self._by_key(idempotency_key)
            if existing is not None:
                if existing.conversation_id != conversation_id:
                    raise IdempotencyConflict("idempotency key already used by another conversation")
                return existing
            try:
                with self._tx() as session:
                    now = self._now()
                    ticket = Ticket(
                        number=self._next_number(session, desk, now),
                        desk=desk,
                        route=route_value,
                        category=category,
                        category_l1=category_l1,
                        priority=priority_value,
                        status=status,
                        summary_redacted=mask(summary or ""),
                        triage_signals=dict(triage_signals or {}),
                        sla_first_response_due=now + first_response if first_response else None,
                        sla_resolution_due=now + resolution if resolution else None,
                        created_at=now,
                        updated_at=now,
                        channel=channel_value,
                        conversation_id=conversation_id,
                        idempotency_key=idempotency_key,
                    )
                    session.add(ticket)
                    session.flush()
                    for seq, (sender, text) in enumerate(lines, start=1):
                        session.add(Message(ticket_id=ticket.id, seq=seq, sender=sender, text=text, created_at=now))
                    details = {
                        "number": ticket.number,
                        "route": route_value,
                        "status": status,
                        "priority": priority_value,
                        "category": category,
                        "channel": channel_value,
                    }
                    self._event(session, ticket.id, EventKind.CREATED, actor, now, details)
                return ticket
            except IntegrityError:
                # Lost a race on the idempotency key: the re-select at the top returns the winner's ticket.
                # (A number collision, possible only if the counter table was edited, takes the next one.)
                continue
        raise TicketError(f"could not create a ticket for key {idempotency_key!r} in {MAX_CREATE_ATTEMPTS} tries")

    def tickets_for_conversation(self, conversation_id: str, *, limit: int = 20) -> list[Ticket]:
        """The person's own tickets, newest first: status lookups never cross conversations."""
        with self._read() as session:
            return list(
                session.scalars(
                    select(Ticket)
                    .where(Ticket.conversation_id == conversation_id)
                    .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                    .limit(limit)
                )
            )

    def get_by_number(self, number: str, conversation_id: str) -> Ticket | None:
        """A ticket by the number a person typed, only if it belongs to their conversation.

        Someone else's number yields None, exactly like an unknown one (no existence oracle).
        """
        number = (number or "").strip()
        if not _NUMBER.match(number):
            return None
        with self._read() as session:
            return session.scalars(
                select(Ticket).where(Ticket.number == number, Ticket.conversation_id == conversation_id)
            ).one_or_none()
