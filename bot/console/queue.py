"""The queue: the tickets of one's desks, crisis and urgent first, then by the nearest SLA deadline.

Why this order: a crisis must never wait behind routine work ("an emergency mechanism so urgent
matters are handled first"), and among equals the promise that runs out first goes first. The
deadline is the first-response deadline until a staff member replied, then the resolution deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from starlette.datastructures import QueryParams
from starlette.responses import Response

from bot.console import overrides
from bot.console.accounts import StaffMember
from bot.console.labels import ROUTE, STATUS
from bot.console.web import Ctx, page
from bot.db.engine import READ_ONLY
from bot.settings import Settings
from bot.tickets.models import Ticket

PAGE_SIZE = 50
OPEN_STATUSES = ("new", "in_progress", "waiting_for_person")
_NUMBER_LIKE = re.compile(r"^[0-9A-Za-z_-]{3,40}$")

PRIORITY_RANK = case(
    (Ticket.route == "crisis", 0),
    (Ticket.priority == "urgent", 1),
    (Ticket.priority == "high", 2),
    else_=3,
)
DEADLINE = case(
    (Ticket.first_response_at.is_(None), Ticket.sla_first_response_due),
    else_=Ticket.sla_resolution_due,
)


@dataclass(frozen=True)
class QueueFilter:
    """What the staff member asked to see (validated; unknown values fall back to the default)."""

    desks: tuple[str, ...]
    status: str = "open"  # open | all | one status word
    category: str = ""
    route: str = ""
    mine: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: QueryParams, member: StaffMember) -> QueueFilter:
        desk = params.get("desk", "")
        desks = (desk,) if desk in member.desks else member.desks
        status = params.get("status", "open")
        if status not in ("open", "all") and status not in STATUS:
            status = "open"
        route = params.get("route", "")
        try:
            page_no = max(1, min(10_000, int(params.get("page", "1"))))
        except ValueError:
            page_no = 1
        return cls(
            desks=desks,
            status=status,
            category=params.get("category", "")[:80],
            route=route if route in ROUTE else "",
            mine=params.get("mine") == "1",
            q=params.get("q", "").strip()[:100],
            page=page_no,
        )

    def query_string(self, **override: object) -> str:
        """Links of the pager keep the filters."""
        from urllib.parse import urlencode

        values: dict[str, object] = {
            "desk": self.desks[0] if len(self.desks) == 1 else "",
            "status": self.status,
            "category": self.category,
            "route": self.route,
            "mine": "1" if self.mine else "",
            "q": self.q,
            "page": self.page,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def filtered(stmt: Select[Any], f: QueueFilter, username: str) -> Select[Any]:
    stmt = stmt.where(Ticket.desk.in_(f.desks))
    if f.status == "open":
        stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES))
    elif f.status != "all":
        stmt = stmt.where(Ticket.status == f.status)
    if f.category:
        stmt = stmt.where(Ticket.category == f.category)
    if f.route:
        stmt = stmt.where(Ticket.route == f.route)
    if f.mine:
        stmt = stmt.where(Ticket.assignee == username)
    if f.q:
        text_match = Ticket.summary_redacted.contains(f.q, autoescape=True)
        if _NUMBER_LIKE.match(f.q):
            stmt = stmt.where(or_(Ticket.number.contains(f.q, autoescape=True), text_match))
        else:
            stmt = stmt.where(text_match)
    return stmt


def queue_page(ctx: Ctx, f: QueueFilter) -> tuple[list[Ticket], int, list[str]]:
    """One page of the queue, the total, and the categories present (for the filter menu)."""
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        total = session.scalar(filtered(select(func.count(Ticket.id)), f, ctx.member.username)) or 0
        stmt = (
            filtered(select(Ticket), f, ctx.member.username)
            .order_by(PRIORITY_RANK, DEADLINE.is_(None), DEADLINE, Ticket.created_at, Ticket.id)
            .offset((f.page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
        rows = list(session.scalars(stmt))
        categories = [
            c
            for c in session.scalars(
                select(Ticket.category).where(Ticket.desk.in_(f.desks), Ticket.category.is_not(None)).distinct()
            )
            if c
        ]
    return rows, int(total), sorted(categories)


def deadline(ticket: Ticket) -> datetime | None:
    """The deadline the queue sorts by (see the module docstring)."""
    return ticket.sla_first_response_due if ticket.first_response_at is None else ticket.sla_resolution_due


@page("queue")
def queue(ctx: Ctx) -> Response:
    """The queue page with its filters and search."""
    f = QueueFilter.from_query(ctx.request.query_params, ctx.member)
    rows, total, categories = queue_page(ctx, f)
    if f.q:
        ctx.state.store.log_staff_action(
            staff_user=ctx.member.username, action="search", details={"q_chars": len(f.q), "results": total}
        )
    pages = max(1, -(-total // PAGE_SIZE))
    names = category_names(ctx.state.settings, f.desks)
    return ctx.render(
        "queue.html",
        f=f,
        rows=rows,
        total=total,
        pages=pages,
        categories=categories,
        now=ctx.state.now(),
        deadline=deadline,
        statuses=STATUS,
        routes=ROUTE,
        category_names=names,
        suggestions=ctx.state.suggester.for_tickets(rows),
    )


def category_names(settings: Settings, desks: tuple[str, ...]) -> dict[str, str]:
    """Category id -> name from the live catalogues (ids stay the contract; people read names)."""
    return {c["id"]: c["name"] for desk in desks for c in overrides.categories(settings, desk)}
