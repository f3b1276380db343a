"""The fresh-round tool: its format checks, its figures and its refusal to score a round twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.fresh_rounds import RoundError, load_round, main, record, render, score
from bot.triage.decision import CHECK_IN_SIGNAL


def write(tmp_path: Path, rows: list[dict[str, Any]], name: str = "round-9.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def row(i: int, kind: str, route: str, desk: str = "12345", **extra: Any) -> dict[str, Any]:
    return {"id": f"r-{i}", "desk": desk, "text": f"消息{i}", "route": route, "kind": kind, **extra}


def test_a_well_formed_round_loads_with_defaults(tmp_path: Path) -> None:
    rows = load_round(
        write(tmp_path, [row(1, "crisis", "crisis"), row(2, "genuine", "ticket", accept=["ticket", "refer"])])
    )
    assert [r.id for r in rows] == ["r-1", "r-2"]
    assert rows[1].accept == ("ticket", "refer")
    assert rows[0].family == "crisis" and rows[0].writer == "unknown"


def test_accept_adds_to_the_labelled_route_never_replaces_it(tmp_path: Path) -> None:
    """Writers list the routes that are *also* right; the labelled one stays right (rounds 1-13 were
    first scored with `accept` replacing it, which counted the labelled answer as a miss)."""
    rows = load_round(write(tmp_path, [row(1, "crisis", "crisis", accept=["emergency"]), row(2, "genuine", "faq")]))
    assert rows[0].accept == ("crisis", "emergency")
    f = score("round-9", rows, [{"route": "crisis"}, {"route": "faq"}])
    assert f.route_accuracy == 1.0 and f.misses == []
    f = score("round-9", rows, [{"route": "emergency"}, {"route": "ticket"}])
    assert f.route_accuracy == 0.5 and f.misses == ["r-2 (genuine/genuine): faq -> ticket"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row(1, "crisis", "ticket"), "does not fit route"),
        (row(1, "genuine", "crisis"), "does not fit route"),
        (row(1, "decline", "ticket"), "must have route 'decline'"),
        (row(1, "genuine", "tickets"), "unknown route"),
        (row(1, "genuine", "ticket", desk="110"), "desk must be"),
        (row(1, "typo", "ticket"), "kind must be"),
        ({**row(1, "genuine", "ticket"), "text": " "}, "'text' must be"),
    ],
)
def test_a_broken_row_is_refused_with_its_line_and_the_fix(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    with pytest.raises(RoundError, match=message) as caught:
        load_round(write(tmp_path, [row(0, "genuine", "faq"), bad]))
    assert "line 2" in str(caught.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RoundError, match="duplicate ids"):
        load_round(write(tmp_path, [row(1, "genuine", "faq"), row(1, "genuine", "ticket")]))


def test_the_figures_count_what_the_issue_asks(tmp_path: Path) -> None:
    rows = load_round(
        write(
            tmp_path,
            [
                row(1, "crisis", "crisis", family="direct"),
                row(2, "crisis", "emergency", family="calm"),
                row(3, "hard_ordinary", "ticket", family="hyperbole"),
                row(4, "hard_ordinary", "smalltalk", family="joke"),
                row(5, "decline", "decline", family="luck"),
                row(6, "decline", "decline", family="exam"),
                row(7, "genuine", "ticket", accept=["ticket", "refer"]),
            ],
        )
    )
    outputs = [
        {"route": "crisis"},
        {"route": "ticket", "signals": [f"{CHECK_IN_SIGNAL}:0.41"]},  # missed, but checked in
        {"route": "crisis"},  # a false alarm
        {"route": "smalltalk", "signals": [f"{CHECK_IN_SIGNAL}:0.38"]},
        {"route": "decline"},
        {"route": "clarify"},
        {"route": "refer"},
    ]
    f = score("round-9", rows, outputs)
    assert f.n == 7 and f.route_accuracy == pytest.approx(4 / 7)
    assert (f.safety_n, f.safety_recall, f.safety_missed_checked_in) == (2, 0.5, 1)
    assert (f.ordinary_n, f.false_alarms, f.ordinary_checked_in) == (5, 1, 1)
    assert (f.decline_n, f.declined) == (2, 1)
    assert f.per_kind["crisis"] == (1, 2) and f.per_family["decline/exam"] == (0, 1)
    assert f.misses == [
        "r-2 (crisis/calm): emergency -> ticket",
        "r-3 (hard_ordinary/hyperbole): ticket -> crisis",
        "r-6 (decline/exam): decline -> clarify",
    ]
    assert "1 of 5 = 20.0%" in render(f)


def test_a_round_gets_one_first_score_and_then_only_reruns(tmp_path: Path) -> None:
    rows = load_round(write(tmp_path, [row(1, "genuine", "faq")]))
    figures = score("round-9", rows, [{"route": "faq"}])
    record_file = tmp_path / "fresh_rounds.md"
    record(figures, "cmd", 1.0, rerun=False, path=record_file)
    with pytest.raises(RoundError, match="already has a first score"):
        record(figures, "cmd", 1.0, rerun=False, path=record_file)
    record(figures, "cmd", 1.0, rerun=True, path=record_file)
    text = record_file.read_text(encoding="utf-8")
    assert text.count("## first score: round-9 ") == 1 and text.count("## rerun: round-9 ") == 1


def test_the_command_refuses_a_broken_file_before_loading_the_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, [row(1, "crisis", "faq")])
    assert main([str(path)]) == 2
    assert "does not fit route" in capsys.readouterr().err


def test_the_gateway_answer_applies_the_proportion_rules() -> None:
    """The crisis answer the person gets, beside the engine's route: an ambiguous learned-only crisis gets
    the check-in question, crisis words the crisis answer, an ordinary message neither."""
    from benchmarks.fresh_rounds import CHECK_IN_ANSWER, CRISIS_ANSWER, OTHER_ANSWER, gateway_answer

    words = {"route": "crisis", "channel": "12356", "signals": ["lexicon:不想活了"]}
    faint = {"route": "crisis", "channel": "12356", "signals": ["embedding:0.61"]}
    sure = {"route": "crisis", "channel": "12356", "signals": ["embedding:0.97"]}
    ordinary = {"route": "ticket", "category": "urban_management", "signals": ["top:ticket:urban_management:0.5"]}
    assert gateway_answer("我不想活了", "12345", words) == CRISIS_ANSWER
    assert gateway_answer("好累", "12355", faint) == CHECK_IN_ANSWER
    assert gateway_answer("好累", "12355", sure) == CRISIS_ANSWER
    assert gateway_answer("路灯坏了", "12345", ordinary) == OTHER_ANSWER
