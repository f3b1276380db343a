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


def test_the_abuse_line_says_whether_the_real_crisis_got_through() -> None:
    from benchmarks.bench import abuse_summary

    figures: dict[str, Any] = {
        "real_crisis": {"numbers_in_reply": True, "alert_reached_staff_chat_s": 1.12, "alert_within_10_s": True},
        "flood": {
            "sent": 2000,
            "flood_messages_stored": 30,
            "flood_messages_answered": 30,
            "http_status": {"429": 1970},
        },
        "staff_chat": {"lines": 4},
        "app_rss_mb": {"peak": 1009},
    }
    assert abuse_summary(figures) == (
        "real crisis: numbers in reply yes, staff alert in 1.1 s (ok); flood of 2000: 30 stored, 30 answered, "
        "1970 refused; staff chat 4 lines; app RSS peak 1009 MB"
    )
    figures["real_crisis"] = {"numbers_in_reply": False, "alert_reached_staff_chat_s": None, "alert_within_10_s": False}
    assert abuse_summary(figures).startswith("real crisis: numbers in reply NO, staff alert NOT SEEN (OVER 10 S)")
