"""Console benchmark: p95 render time of the queue, a ticket page and analytics over 10,000 tickets.

The budget is 200 ms p95 per page on one machine with SQLite. The database is a throwaway one in a
temporary folder, seeded with bulk inserts (a realistic mix of desks, routes, statuses, replies,
ratings and gateway messages over 90 days); requests go through the real console (login, session
check, CSRF-free GETs, templates, the audit write of each ticket view) in-process.
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, inspect
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.console.hot_topics import hashing_embedder
from bot.console.routes import mount
from bot.console.state import ConsoleState
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway.models import Conversation, InboundMessage
from bot.settings import Settings
from bot.tickets.models import Event, Message, Rating, Ticket

BUDGET_MS = 200.0
DESKS = ("12345", "12355")
CATEGORIES = {
    "12345": [
        "urban_management",
        "utilities",
        "housing_property",
        "transport",
        "environment",
        "labour_relations",
        "social_insurance",
        "education",
        "health",
        "market_consumer",
    ],
    "12355": ["study_stress", "family_conflict", "relationships", "bullying", "online_fraud", "youth_employment"],
}
SUMMARIES = [
    "小区路灯坏了一个多星期，晚上出行不安全",
    "楼下餐馆油烟扰民，多次反映没有处理",
    "公司拖欠三个月工资，老板联系不上，电话13812345678",
    "公交车改线后老人看病很不方便",
    "学校门口早晚高峰交通拥堵，希望增加交警",
    "自来水发黄有异味，已经持续三天",
    "最近学习压力很大，晚上睡不着",
    "在网上兼职刷单被骗了两千元",
]
ROUTES = [("ticket", 70), ("crisis", 2), ("refer", 12), ("decline", 10), ("faq", 6)]
OPEN_MIX = [("new", 20), ("in_progress", 25), ("waiting_for_person", 10), ("resolved", 20), ("closed", 25)]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, round(fraction * len(ordered)))) - 1]


def seed(engine: Engine, n_tickets: int, now: datetime, rng: random.Random) -> None:
    """Bulk-insert `n_tickets` tickets with transcripts, events, ratings and gateway messages."""
    tickets: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    conversations: list[dict[str, Any]] = []
    inbound: list[dict[str, Any]] = []
    for i in range(1, n_tickets + 1):
        desk = DESKS[0] if rng.random() < 0.7 else DESKS[1]
        route = _pick(rng, ROUTES)
        created = now - timedelta(minutes=rng.randint(0, 90 * 24 * 60))
        handled = route in ("ticket", "crisis")
        status = _pick(rng, OPEN_MIX) if handled else {"refer": "referred", "decline": "declined"}.get(route, "closed")
        replied = handled and status != "new"
        first_response = created + timedelta(minutes=rng.randint(5, 600)) if replied else None
        resolved = (
            created + timedelta(hours=rng.randint(2, 96)) if status in ("resolved", "closed") and handled else None
        )
        conversation_id = f"{desk}:web:bench-{i}"
        summary = SUMMARIES[rng.randrange(len(SUMMARIES))] + f"（{i}）"
        tickets.append(
            {
                "id": i,
                "number": f"{desk}-{created:%Y%m%d}-{i:05d}",
                "desk": desk,
                "route": route,
                "category": rng.choice(CATEGORIES[desk]) if handled else None,
                "category_l1": None,
                "priority": "urgent" if route == "crisis" or rng.random() < 0.03 else "normal",
                "status": status,
                "summary_redacted": summary,
                "triage_signals": {"entry_id": "wishing_well"} if route == "decline" else {"confidence": 0.9},
                "sla_first_response_due": created + timedelta(hours=4) if handled else None,
                "sla_resolution_due": created + timedelta(hours=72) if handled else None,
                "created_at": created,
                "updated_at": created,
                "first_response_at": first_response,
                "resolved_at": resolved,
                "channel": "web",
                "conversation_id": conversation_id,
                "idempotency_key": f"bench-{i}",
                "assignee": rng.choice(["li.agent", "chen.agent", None]) if replied else None,
                "department": None,
                "first_handler": None,
            }
        )
        messages.append({"ticket_id": i, "seq": 1, "sender": "person", "text": summary, "created_at": created})
        messages.append({"ticket_id": i, "seq": 2, "sender": "bot", "text": "已为您登记。", "created_at": created})
        events.append({"ticket_id": i, "actor": "bot", "kind": "created", "at": created, "details": {"route": route}})
        if resolved is not None and rng.random() < 0.4:
            ratings.append(
                {
                    "ticket_id": i,
                    "solved": rng.random() < 0.8,
                    "service_score": rng.randint(2, 5),
                    "created_at": resolved,
                }
            )
        conversations.append(
            {
                "id": conversation_id,
                "desk": desk,
                "channel": "web",
                "external_user": f"bench-{i}",
                "handoff": False,
                "created_at": created,
                "last_seen_at": created,
            }
        )
        for k in range(2):
            inbound.append(
                {
                    "conversation_id": conversation_id,
                    "text": summary,
                    "status": "answered" if rng.random() < 0.97 else "received",
                    "received_at": created + timedelta(minutes=k),
                }
            )
    batches: list[tuple[Any, list[dict[str, Any]]]] = [
        (Ticket, tickets),
        (Message, messages),
        (Event, events),
        (Rating, ratings),
    ]
    with engine.begin() as connection:
        if inspect(connection).has_table(InboundMessage.__tablename__):
            columns = {c["name"] for c in inspect(connection).get_columns(Conversation.__tablename__)}
            if "bot_reset_pending" in columns:
                for row in conversations:
                    row["bot_reset_pending"] = False
            batches += [(Conversation, conversations), (InboundMessage, inbound)]
        for model, rows in batches:
            for start in range(0, len(rows), 2000):
                connection.execute(insert(model), rows[start : start + 2000])
        connection.exec_driver_sql("ANALYZE")


@contextmanager
def _secret_key() -> Iterator[None]:
    """The console needs a secret key; a throwaway one unless the environment has one."""
    had = os.environ.get("FRONTDOOR_SECRET_KEY")
    if not had:
        os.environ["FRONTDOOR_SECRET_KEY"] = secrets.token_urlsafe(32)
    try:
        yield
    finally:
        if not had:
            os.environ.pop("FRONTDOOR_SECRET_KEY", None)


def _gateway(engine: Engine) -> Any:
    """A gateway object for the ticket page's conversation lookup (it starts nothing)."""
    try:
        from bot.gateway.rasa_client import RasaClient
        from bot.gateway.service import Gateway

        return Gateway(engine, RasaClient("http://127.0.0.1:9"))
    except Exception:  # the console works without one (the page then says replies cannot be delivered)
        return None


def run_bench(n_tickets: int = 10_000, *, requests: int = 40, seed_value: int = 12345) -> dict[str, Any]:
    """Seed `n_tickets` into a temporary SQLite database and time `requests` renders of each page."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="frontdoor-console-bench-") as tmp, _secret_key():
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        engine = make_engine(settings.database_url)
        try:
            migrate(engine)
            started = time.perf_counter()
            seed(engine, n_tickets, now, rng)
            seed_seconds = time.perf_counter() - started
            state = ConsoleState(settings=settings, engine=engine, embedder=hashing_embedder())
            password = secrets.token_urlsafe(16)
            state.accounts.create_user("bench.admin", password, role="admin", desks=list(DESKS))
            app = Starlette(routes=[mount])
            app.state.settings, app.state.console, app.state.gateway = settings, state, _gateway(engine)
            with TestClient(app) as client:
                login_page = client.get("/console/login").text
                token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
                client.post(
                    "/console/login", data={"username": "bench.admin", "password": password, "csrf_token": token}
                )
                pages = {
                    "queue": [
                        "/console/",
                        "/console/?status=all",
                        "/console/?q=路灯",
                        "/console/?route=crisis",
                        "/console/?desk=12355&page=2",
                    ],
                    "ticket": [f"/console/tickets/{rng.randint(1, n_tickets)}" for _ in range(requests)],
                    "analytics": ["/console/analytics", "/console/analytics?days=90", "/console/analytics?desk=12345"],
                }
                result: dict[str, Any] = {
                    "n_tickets": n_tickets,
                    "requests": requests,
                    "seed_s": round(seed_seconds, 2),
                }
                for name, urls in pages.items():
                    for url in urls[:3]:  # warm-up: template compilation, statement caches
                        assert client.get(url).status_code == 200, url
                    timings = []
                    for i in range(requests):
                        t0 = time.perf_counter()
                        response = client.get(urls[i % len(urls)])
                        timings.append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, urls[i % len(urls)]
                    result[f"{name}_p50_ms"] = round(statistics.median(timings), 1)
                    result[f"{name}_p95_ms"] = round(_percentile(timings, 0.95), 1)
            result["budget_ms"] = BUDGET_MS
            result["within_budget"] = all(result[f"{n}_p95_ms"] <= BUDGET_MS for n in pages)
            return result
        finally:
            engine.dispose()
