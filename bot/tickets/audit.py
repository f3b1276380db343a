"""The staff audit log: what staff did outside a single ticket's events (exports, searches, logins).

It is append-only like the events (database triggers reject changes), and it is kept apart from the
ticket events because many entries concern no ticket at all; the console writes and reads it here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.tickets.base import StoreBase, valid_text
from bot.tickets.models import StaffAuditEntry


class StaffAuditMixin(StoreBase):
    """Appending to and reading the staff audit log."""

    def log_staff_action(
        self,
        *,
        staff_user: str,
        action: str,
        ticket_id: int | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> StaffAuditEntry:
        """Append to the staff audit log (for the console: exports, searches, logins)."""
        entry = StaffAuditEntry(
            staff_user=valid_text(staff_user, "staff_user"),
            action=valid_text(action, "action", 64),
            ticket_id=ticket_id,
            reason=reason,
            at=self._now(),
            details=dict(details or {}),
        )
        with self._tx() as session:
            session.add(entry)
        return entry

    def staff_audit_log(self, *, ticket_id: int | None = None, limit: int = 100) -> list[StaffAuditEntry]:
        """Newest entries first."""
        with self._read() as session:
            stmt = select(StaffAuditEntry).order_by(StaffAuditEntry.id.desc()).limit(limit)
            if ticket_id is not None:
                stmt = stmt.where(StaffAuditEntry.ticket_id == ticket_id)
            return list(session.scalars(stmt))
