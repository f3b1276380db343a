"""The benchmark helper runs and reports the figures `make bench` prints."""

from __future__ import annotations

from benchmarks.tickets_bench import run_bench


def test_run_bench_reports_latency_and_throughput(db_url: str) -> None:
    result = run_bench(db_url, 20)
    assert result["n"] == 20
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    assert result["tickets_per_s"] > 0
