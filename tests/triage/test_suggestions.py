"""Ranking a desk's ticket categories (bot/triage/suggestions.py)."""

from __future__ import annotations

import pytest

from bot.triage.engine import get_engine
from bot.triage.suggestions import Suggestion, top_l1


def test_every_ticket_category_is_ranked_and_the_probabilities_sum_to_one() -> None:
    engine = get_engine()
    [ranked] = engine.rank_categories(["楼上邻居半夜还在砸墙装修，吵得孩子睡不着"], "12345")
    categories = {c.id for c in engine.store.get().desks["12345"].categories}
    assert {s.category for s in ranked} == categories
    assert sum(s.probability for s in ranked) == pytest.approx(1.0, abs=1e-5)
    assert [s.probability for s in ranked] == sorted((s.probability for s in ranked), reverse=True)


def test_a_text_without_words_gets_no_ranking() -> None:
    assert get_engine().rank_categories(["", "😀😀", "？？？"], "12345") == [[], [], []]


def test_first_level_categories_sum_their_categories() -> None:
    ranked = [
        Suggestion("a", "A", "城乡建设", 0.4),
        Suggestion("b", "B", "环境保护", 0.35),
        Suggestion("c", "C", "城乡建设", 0.2),
        Suggestion("d", "D", None, 0.05),
    ]
    assert top_l1(ranked, 2) == [("城乡建设", pytest.approx(0.6)), ("环境保护", pytest.approx(0.35))]
