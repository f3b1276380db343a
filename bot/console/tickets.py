"""The ticket page and its actions: read the case, answer the person, move the ticket along.

Rules this module enforces, each for a reason:

* a ticket of a desk the staff member does not serve answers 404, exactly like a missing one (no
  existence oracle for ticket ids); a contact or follow-up id that is not this ticket's is 404 too;
* every view of the transcript is written to the staff audit log; the clear transcript and clear
  contacts need a reason and are audited (contacts twice: event + audit log, by the store);
* a reply is stored by the gateway for the person's channel (pushed at once to Telegram, polled by the
  web chat) and recorded on the ticket, whose first reply stops the first-response clock;
* every change goes through the TicketStore, which keeps the events and the first handler.
"""

from __future__ import annotations

import contextlib
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from bot.console import overrides
from bot.console.labels import OUTCOME, STATUS
from bot.console.web import Ctx, HttpError, not_found, page
from bot.privacy import mask
from bot.tickets.errors import InvalidTransition, TicketError, TicketNotFound
from bot.tickets.models import SafetyVerdict, Ticket
from bot.tickets.rules import TRANSITIONS
from bot.tickets.views import TranscriptLine

log = logging.getLogger(__name__)

CANNED_FILE = Path(__file__).resolve().parent / "canned_replies.yml"
MAX_REPLY_CHARS = 2000
MIN_REASON_CHARS = 4
STATUS_ORDER = list(STATUS)
NEEDS_REASON = {"closed", "declined", "referred"}


@lru_cache(maxsize=1)
def _canned() -> dict[str, list[dict[str, str]]]:
    data = yaml.safe_load(CANNED_FILE.read_text(encoding="utf-8")) or {}
    return {str(desk): list(items or []) for desk, items in data.items()}


def canned_replies(desk: str, number: str) -> list[dict[str, str]]:
    return [
        {"title": str(item["title"]), "text": str(item["text"]).replace("{number}", number)}
        for item in _canned().get(desk, [])
    ]


def load_ticket(ctx: Ctx) -> Ticket:
    """The ticket of the URL, only if it belongs to one of the staff member's desks."""
    try:
        ticket = ctx.state.store.get(int(ctx.request.path_params["ticket_id"]))
    except (TicketNotFound, ValueError, OverflowError):
        raise not_found() from None
    if not ctx.member.sees(ticket.desk):
        raise not_found()
    return ticket


def _reason(ctx: Ctx) -> str:
    reason = ctx.field("reason")
    if len(reason) < MIN_REASON_CHARS:
        raise HttpError(400, f"请填写理由（至少{MIN_REASON_CHARS}个字），它会写入审计日志。")
    return reason[:1000]


def render_ticket(
    ctx: Ctx,
    ticket: Ticket,
    *,
    error: str | None = None,
    status: int = 200,
    transcript: list[TranscriptLine] | None = None,
    revealed_contacts: dict[int, str] | None = None,
) -> Response:
    """The ticket page; `transcript` is the clear one when staff just revealed it (already audited)."""
    store = ctx.state.store
    clear = transcript is not None
    if transcript is None:
        transcript = store.transcript(ticket.id, masked=True)
        store.log_staff_action(staff_user=ctx.member.username, action="transcript_viewed", ticket_id=ticket.id)
    gateway = getattr(ctx.request.app.state, "gateway", None)
    conversation = gateway.conversation(ticket.conversation_id) if gateway is not None else None
    undelivered = gateway.store.undeliverable(ticket.conversation_id) if gateway is not None and conversation else []
    holder = ticket.assignee
    return ctx.render(
        "ticket.html",
        status=status,
        ticket=ticket,
        error=error,
        transcript=transcript,
        clear_transcript=clear,
        events=store.events(ticket.id),
        contacts=store.contacts(ticket.id),
        revealed_contacts=revealed_contacts or {},
        follow_ups=store.follow_ups(ticket.id),
        rating=store.rating(ticket.id),
        colleagues=ctx.state.accounts.colleagues(ticket.desk),
        categories=overrides.categories(ctx.state.settings, ticket.desk),
        canned=canned_replies(ticket.desk, ticket.number),
        transitions=[s for s in STATUS_ORDER if s in TRANSITIONS[ticket.status]],
        needs_reason=NEEDS_REASON,
        outcomes=OUTCOME,
        conversation=conversation,
        undelivered=undelivered,
        language=_language(conversation),
        can_claim=holder is None or (holder != ctx.member.username and ctx.member.can("assign_any")),
        can_transfer=holder is not None and (holder == ctx.member.username or ctx.member.can("assign_any")),
        signals=_signals(ticket.triage_signals, masked=not clear),
        suggestions=ctx.state.suggester.for_tickets([ticket]).get(ticket.id, []),
        now=ctx.state.now(),
    )


def _language(conversation: Any) -> dict[str, str] | None:
    """The conversation's language for staff: its code, its label, and what a reply needs."""
    if conversation is None:
        return None
    from bot import language as lang

    code = lang.normalise_language(getattr(conversation, "language", None))
    hints = {
        lang.ENGLISH: "对方用英文交流，请用英文回复。",
        lang.TRADITIONAL: "对方使用繁体中文，回复会自动转为繁体后发送。",
    }
    return {"code": code, "label": lang.label(code), "hint": hints.get(code, "")}


def _signals(signals: dict[str, Any] | None, *, masked: bool = True) -> list[tuple[str, str]]:
    """The triage decision's reasons as (key, value) lines; long values are shortened, not hidden.

    The form's answers live here too (`where`, `who`, `callback_time`, as the person typed them), so the
    masked view masks every value like the transcript; they are shown clear only with the revealed
    transcript (a reason given and audited).
    """
    lines = []
    for key, value in (signals or {}).items():
        text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        if masked:
            text = mask(text)
        lines.append((str(key), text if len(text) <= 400 else text[:400] + "…"))
    return lines


def _refuse(ctx: Ctx, ticket: Ticket, exc: Exception, status: int = 409) -> Response:
    return render_ticket(ctx, ctx.state.store.get(ticket.id), error=f"操作未完成：{exc}", status=status)


@page("queue")
def ticket_page(ctx: Ctx) -> Response:
    """GET: the ticket, masked transcript (view audited), decision, history and the action forms."""
    return render_ticket(ctx, load_ticket(ctx))


@page("reveal")
def reveal_transcript(ctx: Ctx) -> Response:
    """POST: show the transcript unmasked once, with a reason in the audit log."""
    ticket = load_ticket(ctx)
    reason = _reason(ctx)
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username, action="transcript_revealed", ticket_id=ticket.id, reason=reason
    )
    return render_ticket(ctx, ticket, transcript=ctx.state.store.transcript(ticket.id, masked=False))


@page("reveal")
def reveal_contact(ctx: Ctx) -> Response:
    """POST: one contact in clear, for this staff member, with a reason (the store audits it)."""
    ticket = load_ticket(ctx)
    try:
        contact_id = int(ctx.request.path_params["contact_id"])
    except (ValueError, OverflowError):
        raise not_found() from None
    if contact_id not in {c.id for c in ctx.state.store.contacts(ticket.id)}:
        raise not_found()
    reason = _reason(ctx)
    value = ctx.state.store.reveal_contact(contact_id, staff_user=ctx.member.username, reason=reason)
    return render_ticket(ctx, ticket, revealed_contacts={contact_id: value})


@page("claim")
def claim(ctx: Ctx) -> Response:
    """POST: take the ticket. An agent takes only unassigned tickets; a supervisor may take over."""
    ticket = load_ticket(ctx)
    me = ctx.member.username
    try:
        if ticket.assignee is None:
            ctx.state.store.assign(ticket.id, assignee=me, actor=me)
        elif ticket.assignee == me:
            pass
        elif ctx.member.can("assign_any"):
            ctx.state.store.transfer(ticket.id, assignee=me, actor=me, reason="班长接手")
        else:
            raise HttpError(409, f"这个工单已由 {ticket.assignee} 处理；如需接手请联系班长。")
    except TicketError as exc:
        return _refuse(ctx, ticket, exc)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="claimed")


@page("claim")
def assign(ctx: Ctx) -> Response:
    """POST: assign (supervisor) or transfer (holder or supervisor) to a colleague and/or a department."""
    ticket = load_ticket(ctx)
    me = ctx.member
    target = ctx.field("assignee")
    department = ctx.field("department")[:120] or None
    if not target and not department:
        return render_ticket(ctx, ticket, error="请选择同事或填写部门。", status=400)
    if target and target not in {c.username for c in ctx.state.accounts.colleagues(ticket.desk)}:
        return render_ticket(ctx, ticket, error="只能转给本服务台在岗的同事。", status=400)
    assignee = target or str(department)
    try:
        if ticket.assignee is None:
            if not me.can("assign_any") and assignee != me.username:
                raise HttpError(403, "坐席只能认领自己的工单；分派给他人请联系班长。")
            ctx.state.store.assign(ticket.id, assignee=assignee, actor=me.username, department=department)
            ok = "assigned"
        else:
            if ticket.assignee != me.username and not me.can("assign_any"):
                raise HttpError(403, "只有当前处理人或班长可以转办这个工单。")
            ctx.state.store.transfer(
                ticket.id, assignee=assignee, actor=me.username, reason=_reason(ctx), department=department
            )
            ok = "transferred"
    except TicketError as exc:
        return _refuse(ctx, ticket, exc)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok=ok)


@page("queue")
def change_status(ctx: Ctx) -> Response:
    """POST: move along the workflow; closing, declining and referring need a reason."""
    ticket = load_ticket(ctx)
    new = ctx.field("status")
    if new not in STATUS:
        return render_ticket(ctx, ticket, error="未知的状态。", status=400)
    reason = ctx.field("reason")[:1000] or None
    if new in NEEDS_REASON and (reason is None or len(reason) < MIN_REASON_CHARS):
        return render_ticket(ctx, ticket, error=f"改为“{STATUS[new]}”需要填写理由。", status=400)
    try:
        ctx.state.store.change_status(ticket.id, new, actor=ctx.member.username, reason=reason)
    except InvalidTransition:
        current = ctx.state.store.get(ticket.id)
        message = f"不能从“{STATUS[current.status]}”改为“{STATUS[new]}”。"
        return render_ticket(ctx, current, error=message, status=409)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="status")


@page("queue")
def change_category(ctx: Ctx) -> Response:
    """POST: correct the category (the old one stays in the events: material for classifier review)."""
    ticket = load_ticket(ctx)
    chosen = ctx.field("category")
    known = {c["id"]: c for c in overrides.categories(ctx.state.settings, ticket.desk)}
    if chosen and chosen not in known:
        return render_ticket(ctx, ticket, error="这个服务台没有该分类。", status=400)
    level1 = known[chosen]["category_l1"] or None if chosen else None
    ctx.state.store.change_category(ticket.id, category=chosen or None, category_l1=level1, actor=ctx.member.username)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="category")


@page("queue")
def safety_feedback(ctx: Ctx) -> Response:
    """POST: the safety screen was wrong here (a false alarm, or a missed crisis): recorded for review."""
    ticket = load_ticket(ctx)
    verdict = ctx.field("verdict")
    crisis = ticket.route == "crisis"
    expected = SafetyVerdict.FALSE_ALARM.value if crisis else SafetyVerdict.MISSED_CRISIS.value
    if verdict != expected:
        return render_ticket(ctx, ticket, error="这张工单不能这样反馈。", status=400)
    ctx.state.store.record_safety_feedback(ticket.id, verdict=verdict, actor=ctx.member.username)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="safety_feedback")


@page("queue")
def add_note(ctx: Ctx) -> Response:
    """POST: an internal note (never sent to the person)."""
    ticket = load_ticket(ctx)
    text = ctx.field("text")
    if not text or len(text) > 5000:
        return render_ticket(ctx, ticket, error="备注不能为空，且不超过5000字。", status=400)
    ctx.state.store.add_note(ticket.id, actor=ctx.member.username, text=text)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="note")


@page("queue")
async def reply(ctx: Ctx) -> Response:
    """POST: answer the person on their channel, then record the reply on the ticket."""
    ticket = await run_in_threadpool(load_ticket, ctx)
    text = ctx.field("text")
    if not text or len(text) > MAX_REPLY_CHARS:
        return await run_in_threadpool(
            render_ticket, ctx, ticket, error=f"回复不能为空，且不超过{MAX_REPLY_CHARS}字。", status=400
        )
    gateway = getattr(ctx.request.app.state, "gateway", None)
    if gateway is None:
        return await run_in_threadpool(render_ticket, ctx, ticket, error="网关未运行，无法送达。", status=503)
    try:
        await run_in_threadpool(gateway.staff_reply, ticket.conversation_id, text, ctx.member.username)
    except KeyError:
        error = "找不到这位群众的会话（例如导入的历史工单），回复无法送达，未记录。"
        return await run_in_threadpool(render_ticket, ctx, ticket, error=error, status=409)
    except ValueError as exc:
        return await run_in_threadpool(render_ticket, ctx, ticket, error=str(exc), status=400)
    deliver = getattr(ctx.request.app.state, "deliver_staff_message", None)
    if deliver is not None:
        try:
            await deliver(ticket.conversation_id, text)
        except Exception:  # the message stays stored for the channel; staff see the ticket as replied
            log.exception("push of a staff reply failed; it stays queued in the gateway")
    await run_in_threadpool(
        lambda: ctx.state.store.record_staff_reply(ticket.id, staff_user=ctx.member.username, text=text)
    )
    if ctx.field("then") == "wait":
        with contextlib.suppress(InvalidTransition):
            await run_in_threadpool(
                lambda: ctx.state.store.change_status(
                    ticket.id, "waiting_for_person", actor=ctx.member.username, reason="已回复，等待群众"
                )
            )
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="reply")


@page("queue")
def handoff(ctx: Ctx) -> Response:
    """POST: a human takes the conversation over (the bot stays quiet) or hands it back."""
    ticket = load_ticket(ctx)
    target = ctx.field("to")
    gateway = getattr(ctx.request.app.state, "gateway", None)
    if target not in ("staff", "bot") or gateway is None or gateway.conversation(ticket.conversation_id) is None:
        return render_ticket(ctx, ticket, error="无法切换：会话不存在。", status=409)
    gateway.set_handoff(ticket.conversation_id, target == "staff", "staff" if target == "staff" else None)
    ctx.state.store.log_staff_action(staff_user=ctx.member.username, action=f"handoff_{target}", ticket_id=ticket.id)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok=f"handoff_{target}")


@page("queue")
def follow_up_outcome(ctx: Ctx) -> Response:
    """POST: the result of a return visit (solved closes, not solved reopens, no answer retries)."""
    ticket = load_ticket(ctx)
    try:
        follow_up_id = int(ctx.request.path_params["follow_up_id"])
    except (ValueError, OverflowError):
        raise not_found() from None
    if follow_up_id not in {f.id for f in ctx.state.store.follow_ups(ticket.id)}:
        raise not_found()
    outcome = ctx.field("outcome")
    if outcome not in OUTCOME:
        return render_ticket(ctx, ticket, error="请选择回访结果。", status=400)
    try:
        ctx.state.store.record_follow_up_outcome(follow_up_id, outcome, actor=ctx.member.username)
    except TicketError as exc:
        return _refuse(ctx, ticket, exc)
    return ctx.redirect(f"/console/tickets/{ticket.id}", ok="follow_up")
