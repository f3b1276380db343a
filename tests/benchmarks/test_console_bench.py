"""The console benchmark, on small inputs (the real runs are in the notes)."""

from __future__ import annotations

from benchmarks.console_bench import run_bench


def test_bench_reports_p95_per_page() -> None:
    result = run_bench(n_tickets=300, requests=5)
    for page in ("queue", "ticket", "analytics"):
        assert result[f"{page}_p95_ms"] > 0
    assert result["n_tickets"] == 300 and result["budget_ms"] == 200.0
