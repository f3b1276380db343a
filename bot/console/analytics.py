"""Analytics: what supervisors need to run the desk by its promises, not by a satisfaction score.

* volumes per day, desk, route and category;
* "every message answered": the share of inbound gateway messages that got a reply, and the first
  human response time of tickets against their SLA;
* time to the first human response of every crisis (ticket by ticket, "no response yet" included),
  with its median and p90;
* declined and referred requests by reason, with masked examples: they are signals too;
* satisfaction only over matters staff handled (ratings exist only for resolved tickets and crises;
  declined, referred and auto-closed records are excluded by construction), with the "solved" rate;
* hot-topic alerts from the last clustering run (the clustering itself lives on /console/topics).

Every figure is one GROUP BY or one narrow SELECT, so the page stays fast at 10,000+ tickets.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, String, and_, case, func, inspect, literal, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from bot.console.charts import bar_chart, hbar_chart
from bot.console.labels import ROUTE
from bot.console.web import Ctx, page
from bot.db.engine import READ_ONLY
from bot.gateway.models import Conversation, InboundMessage
from bot.privacy import mask
from bot.tickets.models import FollowUp, Rating, Ticket
from bot.tickets.rules import CHINA_TZ

HANDLED_ROUTES = ("ticket", "crisis")
EXAMPLES_PER_REASON = 3
PERIODS = (7, 30, 90, 365)


def china_day(dialect: str) -> ColumnElement[Any]:
    """The China calendar day of `created_at` as YYYY-MM-DD, in SQL (times are stored in UTC)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", Ticket.created_at), "YYYY-MM-DD")
    return func.date(Ticket.created_at, "+8 hours")


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@dataclass
class Figures:
    """Everything the analytics page shows for one set of desks and one period."""

    days: int
    start: datetime
    per_day: list[tuple[str, int]] = field(default_factory=list)
    per_desk: list[tuple[str, int]] = field(default_factory=list)
    per_route: list[tuple[str, int]] = field(default_factory=list)
    per_category: list[tuple[str, int]] = field(default_factory=list)
    inbound: dict[str, int] = field(default_factory=dict)
    first_response: dict[str, Any] = field(default_factory=dict)
    crises: dict[str, Any] = field(default_factory=dict)
    declined: list[dict[str, Any]] = field(default_factory=list)
    referred: list[dict[str, Any]] = field(default_factory=list)
    satisfaction: dict[str, Any] = field(default_factory=dict)
    follow_ups: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.per_route)

    @property
    def answer_rate(self) -> float | None:
        total = self.inbound.get("total", 0)
        return (self.inbound.get("answered", 0) + self.inbound.get("to_staff", 0)) / total if total else None


def _gateway_tables(engine: Engine, cache: dict[str, Any]) -> bool:
    if "gateway_tables" not in cache:
        cache["gateway_tables"] = inspect(engine).has_table(InboundMessage.__tablename__)
    return bool(cache["gateway_tables"])


def compute(
    session: Session, engine: Engine, desks: tuple[str, ...], days: int, now: datetime, cache: dict[str, Any]
) -> Figures:
    """All figures of one period. Core queries on the session's connection: no ORM objects per row."""
    conn = session.connection()
    start = now - timedelta(days=days)
    figures = Figures(days=days, start=start)
    in_period = (Ticket.desk.in_(desks), Ticket.created_at >= start)
    day = china_day(engine.dialect.name)
    rows = conn.execute(select(day, func.count()).where(*in_period).group_by(day)).all()
    figures.per_day = _fill_days([(str(d), int(n)) for d, n in rows], start, now)
    per_desk: Counter[str] = Counter()
    per_route: Counter[str] = Counter()
    per_category: Counter[str] = Counter()
    grouped = conn.execute(
        select(Ticket.desk, Ticket.route, Ticket.category, func.count())
        .where(*in_period)
        .group_by(Ticket.desk, Ticket.route, Ticket.category)
    ).all()
    for desk, route, category, n in grouped:  # one pass over the tickets for three breakdowns
        per_desk[str(desk)] += int(n)
        per_route[str(route)] += int(n)
        if route in HANDLED_ROUTES:
            per_category[str(category or "未分类")] += int(n)
    figures.per_desk, figures.per_route = per_desk.most_common(), per_route.most_common()
    figures.per_category = per_category.most_common(15)

    if _gateway_tables(engine, cache):
        inbound = conn.execute(
            select(InboundMessage.status, func.count())
            .join(Conversation, Conversation.id == InboundMessage.conversation_id)
            .where(Conversation.desk.in_(desks), InboundMessage.received_at >= start)
            .group_by(InboundMessage.status)
        ).all()
        figures.inbound = {str(s): int(n) for s, n in inbound}
        figures.inbound["total"] = sum(n for s, n in figures.inbound.items())

    figures.first_response = _first_response(conn, in_period, now)
    figures.crises = _crisis_response(conn, in_period)
    figures.declined, figures.referred = _closed_records(conn, in_period)
    figures.satisfaction = _satisfaction(conn, desks, start)
    outcomes = conn.execute(
        select(FollowUp.outcome, func.count())
        .join(Ticket, Ticket.id == FollowUp.ticket_id)
        .where(Ticket.desk.in_(desks), FollowUp.status == "done", FollowUp.last_attempt_at >= start)
        .group_by(FollowUp.outcome)
    ).all()
    figures.follow_ups = {str(o): int(n) for o, n in outcomes}
    return figures


def _fill_days(rows: list[tuple[str, int]], start: datetime, now: datetime) -> list[tuple[str, int]]:
    """Every day of the period, zeros included (a quiet day is information too)."""
    counts = dict(rows)
    first, last = start.astimezone(CHINA_TZ).date(), now.astimezone(CHINA_TZ).date()
    out = []
    day = first
    while day <= last:
        key = day.isoformat()
        out.append((key, counts.get(key, 0)))
        day += timedelta(days=1)
    return out


def minutes_between(dialect: str, earlier: Any, later: Any) -> ColumnElement[Any]:
    """Minutes from `earlier` to `later`, computed in SQL (no row objects for thousands of tickets)."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


def _first_response(conn: Connection, in_period: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    """First human response against the SLA: one row per handled ticket, minutes computed in SQL."""
    first, due = Ticket.first_response_at, Ticket.sla_first_response_due
    rows = conn.execute(
        select(
            minutes_between(conn.dialect.name, Ticket.created_at, first),
            case((first.is_(None), None), (due.is_(None), 1), (first <= due, 1), else_=0),
            case((and_(first.is_(None), due.is_not(None), due < now), 1), else_=0),
        ).where(*in_period, Ticket.route.in_(HANDLED_ROUTES))
    ).all()
    minutes = [float(m) for m, _in_time, _overdue in rows if m is not None]
    within = sum(1 for _m, in_time, _overdue in rows if in_time == 1)
    late = sum(1 for _m, in_time, _overdue in rows if in_time == 0)
    waiting_overdue = sum(int(overdue) for _m, _in_time, overdue in rows)
    answered = within + late
    return {
        "tickets": len(rows),
        "answered": answered,
        "within_sla": within,
        "late": late,
        "waiting": len(rows) - answered - waiting_overdue,
        "waiting_overdue": waiting_overdue,
        "within_rate": within / (answered + waiting_overdue) if answered + waiting_overdue else None,
        "median_min": statistics.median(minutes) if minutes else None,
        "p90_min": _percentile(minutes, 0.9),
    }


CRISIS_ROWS = 200
"""Crisis tickets listed one by one (newest first); the median and p90 cover every crisis of the period."""


def _crisis_response(conn: Connection, in_period: tuple[Any, ...]) -> dict[str, Any]:
    """Every crisis ticket of the period: desk, created, minutes to the first staff reply (None: no response
    yet). The first human response is the ticket's `first_response_at` (the first console reply), as for the SLA."""
    minutes = minutes_between(conn.dialect.name, Ticket.created_at, Ticket.first_response_at)
    rows = conn.execute(
        select(Ticket.id, Ticket.number, Ticket.desk, Ticket.created_at, minutes)
        .where(*in_period, Ticket.route == "crisis")
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    ).all()
    answered = [float(m) for *_, m in rows if m is not None]
    listed = [
        {"id": int(i), "number": str(n), "desk": str(d), "created_at": c, "minutes": None if m is None else float(m)}
        for i, n, d, c, m in rows[:CRISIS_ROWS]
    ]
    return {
        "count": len(rows),
        "answered": len(answered),
        "waiting": len(rows) - len(answered),
        "median_min": statistics.median(answered) if answered else None,
        "p90_min": _percentile(answered, 0.9),
        "rows": listed,
        "more": max(0, len(rows) - CRISIS_ROWS),
    }


def reason_code() -> ColumnElement[Any]:
    """Why a record was declined or referred, in SQL: the catalogue entry (decline reason code,
    referral id) the triage decision recorded, else the channel it was sent to, else the category."""
    signals = Ticket.triage_signals
    entries = [
        func.nullif(signals[key].as_string(), "") for key in ("entry_id", "reason", "decline_reason", "referral")
    ]
    channel = func.nullif(signals["channel"].as_string(), "")
    via_channel = case(
        (and_(Ticket.route.in_(("refer", "emergency")), channel.is_not(None)), literal("转", String) + channel)
    )
    return func.coalesce(*entries, via_channel, Ticket.category, literal("未注明", String))


def _closed_records(conn: Connection, in_period: tuple[Any, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Declined and referred records by reason: one pass, counts and the newest examples by window functions."""
    kind = case((Ticket.route == "decline", "decline"), else_="refer").label("kind")
    code = reason_code().label("code")
    ranked = (
        select(
            kind,
            code,
            Ticket.summary_redacted.label("summary"),
            func.row_number().over(partition_by=(kind, code), order_by=Ticket.created_at.desc()).label("rank"),
            func.count().over(partition_by=(kind, code)).label("n"),
        )
        .where(*in_period, Ticket.route.in_(("decline", "refer", "emergency")))
        .subquery()
    )
    rows = conn.execute(
        select(ranked.c.kind, ranked.c.code, ranked.c.summary, ranked.c.n)
        .where(ranked.c.rank <= EXAMPLES_PER_REASON)
        .order_by(ranked.c.n.desc(), ranked.c.code, ranked.c.rank)
    ).all()
    out: dict[str, dict[str, dict[str, Any]]] = {"decline": {}, "refer": {}}
    for kind_value, code_value, summary, n in rows:
        group = out[str(kind_value)].setdefault(
            str(code_value), {"reason": str(code_value), "count": int(n), "examples": []}
        )
        text = mask(summary or "")  # stored masked already; masking again costs nothing and is safe
        group["examples"].append(text if len(text) <= 80 else text[:80] + "…")
    return list(out["decline"].values()), list(out["refer"].values())


def _satisfaction(conn: Connection, desks: tuple[str, ...], start: datetime) -> dict[str, Any]:
    rows = conn.execute(
        select(Rating.solved, Rating.service_score)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(
            Ticket.desk.in_(desks),
            Ticket.route.in_(HANDLED_ROUTES),
            Ticket.status.not_in(("declined", "referred")),
            Rating.created_at >= start,
        )
    ).all()
    scores = [int(score) for _, score in rows]
    solved = sum(1 for s, _ in rows if s)
    return {
        "ratings": len(rows),
        "mean_score": statistics.fmean(scores) if scores else None,
        "solved_rate": solved / len(rows) if rows else None,
        "distribution": [(f"{k}星", scores.count(k)) for k in range(1, 6)],
    }


@page("analytics")
def analytics(ctx: Ctx) -> Response:
    """The analytics page (supervisors and admins), for one or all of one's desks."""
    params = ctx.request.query_params
    desk = params.get("desk", "")
    desks = (desk,) if desk in ctx.member.desks else ctx.member.desks
    try:
        days = int(params.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    now = ctx.state.now()
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        figures = compute(session, ctx.state.engine, desks, days, now, ctx.state.cache)
    from bot.console.hot_topics import cached_alerts
    from bot.console.queue import category_names

    alerts = cached_alerts(ctx.state, desks)
    names = category_names(ctx.state.settings, desks)
    charts = {
        "per_day": bar_chart(figures.per_day, f"最近{days}天每日受理量"),
        "per_route": hbar_chart([(ROUTE.get(r, r), n) for r, n in figures.per_route], "按分诊去向"),
        "per_category": hbar_chart([(names.get(c, c), n) for c, n in figures.per_category], "按工单分类（前15）"),
        "satisfaction": hbar_chart(figures.satisfaction["distribution"], "服务评分分布"),
    }
    return ctx.render(
        "analytics.html",
        figures=figures,
        charts=charts,
        desk=desk,
        days=days,
        periods=PERIODS,
        alerts=alerts,
        category_names=names,
    )
