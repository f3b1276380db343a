"""Access and erasure on request (PIPL Art. 45, 47): everything held about one person, by ticket
number or conversation.

A person is a conversation (`<desk>:<channel>:<user>`, Rasa's sender id) and its tickets. `export`
gathers what is held - gateway turns, tickets with transcripts, notes, contacts in clear, ratings,
follow-ups, Rasa tracker events - into one readable JSON document. `erase` deletes or anonymises it
all: the gateway rows, the ticket's transcript, notes and reasons (`ticket_event_texts`), contacts,
rating comments, the tracker events and the log lines that name the conversation or the ticket. The
ticket row stays, anonymised (`[已匿名]`, no conversation id), so its append-only events and the
staff audit log still refer to something; the audit log gets one entry with the counts and ticket
numbers, none of the data.

Not reachable from here: the embedding cache of other processes (memory only, bounded, gone on
restart), Telegram's own copy of the chat, backups, and log lines that do not name the
conversation or the ticket (bot.retention.logs keeps the rest for FRONTDOOR_RETAIN_LOG_DAYS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BindParameter, Connection, Engine, bindparam, insert, inspect, text

from bot.retention import logs, tracker
from bot.retention.policy import ANONYMISED
from bot.settings import Settings
from bot.tickets.models import StaffAuditEntry, UTCDateTime


class SubjectNotFound(LookupError):
    """No ticket with that number, or no conversation with that id."""


@dataclass
class Subject:
    """Whose data: the conversations and the tickets that belong together."""

    conversations: list[str]
    ticket_ids: list[int]
    ticket_numbers: list[str]
    external_users: list[str] = field(default_factory=list)


def _rows(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    statement = text(sql)
    expanding: list[BindParameter[Any]] = [
        bindparam(k, expanding=True) for k, v in params.items() if isinstance(v, list)
    ]
    if expanding:
        statement = statement.bindparams(*expanding)
    return [dict(row._mapping) for row in conn.execute(statement, params)]


def find(engine: Engine, *, ticket: str | None = None, conversation: str | None = None) -> Subject:
    """The person behind a ticket number (its conversation and all that conversation's tickets), or
    behind a conversation id."""
    if (ticket is None) == (conversation is None):
        raise ValueError("give a ticket number or a conversation id, not both")
    with engine.connect() as conn:
        if ticket is not None:
            found = _rows(conn, "SELECT id, conversation_id FROM tickets WHERE number = :n", n=ticket.strip())
            if not found:
                raise SubjectNotFound(f"no ticket numbered {ticket}")
            conversation = str(found[0]["conversation_id"])
        assert conversation is not None
        tickets = _rows(
            conn,
            "SELECT id, number FROM tickets WHERE conversation_id = :c OR number = :n ORDER BY id",
            c=conversation,
            n=ticket or "",
        )
        convs = _rows(conn, "SELECT id, external_user FROM gw_conversations WHERE id = :c", c=conversation)
        if not tickets and not convs:
            raise SubjectNotFound(f"no conversation {conversation}")
    return Subject(
        conversations=[conversation],
        ticket_ids=[int(t["id"]) for t in tickets],
        ticket_numbers=[str(t["number"]) for t in tickets],
        external_users=[str(c["external_user"]) for c in convs],
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in rows]


def export(
    engine: Engine, subject: Subject, settings: Settings, *, tracker_dbs: list[Path] | None = None
) -> dict[str, Any]:
    """Everything held about `subject`, as plain data (json.dumps-able), contacts in clear."""
    c, t = subject.conversations, subject.ticket_ids or [-1]
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        held: dict[str, Any] = {
            "exported_at": datetime.now(UTC).isoformat(),
            "conversations": _clean(_rows(conn, "SELECT * FROM gw_conversations WHERE id IN :c", c=c)),
            "messages_received": _clean(
                _rows(conn, "SELECT id, text, received_at FROM gw_inbound WHERE conversation_id IN :c ORDER BY id", c=c)
            ),
            "messages_sent": _clean(
                _rows(
                    conn,
                    "SELECT id, text, source, created_at FROM gw_outbound WHERE conversation_id IN :c ORDER BY id",
                    c=c,
                )
            ),
            "tickets": _clean(_rows(conn, "SELECT * FROM tickets WHERE id IN :t ORDER BY id", t=t)),
            "ticket_transcripts": _clean(
                _rows(
                    conn,
                    "SELECT ticket_id, seq, sender, text, created_at FROM ticket_messages WHERE ticket_id IN :t ORDER BY ticket_id, seq",
                    t=t,
                )
            ),
            "contacts": _clean(
                _rows(
                    conn,
                    "SELECT ticket_id, kind, value, consent_at, consent_text FROM ticket_contacts WHERE ticket_id IN :t",
                    t=t,
                )
            ),
            "ticket_events": _clean(
                _rows(
                    conn,
                    "SELECT id, ticket_id, kind, actor, at, details FROM ticket_events WHERE ticket_id IN :t ORDER BY id",
                    t=t,
                )
            ),
            "follow_ups": _clean(
                _rows(
                    conn, "SELECT ticket_id, due_at, status, outcome FROM ticket_follow_ups WHERE ticket_id IN :t", t=t
                )
            ),
            "ratings": _clean(
                _rows(
                    conn,
                    "SELECT ticket_id, solved, service_score, comment, created_at FROM ticket_ratings WHERE ticket_id IN :t",
                    t=t,
                )
            ),
        }
        if "ticket_event_texts" in tables:
            texts = _rows(conn, "SELECT event_id, field, text FROM ticket_event_texts WHERE ticket_id IN :t", t=t)
            by_event = {(r["event_id"], r["field"]): r["text"] for r in texts}
            for event in held["ticket_events"]:
                details = dict(event["details"] or {})
                details.update({f: v for (e, f), v in by_event.items() if e == event["id"]})
                event["details"] = details
    files = tracker.tracker_files(settings) if tracker_dbs is None else tracker_dbs
    held["rasa_tracker_events"] = tracker.events_of(files, c)
    return held


def write_export(held: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(held, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


def counts(held: dict[str, Any]) -> dict[str, int]:
    """How many records of each kind an export holds (what the audit entry says instead of the data)."""
    return {k: len(v) for k, v in held.items() if isinstance(v, list) and v}


def erase(
    engine: Engine,
    subject: Subject,
    settings: Settings,
    *,
    actor: str,
    now: datetime | None = None,
    tracker_dbs: list[Path] | None = None,
) -> dict[str, int]:
    """Delete or anonymise everything held about `subject`; returns the counts per place, which the
    staff audit log also gets (with the ticket numbers, not the data)."""
    now = now or datetime.now(UTC)
    c, t = subject.conversations, subject.ticket_ids or [-1]
    files = tracker.tracker_files(settings) if tracker_dbs is None else tracker_dbs
    # outside the database first: if anything below fails, the request is run again (it is idempotent)
    done: dict[str, int] = {"rasa_tracker_events": tracker.delete_sender(files, c)}
    done["log_lines"] = logs.scrub(logs.log_dir(settings), [*c, *subject.ticket_numbers])
    done["embedding_memory"] = _forget_embeddings()
    with engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())

        def run(name: str, sql: str, **params: Any) -> None:
            statement = text(sql)
            expanding: list[BindParameter[Any]] = [
                bindparam(k, expanding=True) for k, v in params.items() if isinstance(v, list)
            ]
            if "now" in params:
                expanding.append(bindparam("now", type_=UTCDateTime()))
            done[name] = done.get(name, 0) + int(conn.execute(statement.bindparams(*expanding), params).rowcount)

        run("ticket_messages", "DELETE FROM ticket_messages WHERE ticket_id IN :t", t=t)
        run("ticket_contacts", "DELETE FROM ticket_contacts WHERE ticket_id IN :t", t=t)
        if "ticket_event_texts" in tables:
            run("ticket_event_texts", "DELETE FROM ticket_event_texts WHERE ticket_id IN :t", t=t)
        run(
            "ticket_ratings",
            "UPDATE ticket_ratings SET comment = NULL WHERE comment IS NOT NULL AND ticket_id IN :t",
            t=t,
        )
        run(
            "tickets",
            f"UPDATE tickets SET summary_redacted = '{ANONYMISED}', triage_signals = '{{}}', "
            "conversation_id = 'anonymised:' || number, idempotency_key = 'anonymised:' || number, "
            "anonymised_at = :now WHERE id IN :t",
            t=t,
            now=now,
        )
        run("gw_outbound", "DELETE FROM gw_outbound WHERE conversation_id IN :c", c=c)
        run("gw_inbound", "DELETE FROM gw_inbound WHERE conversation_id IN :c", c=c)
        for user in subject.external_users:  # Telegram's raw updates name the chat, not the conversation
            if user:
                run(
                    "gw_telegram_updates",
                    "DELETE FROM gw_telegram_updates WHERE CAST(payload AS TEXT) LIKE :a OR CAST(payload AS TEXT) LIKE :b",
                    a=f'%"id": {user},%',
                    b=f'%"id": {user}}}%',
                )
        run("gw_conversations", "DELETE FROM gw_conversations WHERE id IN :c", c=c)
        conn.execute(
            insert(StaffAuditEntry).values(
                staff_user=actor,
                action="personal_data_erased",
                ticket_id=subject.ticket_ids[0] if subject.ticket_ids else None,
                reason=None,
                at=now,
                details={
                    "tickets": subject.ticket_numbers,
                    "conversations": len(c),
                    "counts": {k: v for k, v in done.items() if v},
                },
            )
        )
    return done


def _forget_embeddings() -> int:
    """This process's memory cache of vectors (other processes forget on restart or by LRU)."""
    from bot.embeddings import encoder

    return sum(e.forget_memory() for e in list(encoder._encoders.values()))


def record_export(engine: Engine, actor: str, subject: Subject, held: dict[str, Any]) -> None:
    """Access is audited too: who exported whose data, and how much of it."""
    with engine.begin() as conn:
        conn.execute(
            insert(StaffAuditEntry).values(
                staff_user=actor,
                action="personal_data_exported",
                ticket_id=subject.ticket_ids[0] if subject.ticket_ids else None,
                reason=None,
                at=datetime.now(UTC),
                details={"tickets": subject.ticket_numbers, "counts": counts(held)},
            )
        )
