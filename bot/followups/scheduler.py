"""The return-visit scheduler and the SLA watch.

Every run (`run_once`, called periodically by `runtime.FollowUpService`):

* for each due follow-up (`TicketStore.due_follow_ups`): ask the person once whether the matter was
  solved (buttons 已解决 / 未解决; a crisis gets a gentle "are you better?" instead), then record the
  attempt so the same question is not sent again; if nobody answers within `answer_window_hours`
  the visit ends with `no_answer` and the store closes the ticket;
* for each missed SLA deadline (`TicketStore.overdue_tickets`): log a warning and call the staff
  alert hook, at most once per `realert_hours` per ticket and deadline.

`send(conversation_id, text, buttons)` puts a message into the person's conversation (the gateway's
outbound queue in the app); it raises `Unreachable` when the conversation no longer exists. Any
other error is transient: the claim is given back and the visit is tried on the next run.

Several instances: only the leader runs the scheduler (bot/followups/runtime.py), and each visit is
claimed in the database before its question is sent (`TicketStore.claim_follow_up`: its due time
moves `claim_minutes` ahead, on the condition nobody took it first), so two instances never send one
question twice, even during a leader hand-over. The attempt is recorded after the send; a crash
in between asks again once the claim has run out. The SLA re-alert memory is in the database too
(`ticket_sla_alerts`), so a new leader does not alert again what the old one just did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.followups.answers import solved_buttons
from bot.intake.hours import CHINA_TZ
from bot.voice import is_youth

if TYPE_CHECKING:
    from bot.tickets.models import FollowUp, Ticket
    from bot.tickets.repository import Overdue, TicketStore

log = logging.getLogger(__name__)

Send = Callable[[str, str, list[dict[str, str]]], Awaitable[Any]]
Alert = Callable[[str, str], Awaitable[Any]]
KEEP_ASKING = 1_000_000
"""`max_attempts` given to the store while a visit waits for the answer: never close on a send."""


class Unreachable(Exception):
    """The conversation of a ticket cannot be written to any more (unknown to the gateway)."""


@dataclass
class RunReport:
    asked: int = 0
    closed_no_answer: int = 0
    unreachable: int = 0
    failed: int = 0
    overdue: int = 0
    alerted: int = 0
    errors: list[str] = field(default_factory=list)


def _short(text: str, limit: int = 30) -> str:
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return first[:limit] + "…" if len(first) > limit else first


def follow_up_text(ticket: Ticket, language: str = "zh-Hans") -> str:
    """The question of a return visit, in the desk's voice and the conversation's language."""
    youth = is_youth(ticket.desk)
    if language == "en":
        if ticket.route == "crisis":
            if youth:
                return "Hi, it's the 12355 youth service hotline. Just checking in: how have you been? Are things any better?"
            return f"Hello, this is a follow-up call from the {ticket.desk} hotline. How have you been? Are things any better?"
        if youth:
            return (
                f"Hi, it's the 12355 youth service hotline following up: the counsellor has dealt with ticket "
                f"{ticket.number} you told us about. Is it sorted now?"
            )
        return (
            f"Hello, this is a follow-up from the {ticket.desk} hotline. Staff have finished handling ticket "
            f"{ticket.number}. Has the problem been solved?"
        )
    if ticket.route == "crisis":
        if youth:
            return "你好，这里是12355青少年服务台。想问问你最近还好吗？之前的事情有没有好一些？"
        return f"您好，这里是{ticket.desk}热线回访。想问问您最近还好吗？之前的事情有没有好一些？"
    matter = _short(ticket.summary_redacted)
    if youth:
        return (
            f"你好呀，这里是12355青少年服务台的回访～你之前说的「{matter}」（工单 {ticket.number}），"
            "老师已经处理了。现在解决了吗？"
        )
    return (
        f"您好，这里是{ticket.desk}热线回访。您反映的「{matter}」（工单 {ticket.number}）工作人员已处理完毕。"
        "请问问题解决了吗？"
    )


def overdue_text(item: Overdue, now: datetime) -> str:
    ticket = item.ticket
    what = "首次回复" if item.deadline == "first_response" else "办结"
    late = item.overdue_by
    hours = late.total_seconds() / 3600
    late_words = f"{int(late.total_seconds() // 60)}分钟" if hours < 1 else f"{hours:.1f}小时"
    due = item.due_at.astimezone(CHINA_TZ)
    urgent = "【紧急】" if ticket.priority == "urgent" else ""
    return (
        f"【超时提醒】{urgent}{ticket.desk}服务台 工单 {ticket.number}：{what}期限 {due:%m-%d %H:%M} 已超时"
        f"{late_words}，当前状态 {ticket.status}。请值班人员尽快处理。"
    )


class FollowUpScheduler:
    """Asks due return visits and raises SLA alerts; `run_once` is safe to call repeatedly."""

    def __init__(
        self,
        store: TicketStore,
        send: Send,
        alert: Alert | None = None,
        *,
        language_of: Callable[[str], str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_asks: int = 1,
        answer_window_hours: float = 48.0,
        realert_hours: float = 4.0,
        batch: int = 100,
        claim_minutes: float = 10.0,
    ) -> None:
        self.store = store
        self.send = send
        self.alert = alert
        self.language_of = language_of  # conversation id -> its language (the gateway's); None: Chinese
        self.clock = clock
        self.max_asks = max_asks
        self.answer_window_hours = answer_window_hours
        self.realert = timedelta(hours=realert_hours)
        self.batch = batch
        self.claim = timedelta(minutes=claim_minutes)

    async def run_once(self, now: datetime | None = None) -> RunReport:
        now = now or self.clock()
        report = RunReport()
        try:
            due = await asyncio.to_thread(self.store.due_follow_ups, now, limit=self.batch)
        except Exception as exc:
            log.exception("could not read the due follow-ups")
            report.errors.append(f"due_follow_ups: {type(exc).__name__}")
            due = []
        for visit in due:
            await self._visit(visit, report, now)
        await self._watch_sla(now, report)
        if report.asked or report.closed_no_answer or report.alerted:
            log.info("follow-ups: %s", report)
        return report

    async def _visit(self, visit: FollowUp, report: RunReport, now: datetime) -> None:
        try:
            ticket = await asyncio.to_thread(self.store.get, visit.ticket_id)
            if visit.attempts >= self.max_asks:
                await self._close(visit, "no answer in time")
                report.closed_no_answer += 1
                return
            if not await asyncio.to_thread(self.store.claim_follow_up, visit, now, now + self.claim):
                return  # another instance took it (or it is no longer due)
            try:
                language = self.language_of(ticket.conversation_id) if self.language_of else "zh-Hans"
                await self.send(
                    ticket.conversation_id,
                    follow_up_text(ticket, language),
                    solved_buttons(ticket.id, crisis=ticket.route == "crisis", language=language),
                )
            except Unreachable:
                await self._close(visit, "conversation unreachable")
                report.unreachable += 1
                return
            except Exception:
                await asyncio.to_thread(self.store.unclaim_follow_up, visit, now)  # due again on the next run
                raise
            await asyncio.to_thread(
                self.store.record_follow_up_outcome,
                visit.id,
                "no_answer",
                actor="followup",
                retry_after_hours=self.answer_window_hours,
                max_attempts=KEEP_ASKING,
            )
            report.asked += 1
        except Exception as exc:  # one broken visit must not stop the others; it stays due
            log.exception("follow-up %s failed; it is tried again on the next run", getattr(visit, "id", "?"))
            report.failed += 1
            report.errors.append(f"follow_up {getattr(visit, 'id', '?')}: {type(exc).__name__}")

    async def _close(self, visit: FollowUp, why: str) -> None:
        log.info("follow-up %s ends without an answer (%s)", visit.id, why)
        await asyncio.to_thread(
            self.store.record_follow_up_outcome,
            visit.id,
            "no_answer",
            actor="followup",
            retry_after_hours=self.answer_window_hours,
            max_attempts=visit.attempts + 1,
        )

    async def _watch_sla(self, now: datetime, report: RunReport) -> None:
        try:
            overdue = await asyncio.to_thread(self.store.overdue_tickets, now)
        except Exception as exc:
            log.exception("could not read the overdue tickets")
            report.errors.append(f"overdue_tickets: {type(exc).__name__}")
            return
        report.overdue = len(overdue)
        current: set[tuple[int, str]] = set()
        for item in overdue:
            key: tuple[int, str] = (item.ticket.id, item.deadline)
            current.add(key)
            try:
                due = await asyncio.to_thread(self.store.claim_sla_alert, key[0], key[1], now, self.realert)
            except Exception as exc:
                log.exception("could not record the SLA alert of ticket %s", item.ticket.number)
                report.errors.append(f"sla memory {item.ticket.number}: {type(exc).__name__}")
                continue
            if not due:
                continue
            text = overdue_text(item, now)
            log.warning("SLA missed: %s", text)
            report.alerted += 1
            if self.alert is not None:
                try:
                    await self.alert(item.ticket.desk, text)
                except Exception as exc:
                    log.exception("staff alert for ticket %s failed", item.ticket.number)
                    report.errors.append(f"alert {item.ticket.number}: {type(exc).__name__}")
        try:  # handled tickets leave the watch list
            await asyncio.to_thread(self.store.forget_sla_alerts, current)
        except Exception as exc:
            log.exception("could not forget the SLA alerts of handled tickets")
            report.errors.append(f"sla memory: {type(exc).__name__}")

    async def run_forever(self, interval_seconds: float) -> None:
        """Run every `interval_seconds` until cancelled; errors are logged, never fatal."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("follow-up run failed")
            await asyncio.sleep(interval_seconds)
