"""The retention policy as data: which rows of which table go, when, and under which setting.

Each `Rule` is one table and one SQL condition with a `:cutoff` (now minus the rule's days). The
purge runs the rules in order, in batches, and a rule that finds nothing does nothing: running it
twice removes nothing the second time. A table added by another part of the app gets its own row
in `RULES`; a table that does not exist in a database
is skipped.

Order matters: rows that others refer to go last (gw_outbound before gw_inbound before
gw_conversations; a ticket's transcript before the ticket is marked anonymised), and tickets come
first, so the raw turns of a conversation whose ticket was just anonymised go in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings

TERMINAL = "('resolved', 'closed', 'declined', 'referred')"
"""Statuses after which nothing more is done on a ticket (copied from bot.tickets.rules)."""

HELD_TICKETS = "SELECT conversation_id FROM tickets WHERE anonymised_at IS NULL"
"""Conversations whose raw turns are still a ticket's transcript (bot/intake/transcripts.py reads them)."""

TICKETS_DUE = f"SELECT id FROM tickets WHERE anonymised_at IS NULL AND status IN {TERMINAL} AND updated_at < :cutoff"
"""Tickets closed longer ago than the ticket retention: their personal data is anonymised."""

ANONYMISED = "[已匿名]"
"""What an anonymised ticket's summary says."""


@dataclass(frozen=True)
class Rule:
    """One table's retention: rows matching `where` (with `:cutoff`) are deleted, or updated with `set_`."""

    name: str
    data_class: str
    table: str
    where: str
    setting: str
    """The Settings attribute that holds the days (its FRONTDOOR_ variable is in the README)."""
    set_: str | None = None
    """`col = value, ...` to anonymise instead of deleting; the `where` must stop matching afterwards."""
    key: str = "id"


RULES: tuple[Rule, ...] = (
    Rule(
        "contacts",
        "contact details",
        "ticket_contacts",
        f"ticket_id IN (SELECT id FROM tickets WHERE status IN {TERMINAL} AND updated_at < :cutoff)",
        "retain_contact_days",
    ),
    Rule(
        "ticket transcripts",
        "ticket transcripts",
        "ticket_messages",
        f"ticket_id IN ({TICKETS_DUE})",
        "retain_ticket_days",
    ),
    Rule(
        "notes and reasons",
        "ticket transcripts",
        "ticket_event_texts",
        f"ticket_id IN ({TICKETS_DUE})",
        "retain_ticket_days",
    ),
    Rule(
        "rating comments",
        "ticket transcripts",
        "ticket_ratings",
        f"comment IS NOT NULL AND ticket_id IN ({TICKETS_DUE})",
        "retain_ticket_days",
        set_="comment = NULL",
    ),
    Rule(
        "tickets",
        "ticket transcripts",
        "tickets",
        f"id IN ({TICKETS_DUE})",
        "retain_ticket_days",
        set_=(
            f"summary_redacted = '{ANONYMISED}', triage_signals = '{{}}', conversation_id = 'anonymised:' || number, "
            "idempotency_key = 'anonymised:' || number, anonymised_at = :now"
        ),
    ),
    Rule(
        "outbound turns",
        "raw chat turns",
        "gw_outbound",
        f"created_at < :cutoff AND conversation_id NOT IN ({HELD_TICKETS})",
        "retain_chat_days",
    ),
    Rule(
        "outbound turns of old inbound",  # a reply younger than the message it answers must not pin it
        "raw chat turns",
        "gw_outbound",
        "inbound_id IN (SELECT id FROM gw_inbound WHERE received_at < :cutoff "
        f"AND conversation_id NOT IN ({HELD_TICKETS}))",
        "retain_chat_days",
    ),
    Rule(
        "inbound turns",
        "raw chat turns",
        "gw_inbound",
        f"received_at < :cutoff AND conversation_id NOT IN ({HELD_TICKETS})",
        "retain_chat_days",
    ),
    Rule("telegram updates", "raw chat turns", "gw_telegram_updates", "received_at < :cutoff", "retain_chat_days"),
    Rule(
        "pending matters",
        "matters listed, not yet filed",
        "gw_conversations",
        "last_seen_at < :cutoff AND pending_matters IS NOT NULL AND CAST(pending_matters AS TEXT) <> 'null'",
        "retain_matters_days",
        set_="pending_matters = NULL",
    ),
    Rule(
        "conversations",
        "raw chat turns",
        "gw_conversations",
        f"last_seen_at < :cutoff AND id NOT IN ({HELD_TICKETS}) "
        "AND NOT EXISTS (SELECT 1 FROM gw_inbound i WHERE i.conversation_id = gw_conversations.id) "
        "AND NOT EXISTS (SELECT 1 FROM gw_outbound o WHERE o.conversation_id = gw_conversations.id)",
        "retain_chat_days",
    ),
    Rule("web chat tokens", "raw chat turns", "gw_chat_tokens", "last_used_at < :cutoff", "retain_chat_days"),
    Rule(
        "wechat windows",  # a person's WeChat openid and when they last wrote
        "raw chat turns",
        "gw_wechat_windows",
        "last_inbound_at < :cutoff",
        "retain_chat_days",
    ),
    Rule(
        "console sessions",
        "staff sessions",
        "staff_sessions",
        "COALESCE(ended_at, last_seen_at) < :cutoff",
        "retain_session_days",
    ),
    Rule("login attempts", "staff sessions", "staff_login_attempts", "at < :cutoff", "retain_session_days"),
)


def days(rule: Rule, settings: Settings) -> int:
    """The days `rule` keeps rows for, from settings."""
    return int(getattr(settings, rule.setting))
