"""The readable verdict `make bench` prints under its JSON."""

from __future__ import annotations

from typing import Any

from benchmarks.bench import gateway_summary


def _run(msg_s: float, p95: float, lost: int = 0, duplicated: int = 0) -> dict[str, Any]:
    return {
        "messages_per_s": msg_s,
        "p50_ms": p95 / 2,
        "p95_ms": p95,
        "lost": lost,
        "duplicated": duplicated,
        "apologies": 0,
    }


def test_each_set_up_gets_a_verdict_against_the_goal() -> None:
    lines = gateway_summary(
        {
            "two_rasa_4_concurrent": _run(30.4, 237.2),
            "one_rasa_8_concurrent": _run(22.6, 606.5),
            "fast_but_lossy": _run(40.0, 100.0, lost=1),
        }
    )
    assert lines[0].startswith("two_rasa_4_concurrent: 30.4 msg/s") and lines[0].endswith("meets the goal")
    assert lines[1].endswith("below the goal")
    assert lines[2].endswith("LOST OR DUPLICATED REPLIES")


def test_skipped_parts_are_left_out() -> None:
    assert gateway_summary({"one_rasa_8_concurrent": "skipped (BENCH_SKIP)"}) == []
