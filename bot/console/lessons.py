"""Staff corrections -> examples: the console's way to make triage learn from the people who use it.

Two kinds of correction come from the ticket page:

* an agent re-files a ticket ("路灯" was filed as 公用事业, it belongs to 城市管理): a
  `category_changed` event. Supervisors of the desk decide on it;
* staff say the safety screen was wrong: a crisis ticket that was a false alarm, or an ordinary
  ticket that was a crisis (`safety_feedback`). The safety screen serves every desk, so admins decide.

For each correction the decider chooses:

* **teach**: the request (masked) becomes one more example, as a new version of the file: the
  corrected category's examples in the desk catalogue, or the crisis examples / negatives of the
  safety screen. The triage engine notices the file within seconds and refits in the background;
* **dismiss**: not a good example (several matters at once, a slip), nothing changes.

A person decides rather than every correction teaching automatically: one slip must not teach the bot
a wrong category, let alone make the safety screen overlook a crisis. Examples are always masked (ID
numbers, phones, addresses, names): the catalogue is not personal data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from bot.console import overrides
from bot.console.catalogue_editor import Conflict, latest, save_version
from bot.console.models import Lesson, LessonDecision, LessonKind
from bot.console.queue import category_names
from bot.console.request_text import request_text
from bot.console.web import Ctx, HttpError, not_found, page
from bot.db.engine import READ_ONLY
from bot.tickets.models import Event, EventKind, SafetyVerdict, Ticket

SHOWN = 50
"""Open corrections shown at once per kind, newest first."""
MIN_SAFETY_EXAMPLE_CHARS = 6
"""Shorter words ("有", the answer to the check-in question) say nothing on their own: never taught
to the safety screen, where they would make every "有" look like a crisis, or like a false alarm."""
SAFETY_TARGETS = {
    SafetyVerdict.MISSED_CRISIS.value: ("crisis", "examples"),
    SafetyVerdict.FALSE_ALARM.value: ("crisis", "negatives"),
}
"""Where a safety correction would go in safety-lessons.yml (the same lists of safety.yml)."""
NOT_TAUGHT = ".".join(SAFETY_TARGETS[SafetyVerdict.FALSE_ALARM.value])
"""False alarms are recorded and shown, never taught from here. A negative quiets the learned score
for everything that looks like it: one joke taught as a negative ("笑死我了，这次期末考崩了，我直接原地去世")
made two real goodbyes of our dev set (dev-250, dev-270) stop being flagged. Over-escalation is the
safe failure; a negative is a decision for whoever maintains safety.yml, with the dev set at hand."""
CATEGORY_LESSONS_HEADER = (
    "# Staff-taught examples of this desk's categories, read on top of its catalogue file.\n"
    "# Written by the console (纠正与学习); masked; see docs/catalogue-format.md.\n"
)
SAFETY_LESSONS_HEADER = (
    "# Staff additions to the safety screen, read on top of the bundled bot/data/safety.yml.\n"
    "# Written by the console (纠正与学习); masked; see docs/catalogue-format.md.\n"
)
KIND_OF_EVENT = {
    EventKind.CATEGORY_CHANGED.value: LessonKind.CATEGORY,
    EventKind.SAFETY_FEEDBACK.value: LessonKind.SAFETY,
}


@dataclass(frozen=True)
class Correction:
    """One open correction as the page shows it."""

    kind: LessonKind
    event_id: int
    ticket_id: int
    ticket_number: str
    desk: str
    at: datetime
    actor: str
    before: str | None
    """Category: what triage had filed it under. Safety: the ticket's route."""
    target: str
    """Category: the corrected category id. Safety: `crisis.examples` or `crisis.negatives`."""
    example: str


def open_corrections(
    session: Session, desks: tuple[str, ...], kind: LessonKind, limit: int = SHOWN
) -> list[Correction]:
    """Corrections of one kind nobody has decided on, newest first; superseded ones are not shown."""
    event_kind = next(e for e, k in KIND_OF_EVENT.items() if k is kind)
    rows = session.execute(
        select(Event, Ticket)
        .join(Ticket, Ticket.id == Event.ticket_id)
        .outerjoin(Lesson, Lesson.event_id == Event.id)
        .where(Event.kind == event_kind, Ticket.desk.in_(desks), Lesson.id.is_(None))
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(limit * 4)  # some are superseded; the page stays bounded either way
    ).all()
    history = _history(session, {ticket.id for _, ticket in rows}, event_kind)
    out: list[Correction] = []
    for event, ticket in rows:
        correction = _correction(event, ticket, history.get(ticket.id, []))
        if correction is not None:
            out.append(correction)
        if len(out) >= limit:
            break
    return out


def _history(session: Session, ticket_ids: set[int], event_kind: str) -> dict[int, list[Event]]:
    """Ticket id -> its events of this kind, oldest first."""
    out: dict[int, list[Event]] = {}
    if ticket_ids:
        events = session.scalars(
            select(Event).where(Event.kind == event_kind, Event.ticket_id.in_(ticket_ids)).order_by(Event.id)
        )
        for event in events:
            out.setdefault(event.ticket_id, []).append(event)
    return out


def _correction(event: Event, ticket: Ticket, history: list[Event]) -> Correction | None:
    """The event as an open correction, or None when there is nothing (any more) to learn from it."""
    kind = KIND_OF_EVENT.get(event.kind)
    details: dict[str, Any] = event.details or {}
    example = request_text(ticket.summary_redacted)
    if kind is None or not example or (history and history[-1].id != event.id):
        return None  # a later correction of the same kind supersedes this one
    if kind is LessonKind.SAFETY:
        path = SAFETY_TARGETS.get(str(details.get("verdict")))
        if path is None or len(example.replace(" ", "")) < MIN_SAFETY_EXAMPLE_CHARS:
            return None
        return Correction(
            kind, event.id, ticket.id, ticket.number, ticket.desk, event.at, event.actor, ticket.route,
            ".".join(path), example,
        )  # fmt: skip
    new = (details.get("new") or {}).get("category")
    triaged = ((history[0].details or {}).get("old") or {}).get("category") if history else None
    if not new or new == triaged or new != ticket.category:
        return None  # cleared, or put back to what triage had said
    return Correction(
        kind, event.id, ticket.id, ticket.number, ticket.desk, event.at, event.actor, triaged, str(new), example
    )


CONFUSION_DAYS = 90
"""Window of the confusion table: long enough to see a pattern, short enough to reflect the catalogue now."""
CONFUSIONS_SHOWN = 10


def confusions(session: Session, desks: tuple[str, ...], since: datetime) -> list[tuple[str | None, str, int]]:
    """(triage's category, the category staff settled on, tickets) since `since`, most frequent first.

    One count per ticket (its first and last correction), so a ticket moved twice counts once; a
    ticket put back where triage had it does not count. This is where the catalogue needs work.
    """
    events = session.scalars(
        select(Event)
        .join(Ticket, Ticket.id == Event.ticket_id)
        .where(Event.kind == EventKind.CATEGORY_CHANGED.value, Ticket.desk.in_(desks), Event.at >= since)
        .order_by(Event.id)
        .limit(20_000)
    )
    first_last: dict[int, tuple[str | None, str | None]] = {}
    for event in events:
        details = event.details or {}
        old = (details.get("old") or {}).get("category")
        new = (details.get("new") or {}).get("category")
        first_last[event.ticket_id] = (first_last.get(event.ticket_id, (old, None))[0], new)
    counts = Counter((old, new) for old, new in first_last.values() if new and new != old)
    return [(old, str(new), n) for (old, new), n in counts.most_common(CONFUSIONS_SHOWN)]


def safety_feedback_counts(session: Session, desks: tuple[str, ...], since: datetime) -> dict[str, int]:
    """Verdict -> tickets staff reported since `since` (the latest report per ticket counts): how often
    the screen is wrong in practice, which no benchmark of ours can tell."""
    events = session.scalars(
        select(Event)
        .join(Ticket, Ticket.id == Event.ticket_id)
        .where(Event.kind == EventKind.SAFETY_FEEDBACK.value, Ticket.desk.in_(desks), Event.at >= since)
        .order_by(Event.id)
    )
    latest_verdict = {event.ticket_id: str((event.details or {}).get("verdict")) for event in events}
    counts = Counter(latest_verdict.values())
    return {verdict.value: counts.get(verdict.value, 0) for verdict in SafetyVerdict}


@page("catalogue")
def index(ctx: Ctx) -> Response:
    """GET: the open corrections of the member's desks (safety ones for admins)."""
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        rows = open_corrections(session, ctx.member.desks, LessonKind.CATEGORY)
        safety = open_corrections(session, ctx.member.desks, LessonKind.SAFETY) if ctx.member.can("safety") else []
        since = ctx.state.now() - timedelta(days=CONFUSION_DAYS)
        pairs = confusions(session, ctx.member.desks, since)
        reported = safety_feedback_counts(session, ctx.member.desks, since) if ctx.member.can("safety") else {}
    names = category_names(ctx.state.settings, ctx.member.desks)
    return ctx.render(
        "lessons.html",
        rows=rows,
        safety=safety,
        names=names,
        shown=SHOWN,
        pairs=pairs,
        days=CONFUSION_DAYS,
        not_taught=NOT_TAUGHT,
        reported=reported,
    )


def _load(ctx: Ctx) -> Correction:
    """The open correction named in the path, if the member may decide on it (else 404/403/409)."""
    try:
        event_id = int(ctx.request.path_params["event_id"])
    except (ValueError, OverflowError):
        raise not_found() from None
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        row = session.execute(
            select(Event, Ticket).join(Ticket, Ticket.id == Event.ticket_id).where(Event.id == event_id)
        ).first()
        if row is None or not ctx.member.sees(row[1].desk) or row[0].kind not in KIND_OF_EVENT:
            raise not_found()
        event, ticket = row
        decided = session.scalar(select(Lesson.id).where(Lesson.event_id == event_id))
        history = _history(session, {ticket.id}, event.kind).get(ticket.id, [])
    if KIND_OF_EVENT[event.kind] is LessonKind.SAFETY and not ctx.member.can("safety"):
        raise HttpError(403, "安全筛查的纠正由管理员处理。")
    if decided is not None:
        raise HttpError(409, "这条纠正已经处理过了。")
    correction = _correction(event, ticket, history)
    if correction is None:
        raise HttpError(409, "这张工单之后又改过，这条纠正已不适用。")
    return correction


def _record(ctx: Ctx, correction: Correction, decision: LessonDecision, version: int | None) -> None:
    """One decision per correction: a second click (or a second supervisor) is refused by the unique key."""
    try:
        with ctx.state.sessions.begin() as session:
            session.add(
                Lesson(
                    event_id=correction.event_id,
                    ticket_id=correction.ticket_id,
                    desk=correction.desk,
                    kind=correction.kind.value,
                    target=correction.target,
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
        action=f"lesson_{decision.value}",
        ticket_id=correction.ticket_id,
        details={
            "event_id": correction.event_id,
            "kind": correction.kind.value,
            "target": correction.target,
            "version": version,
        },
    )


def _publish(ctx: Ctx, kind: str, desk: str, text: str, comment: str, details: dict[str, Any]) -> int:
    """Save `text` as the next version of the file (the latest version is the base: an append is safe)."""
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        current = latest(session, desk, kind)
    try:
        saved = save_version(
            ctx, desk, kind, text, base_version=current.version if current else 0, comment=comment, details=details
        )
    except (overrides.CatalogueInvalid, Conflict) as exc:
        raise HttpError(409, f"未能加入示例：{exc}。请刷新后重试。") from None
    return saved.version


def _teach_category(ctx: Ctx, c: Correction) -> int | None:
    """Add the example to the desk's lessons file (read on top of its catalogue; never a copy of it)."""
    catalogue = yaml.safe_load(overrides.read_effective(ctx.state.settings, "desk", c.desk)) or {}
    entry = next(
        (e for e in catalogue.get("categories") or [] if isinstance(e, dict) and e.get("id") == c.target), None
    )
    if entry is None:
        raise HttpError(409, f"受理目录里已经没有分类“{c.target}”，无法加入示例。")
    if c.example in (entry.get("examples") or []):
        return None
    live = overrides.read_effective(ctx.state.settings, "lessons", c.desk) or f'desk: "{c.desk}"\n'
    try:
        text = overrides.add_to_list(live, ("examples", c.target), c.example, header=CATEGORY_LESSONS_HEADER)
    except overrides.CatalogueInvalid as exc:
        raise HttpError(409, f"补充示例文件有误，请在编辑器中修正：{exc}") from None
    if text is None:  # taught before
        return None
    comment = f"工单 {c.ticket_number} 的分类纠正：加入“{c.target}”的示例"
    return _publish(ctx, "lessons", c.desk, text, comment, {"entry": c.target, "lesson_event": c.event_id})


def _teach_safety(ctx: Ctx, c: Correction) -> int | None:
    """Add a missed crisis to the safety screen's lessons file (read on top of safety.yml)."""
    live = overrides.read_effective(ctx.state.settings, overrides.SAFETY, overrides.ALL_DESKS)
    try:
        text = overrides.add_to_list(live, tuple(c.target.split(".")), c.example, header=SAFETY_LESSONS_HEADER)
    except overrides.CatalogueInvalid as exc:
        raise HttpError(409, f"安全筛查补充文件有误，请在编辑器中修正：{exc}") from None
    if text is None:  # taught before
        return None
    comment = f"工单 {c.ticket_number} 的安全筛查纠正：加入漏判的危机"
    return _publish(
        ctx, overrides.SAFETY, overrides.ALL_DESKS, text, comment, {"list": c.target, "lesson_event": c.event_id}
    )


@page("catalogue")
def teach(ctx: Ctx) -> Response:
    """POST: add the request (masked) where the correction says, as a new version of the file."""
    correction = _load(ctx)
    if correction.kind is LessonKind.SAFETY and correction.target == NOT_TAUGHT:
        raise HttpError(409, "误报只记录，不作为反例学习：反例会让与它相似的真实危机也不再被识别。请选“已阅”。")
    if correction.kind is LessonKind.SAFETY:
        version = _teach_safety(ctx, correction)
    else:
        version = _teach_category(ctx, correction)
    _record(ctx, correction, LessonDecision.TAUGHT, version)
    return ctx.redirect("/console/catalogue/corrections", ok="lesson_taught")


@page("catalogue")
def dismiss(ctx: Ctx) -> Response:
    """POST: close the correction without changing any file."""
    correction = _load(ctx)
    _record(ctx, correction, LessonDecision.DISMISSED, None)
    return ctx.redirect("/console/catalogue/corrections", ok="lesson_dismissed")
