"""Top-3 category suggestions for staff (bot/console/suggestions.py) with the real engine."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.console.suggestions import CategorySuggester
from bot.tickets.models import Ticket
from bot.triage.suggestions import Suggestion


def _ticket(ticket_id: int, summary: str, *, desk: str = "12345", route: str = "ticket") -> Ticket:
    now = datetime.now(UTC)
    return Ticket(
        id=ticket_id,
        number=f"T{ticket_id}",
        desk=desk,
        route=route,
        priority="normal",
        status="new",
        summary_redacted=summary,
        triage_signals={},
        created_at=now,
        updated_at=now,
        channel="web",
        conversation_id=f"{desk}:web:{ticket_id}",
        idempotency_key=str(ticket_id),
    )


def test_the_real_engine_ranks_the_obvious_category_first_with_a_confidence() -> None:
    suggester = CategorySuggester()
    got = suggester.for_tickets(
        [
            _ticket(1, "公司拖欠我三个月工资，老板一直不发\n地点：城东工业园"),
            _ticket(2, "小区门口的路灯坏了一个多月了，晚上黑漆漆的"),
            _ticket(3, "班主任在班级群里公开我的成绩和家庭情况", desk="12355"),
        ]
    )
    assert got[1][0].category == "labour_relations"
    assert got[2][0].category == "urban_management"
    assert all(len(s) == 3 for s in got.values())
    for ranked in got.values():
        probabilities = [s.probability for s in ranked]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1.0 + 1e-6
        assert len({s.category for s in ranked}) == 3


def test_no_suggestions_for_crises_answered_matters_or_empty_requests() -> None:
    got = CategorySuggester().for_tickets(
        [
            _ticket(1, "我不想活了", route="crisis"),
            _ticket(2, "想问一下护照怎么办", route="faq"),
            _ticket(3, "地点：幸福路"),  # only a form line: no request to rank
        ]
    )
    assert got == {}


def test_rankings_are_cached_per_text_and_catalogue_version() -> None:
    calls: list[list[str]] = []
    version = [1]

    def rank(texts: list[str], desk: str) -> list[list[Suggestion]]:
        calls.append(list(texts))
        return [[Suggestion("a", "A", None, 0.6), Suggestion("b", "B", None, 0.3), Suggestion("c", "C", None, 0.1)]]

    suggester = CategorySuggester(rank=rank, version=lambda: version[0])
    same = [_ticket(1, "路灯坏了"), _ticket(2, "路灯坏了")]
    first = suggester.for_tickets(same)
    assert calls == [["路灯坏了"]]  # one text ranked once for both tickets
    assert first[1] == first[2]
    suggester.for_tickets(same)
    assert len(calls) == 1
    version[0] = 2  # a catalogue edit: rank again
    suggester.for_tickets(same)
    assert len(calls) == 2


def test_a_failing_ranker_leaves_the_page_without_suggestions() -> None:
    def broken(texts: list[str], desk: str) -> list[list[Suggestion]]:
        raise RuntimeError("model missing")

    assert CategorySuggester(rank=broken, version=lambda: 1).for_tickets([_ticket(1, "路灯坏了")]) == {}
