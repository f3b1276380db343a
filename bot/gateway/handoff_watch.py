"""Who is coming, in staff hours: a handoff nobody acknowledges changes what the person is told.

In staff hours the crisis answer says a person has been alerted, and 转人工 says staff will join. When a
handoff begins in staff hours the gateway starts a watch on the conversation (`gw_conversations.watch_since`,
`watch_due_at`): `FRONTDOOR_CRISIS_ACK_MINUTES` (5) for a crisis, `FRONTDOOR_HANDOFF_ACK_MINUTES` (10)
for an ordinary handoff. A staff member acknowledges it by claiming (or being assigned) a ticket of the
conversation, replying from the console, or taking the conversation over (`Gateway.set_handoff(...,
"staff")`, which also tells the person that someone has joined). If none of that happened by the due
time, the person gets one message, through the outbound queue like every proactive message:

- crisis: staff have not been able to join yet; 12356 (24 h) and 110/120 first; the bot stays with
  them; and the alert is escalated to the on-call chat (and the staff chat again);
- 转人工: nobody could pick up yet; keep waiting, or leave the matter as a ticket with a time that
  suits them for a call back (buttons; "留言登记" hands the conversation back to the bot to take it down).

Out of staff hours no watch starts: the answer already said staff are offline and when they are back.
Once per handoff: the watch is ended with a conditional update before the message is queued, and
`run_once` runs inside the follow-up scheduler under its leader lease (bot/followups/runtime.py), so
several instances never send it twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.gateway.alerts import unacknowledged_line
from bot.gateway.models import as_utc
from bot.intake.hours import back_on_duty
from bot.language import is_english
from bot.privacy import mask
from bot.voice import is_youth, you

if TYPE_CHECKING:
    from bot.gateway.service import Gateway

log = logging.getLogger(__name__)

SOURCE = "handoff_wait"
"""Outbound source of the message that nobody has joined yet."""
JOINED_SOURCE = "staff_joined"
"""Outbound source of the message that a staff member has joined."""
LEAVE_TICKET = "/leave_ticket"
KEEP_WAITING = "/keep_waiting"
"""Payloads of the buttons offered after an unanswered 转人工; the gateway answers them itself."""
ACKNOWLEDGING_EVENTS = ("assigned", "transferred", "reply_sent")
"""Ticket events that show a staff member has taken the matter up (claim, assignment, reply)."""


def crisis_unanswered(desk: str, language: str, back_at: str | None = None) -> str:
    """A crisis alert nobody acknowledged: the truth, the numbers first, the bot stays."""
    if is_english(language):
        who = "a counsellor" if is_youth(desk) else "a member of staff"
        later = (
            f"Staff have now gone off duty; they will read everything here when they are back at {back_at}."
            if back_at
            else f"I have alerted them again, and {who} will join as soon as one can."
        )
        return (
            f"I'm sorry: {who} has not been able to join yet. Please call 12356 now, the psychological "
            "assistance hotline (24 hours); if you are in danger, call 110 or 120 straight away. "
            f"I'm staying here with you and will keep answering. {later}"
        )
    who = "老师" if is_youth(desk) else "工作人员"
    later = (
        f"{who}现在已经下班，{back_at}上班后会第一时间看到这里的话。"
        if back_at
        else f"我已经再次通知{who}，一有人空下来就会接入。"
    )
    return (
        f"对不起，{who}暂时还没能接入。请先拨打12356心理援助热线（24小时）；如果有危险，请马上拨打110或120。"
        f"我会一直在这里陪着{you(desk)}、回复{you(desk)}。{later}"
    )


def handoff_unanswered(desk: str, language: str, back_at: str | None = None) -> tuple[str, list[dict[str, str]]]:
    """An ordinary 转人工 nobody picked up: keep waiting, or leave it as a ticket with a callback time."""
    if is_english(language):
        who = "counsellors" if is_youth(desk) else "staff"
        wait = f"they will be back at {back_at}" if back_at else f"{who} will reply here when one is free"
        text = (
            f"I'm sorry, none of our {who} has been able to pick up yet. You can keep waiting ({wait}), or "
            "leave your matter with me as a ticket, with a time that suits you for a call back."
        )
        return text, [
            {"title": "Leave it as a ticket", "payload": LEAVE_TICKET},
            {"title": "Keep waiting", "payload": KEEP_WAITING},
        ]
    who = "老师" if is_youth(desk) else "工作人员"
    wait = f"{who}{back_at}上班后会回复" if back_at else f"{who}一有空会在这里回复"
    text = (
        f"抱歉，{who}暂时都在忙，还没能接入。{you(desk)}可以继续等（{wait}）；"
        f"也可以把事情留给我登记成工单，并说一个方便回电的时间。"
    )
    return text, [{"title": "留言登记", "payload": LEAVE_TICKET}, {"title": "继续等待", "payload": KEEP_WAITING}]


def leave_ticket_prompt(desk: str, language: str) -> str:
    """After "留言登记": the bot has the conversation back and takes the matter down."""
    if is_english(language):
        return (
            "All right. Tell me what the matter is (what happened and where), and when it suits you to be "
            "called back; I'll register it as a ticket for staff."
        )
    return f"好的。请说说{you(desk)}要反映的事情（什么事、在哪里），再说一个方便回电的时间，我帮{you(desk)}登记成工单交给工作人员。"


def keep_waiting(desk: str, language: str) -> str:
    if is_english(language):
        return "All right, your conversation stays with staff; someone will reply here as soon as they can."
    who = "老师" if is_youth(desk) else "工作人员"
    return f"好的，对话继续留给{who}，有人空下来会马上在这里回复{you(desk)}。紧急情况请拨打110/120。"


def staff_joined(desk: str, language: str) -> str:
    """A staff member has taken the conversation over."""
    if is_english(language):
        who = "A counsellor" if is_youth(desk) else "A member of staff"
        return f"{who} has joined the conversation and will talk with you from here."
    if is_youth(desk):
        return "老师已经接入了，接下来由老师和你聊。"
    return "工作人员已接入对话，接下来由工作人员为您服务。"


def acknowledged(engine: Engine, conversation_id: str, since: datetime) -> bool:
    """Has a staff member claimed a ticket of the conversation, been assigned one or replied on one since
    `since`, or taken the conversation over (a take-over ends the watch at once)?"""
    from bot.tickets.models import Event, Ticket

    with Session(engine) as session:
        found = session.scalar(
            select(Event.id)
            .join(Ticket, Ticket.id == Event.ticket_id)
            .where(
                Ticket.conversation_id == conversation_id,
                Event.kind.in_(ACKNOWLEDGING_EVENTS),
                Event.at >= since,
            )
            .limit(1)
        )
    return found is not None


def crisis_ticket(engine: Engine, conversation_id: str) -> str | None:
    """The newest crisis ticket of the conversation (its number goes into the escalation), if any."""
    from bot.tickets.models import Ticket

    with Session(engine) as session:
        number = session.scalar(
            select(Ticket.number)
            .where(Ticket.conversation_id == conversation_id, Ticket.route == "crisis")
            .order_by(Ticket.id.desc())
            .limit(1)
        )
    return str(number) if number else None


@dataclass
class WatchReport:
    followed_up: int = 0
    acknowledged: int = 0
    escalated: int = 0
    failed: int = 0


class HandoffWatch:
    """Follows up the handoffs nobody acknowledged; `run_once(now)` is safe to call repeatedly."""

    def __init__(self, engine: Engine, gateway: Gateway) -> None:
        self.engine = engine
        self.gateway = gateway

    async def run_once(self, now: datetime) -> WatchReport:
        report = WatchReport()
        store = self.gateway.store
        for conversation in await asyncio.to_thread(store.due_watches, now):
            cid, due = conversation.id, conversation.watch_due_at
            assert due is not None
            try:
                since = as_utc(conversation.watch_since or due)
                crisis = conversation.handoff_reason == "crisis"
                acked = (
                    not conversation.handoff
                    or conversation.handoff_reason == "staff"
                    or await asyncio.to_thread(store.staff_wrote_since, cid, since)
                    or await asyncio.to_thread(acknowledged, self.engine, cid, since)
                )
                if not await asyncio.to_thread(store.claim_watch, cid, due):
                    continue  # another instance ended it first
                if acked:
                    report.acknowledged += 1
                    continue
                await self._follow_up(conversation.desk, cid, crisis, since, now, report, due)
            except Exception:  # one broken watch must not stop the others
                log.exception("handoff watch of %s failed", mask(cid))
                report.failed += 1
        if report.followed_up or report.failed:
            log.info("handoff watch: %s", report)
        return report

    async def _follow_up(
        self, desk: str, cid: str, crisis: bool, since: datetime, now: datetime, report: WatchReport, due: datetime
    ) -> None:
        language = await asyncio.to_thread(self.gateway.language, cid)
        back = back_on_duty(desk, language, at=now)
        buttons: list[dict[str, str]] = []
        if crisis:
            text = crisis_unanswered(desk, language, back)
        else:
            text, buttons = handoff_unanswered(desk, language, back)
        try:
            await asyncio.to_thread(self.gateway.enqueue, cid, text, SOURCE, buttons)
        except Exception:
            await asyncio.to_thread(self.gateway.store.rearm_watch, cid, due)  # tried again on the next run
            raise
        report.followed_up += 1
        minutes = max(1, round((now - since).total_seconds() / 60))
        ticket = await asyncio.to_thread(crisis_ticket, self.engine, cid) if crisis else None
        line = unacknowledged_line(desk, minutes, ticket, crisis=crisis)
        if crisis:
            await self.gateway.alerts.escalate(desk, line)
            report.escalated += 1
        else:
            await self.gateway.notify_staff(desk, line)
