"""Ticket creation benchmark (`make bench`): latency and throughput of `create_ticket`.

Each iteration is one full escalation as the action server does it: a ticket with a two-line
transcript and its `created` event, in one transaction, with its own idempotency key. Point it at a
throwaway database: the tickets it creates are real rows. It lives in benchmarks/, not in the
runtime package; `python -m bot.tickets bench` still runs it from a checkout.
"""

from __future__ import annotations

import statistics
import time
import uuid

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.tickets.repository import TicketStore


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p95 is a latency that really occurred)."""
    rank = max(1, round(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def run_bench(url: str, n: int = 500, *, desk: str = "12345") -> dict[str, float]:
    """Create `n` tickets one after another at `url`; return p50/p95 latency (ms) and tickets per second."""
    if n < 1:
        raise ValueError("n must be at least 1")
    engine = make_engine(url)
    try:
        migrate(engine)
        store = TicketStore(engine)
        run = uuid.uuid4().hex[:12]
        store.create_ticket(  # warm-up: connection pool, statement caches, counter row
            desk=desk,
            route="ticket",
            conversation_id=f"bench:{run}",
            channel="rest",
            idempotency_key=f"bench-{run}-warmup",
            summary="warm-up",
        )
        latencies: list[float] = []
        started = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            store.create_ticket(
                desk=desk,
                route="ticket",
                conversation_id=f"bench:{run}:{i % 50}",
                channel="rest",
                idempotency_key=f"bench-{run}-{i}",
                summary="小区路灯不亮已经一周了，联系电话13812345678",
                category="urban_management",
                category_l1="城乡建设",
                triage_signals={"bench": True, "confidence": 0.9},
                sla_first_response_hours=4,
                sla_resolution_hours=72,
                transcript=[("person", "小区路灯不亮已经一周了"), ("bot", "已为您登记。")],
            )
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    latencies.sort()
    return {
        "n": float(n),
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p95_ms": round(_percentile(latencies, 0.95), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
        "tickets_per_s": round(n / elapsed, 1),
    }
