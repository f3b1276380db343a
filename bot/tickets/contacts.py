"""Personal contact data of a ticket: stored only with consent, listed masked, revealed with a record.

A contact is personal data kept for one purpose, reaching the person again, so its rules live alone
here: no consent, no contact; the value is kept apart from the ticket and never enters an event; and
reading it back is audited twice (a ticket event and a staff audit entry) in the transaction of the read.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from bot.privacy import mask_contact
from bot.tickets.base import StoreBase, valid_aware, valid_enum, valid_text
from bot.tickets.errors import ConsentRequired, TicketNotFound
from bot.tickets.models import Contact, ContactKind, EventKind, StaffAuditEntry
from bot.tickets.views import ContactView

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,22}$")


class ContactsMixin(StoreBase):
    """Adding, listing (masked) and revealing (audited) the contacts of a ticket."""

    def add_contact(
        self,
        ticket_id: int,
        *,
        kind: ContactKind | str,
        value: str,
        consent_text: str,
        consent_at: datetime | None = None,
        actor: str = "bot",
    ) -> ContactView:
        """Store a contact the person agreed to give; `consent_text` is what they agreed to, verbatim.

        Without consent nothing is stored (ConsentRequired). The value never enters an event.
        """
        kind_value = valid_enum(ContactKind, kind, "contact kind")
        if not consent_text or not consent_text.strip():
            raise ConsentRequired("a contact is stored only with the person's consent (consent_text)")
        value = valid_text(value, "contact value", 200)
        if kind_value == ContactKind.EMAIL.value and not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        if kind_value == ContactKind.PHONE.value and not _PHONE.match(value):
            raise ValueError("not a phone number")
        with self._tx() as session:
            ticket = self._lock(session, ticket_id)
            now = self._now()
            contact = Contact(
                ticket_id=ticket.id,
                kind=kind_value,
                value=value,
                consent_at=valid_aware(consent_at, "consent_at") if consent_at else now,
                consent_text=consent_text.strip(),
                created_at=now,
            )
            session.add(contact)
            session.flush()
            details = {"contact_id": contact.id, "kind": kind_value}
            self._event(session, ticket.id, EventKind.CONTACT_ADDED, actor, now, details)
        return self._contact_view(contact)

    @staticmethod
    def _contact_view(contact: Contact) -> ContactView:
        masked = mask_contact(contact.kind, contact.value)
        return ContactView(contact.id, contact.ticket_id, contact.kind, masked, contact.consent_at)

    def contacts(self, ticket_id: int) -> list[ContactView]:
        """A ticket's contacts, masked (listing them is not a reveal)."""
        with self._read() as session:
            rows = session.scalars(select(Contact).where(Contact.ticket_id == ticket_id).order_by(Contact.id)).all()
        return [self._contact_view(contact) for contact in rows]

    def reveal_contact(self, contact_id: int, *, staff_user: str, reason: str) -> str:
        """The clear value of a contact for one staff member, with a reason; audited twice.

        The ticket gets a `contact_revealed` event and the staff audit log an entry, in the same
        transaction as the read: no reveal without its record.
        """
        staff_user = valid_text(staff_user, "staff_user")
        reason = valid_text(reason, "reason", 1000)
        with self._tx() as session:
            ticket_id = session.scalar(select(Contact.ticket_id).where(Contact.id == contact_id))
            if ticket_id is None:
                raise TicketNotFound(f"no contact with id {contact_id}")
            self._lock(session, ticket_id)
            contact = session.get_one(Contact, contact_id)
            now = self._now()
            details = {"contact_id": contact.id, "kind": contact.kind, "reason": reason}
            self._event(session, ticket_id, EventKind.CONTACT_REVEALED, staff_user, now, details)
            session.add(
                StaffAuditEntry(
                    staff_user=staff_user,
                    action="contact_revealed",
                    ticket_id=ticket_id,
                    reason=reason,
                    at=now,
                    details={"contact_id": contact.id, "kind": contact.kind},
                )
            )
            return contact.value
