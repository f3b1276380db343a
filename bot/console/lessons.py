"""Category corrections -> classifier examples: the console's way to make triage learn from staff.

An agent who re-files a ticket ("路灯" was filed as 公用事业, it belongs to 城市管理) leaves a
`category_changed` event. Supervisors see the open corrections of their desks here, with the
request (masked), and decide for each one:

* **teach**: the request becomes one more example of the corrected category in the desk's override
  catalogue, as a new catalogue version (who, when, which ticket). The triage engine reloads the file
  and refits within seconds, so the next similar request is filed right, with no retraining step;
* **dismiss**: not a good example (several matters at once, a slip), nothing changes.

A supervisor decides rather than every correction teaching automatically: one agent's slip must not
teach the bot a wrong category, and an example is read by everyone who edits the catalogue.
Examples are always masked (ID numbers, phones, addresses, names): the catalogue is not personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from bot.console import overrides
from bot.console.catalogue_editor import Conflict, latest, save_version
from bot.console.models import CategoryLesson, LessonDecision
from bot.console.queue import category_names
from bot.console.web import Ctx, HttpError, not_found, page
from bot.privacy import mask
from bot.tickets.db import READ_ONLY
from bot.tickets.models import Event, EventKind, Ticket

SHOWN = 50
"""Open corrections shown at once, newest first."""
MAX_EXAMPLE_CHARS = 500
"""Longer requests are cut: the classifier reads a title and the first 300 characters anyway."""
FORM_LINES = ("地点：", "开始时间：", "涉及：", "方便联系的时间：")
"""Summary lines the ticket form adds after the request itself (bot/intake/records.py)."""


@dataclass(frozen=True)
class Correction:
    """One open correction as the page shows it."""

    event_id: int
    ticket_id: int
    ticket_number: str
    desk: str
    at: datetime
    actor: str
    old_category: str | None
    """What triage had filed it under."""
    new_category: str
    example: str


def request_text(summary_redacted: str) -> str:
    """The person's request from a ticket summary, masked, without the form's extra lines, cut to size."""
    lines = [line for line in (summary_redacted or "").splitlines() if not line.startswith(FORM_LINES)]
    return mask("\n".join(lines).strip())[:MAX_EXAMPLE_CHARS].strip()


def open_corrections(session: Session, desks: tuple[str, ...], limit: int = SHOWN) -> list[Correction]:
    """Corrections nobody has decided on, newest first; one later undone or changed again is not shown."""
    rows = session.execute(
        select(Event, Ticket)
        .join(Ticket, Ticket.id == Event.ticket_id)
        .outerjoin(CategoryLesson, CategoryLesson.event_id == Event.id)
        .where(Event.kind == EventKind.CATEGORY_CHANGED.value, Ticket.desk.in_(desks), CategoryLesson.id.is_(None))
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(limit * 4)  # some are superseded; the page stays bounded either way
    ).all()
    triaged = _triage_categories(session, {ticket.id for _, ticket in rows})
    out: list[Correction] = []
    for event, ticket in rows:
        correction = _correction(event, ticket, triaged.get(ticket.id))
        if correction is not None:
            out.append(correction)
        if len(out) >= limit:
            break
    return out


def _triage_categories(session: Session, ticket_ids: set[int]) -> dict[int, str | None]:
    """Ticket id -> the category triage gave it: the "old" side of its first correction."""
    if not ticket_ids:
        return {}
    events = session.scalars(
        select(Event)
        .where(Event.kind == EventKind.CATEGORY_CHANGED.value, Event.ticket_id.in_(ticket_ids))
        .order_by(Event.id)
    )
    out: dict[int, str | None] = {}
    for event in events:
        out.setdefault(event.ticket_id, ((event.details or {}).get("old") or {}).get("category"))
    return out


def _correction(event: Event, ticket: Ticket, triaged: str | None) -> Correction | None:
    """The event as an open correction, or None when there is nothing to learn from it: the category
    was cleared, changed again later, or put back to what triage had said."""
    details: dict[str, Any] = event.details or {}
    new = (details.get("new") or {}).get("category")
    old = (details.get("old") or {}).get("category")
    example = request_text(ticket.summary_redacted)
    if not new or new in (old, triaged) or new != ticket.category or not example:
        return None
    return Correction(
        event.id, ticket.id, ticket.number, ticket.desk, event.at, event.actor, triaged, str(new), example
    )


@page("catalogue")
def index(ctx: Ctx) -> Response:
    """GET: the open corrections of the member's desks."""
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        rows = open_corrections(session, ctx.member.desks)
    names = category_names(ctx.state.settings, ctx.member.desks)
    return ctx.render("lessons.html", rows=rows, names=names, shown=SHOWN)


def _load(ctx: Ctx) -> Correction:
    """The open correction named in the path, if the member's desks include it (else 404)."""
    try:
        event_id = int(ctx.request.path_params["event_id"])
    except (ValueError, OverflowError):
        raise not_found() from None
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        row = session.execute(
            select(Event, Ticket).join(Ticket, Ticket.id == Event.ticket_id).where(Event.id == event_id)
        ).first()
        decided = session.scalar(select(CategoryLesson.id).where(CategoryLesson.event_id == event_id))
        if row is None or not ctx.member.sees(row[1].desk) or row[0].kind != EventKind.CATEGORY_CHANGED.value:
            raise not_found()
        triaged = _triage_categories(session, {row[1].id}).get(row[1].id)
    if decided is not None:
        raise HttpError(409, "这条纠正已经处理过了。")
    correction = _correction(row[0], row[1], triaged)
    if correction is None:
        raise HttpError(409, "这张工单的分类之后又改过，这条纠正已不适用。")
    return correction


def _record(ctx: Ctx, correction: Correction, decision: LessonDecision, version: int | None) -> None:
    """One decision per correction: a second click (or a second supervisor) is refused by the unique key."""
    try:
        with ctx.state.sessions.begin() as session:
            session.add(
                CategoryLesson(
                    event_id=correction.event_id,
                    ticket_id=correction.ticket_id,
                    desk=correction.desk,
                    category=correction.new_category,
                    decision=decision.value,
                    actor=ctx.member.username,
                    at=ctx.state.now(),
                    catalogue_version=version,
                )
            )
    except IntegrityError:
        raise HttpError(409, "这条纠正已经处理过了。") from None
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username,
        action=f"category_lesson_{decision.value}",
        ticket_id=correction.ticket_id,
        details={"event_id": correction.event_id, "category": correction.new_category, "version": version},
    )


@page("catalogue")
def teach(ctx: Ctx) -> Response:
    """POST: add the request (masked) to the corrected category's examples, as a new catalogue version."""
    correction = _load(ctx)
    live = overrides.read_effective(ctx.state.settings, "desk", correction.desk)
    try:
        text = overrides.add_example(live, "categories", correction.new_category, correction.example)
    except KeyError:
        raise HttpError(409, f"受理目录里已经没有分类“{correction.new_category}”，无法加入示例。") from None
    entry = next((e for e in _categories(live) if e.get("id") == correction.new_category), {})
    version: int | None = None
    if correction.example not in (entry.get("examples") or []):
        with ctx.state.sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            current = latest(session, correction.desk, "desk")
        comment = f"工单 {correction.ticket_number} 的分类纠正：加入“{correction.new_category}”的示例"
        try:
            saved = save_version(
                ctx,
                correction.desk,
                "desk",
                text,
                base_version=current.version if current else 0,
                comment=comment,
                details={"entry": correction.new_category, "lesson_event": correction.event_id},
            )
        except (overrides.CatalogueInvalid, Conflict) as exc:
            raise HttpError(409, f"未能加入示例：{exc}。请刷新后重试。") from None
        version = saved.version
    _record(ctx, correction, LessonDecision.TAUGHT, version)
    return ctx.redirect("/console/catalogue/corrections", ok="lesson_taught")


@page("catalogue")
def dismiss(ctx: Ctx) -> Response:
    """POST: close the correction without changing the catalogue."""
    correction = _load(ctx)
    _record(ctx, correction, LessonDecision.DISMISSED, None)
    return ctx.redirect("/console/catalogue/corrections", ok="lesson_dismissed")


def _categories(text: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load(text) or {}
    return [c for c in doc.get("categories") or [] if isinstance(c, dict)]
