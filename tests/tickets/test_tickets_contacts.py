"""Contacts: stored apart, only with consent; revealing one is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from bot.tickets.errors import ConsentRequired, TicketNotFound
from bot.tickets.repository import TicketStore

CONSENT = "我同意工作人员通过此电话联系我处理本工单"


def test_contact_needs_consent(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    for consent in ["", "   "]:
        with pytest.raises(ConsentRequired):
            store.add_contact(ticket.id, kind="phone", value="13812345678", consent_text=consent)
    assert store.contacts(ticket.id) == []


def test_contact_is_stored_apart_and_listed_masked(store: TicketStore, engine: Engine, new_ticket, clock) -> None:
    ticket = new_ticket()
    view = store.add_contact(ticket.id, kind="phone", value="13812345678", consent_text=CONSENT)
    assert view.masked_value == "138****5678" and view.consent_at == clock.now
    assert [c.masked_value for c in store.contacts(ticket.id)] == ["138****5678"]
    added = store.events(ticket.id)[-1]
    assert added.kind == "contact_added" and "13812345678" not in str(added.details)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT value, consent_text FROM ticket_contacts")).one()
    assert tuple(row) == ("13812345678", CONSENT)


def test_reveal_is_audited_with_reason(store: TicketStore, new_ticket, clock) -> None:
    ticket = new_ticket()
    view = store.add_contact(ticket.id, kind="email", value="zhang@example.cn", consent_text=CONSENT)
    assert view.masked_value == "z***@example.cn"
    assert store.reveal_contact(view.id, staff_user="li", reason="回访") == "zhang@example.cn"
    event = store.events(ticket.id)[-1]
    assert (event.kind, event.actor, event.details["reason"]) == ("contact_revealed", "li", "回访")
    [entry] = store.staff_audit_log(ticket_id=ticket.id)
    assert (entry.staff_user, entry.action, entry.reason, entry.at) == ("li", "contact_revealed", "回访", clock.now)


def test_reveal_needs_a_reason_and_an_existing_contact(store: TicketStore, new_ticket) -> None:
    ticket = new_ticket()
    view = store.add_contact(ticket.id, kind="wechat", value="zhang_wx_2026", consent_text=CONSENT)
    with pytest.raises(ValueError):
        store.reveal_contact(view.id, staff_user="li", reason="")
    with pytest.raises(TicketNotFound):
        store.reveal_contact(999_999, staff_user="li", reason="回访")
    assert store.staff_audit_log() == []


@pytest.mark.parametrize(("kind", "value"), [("phone", "call me"), ("email", "not-an-address"), ("fax", "123")])
def test_contact_values_are_checked(store: TicketStore, new_ticket, kind: str, value: str) -> None:
    with pytest.raises(ValueError):
        store.add_contact(new_ticket().id, kind=kind, value=value, consent_text=CONSENT)
