"""Recounting recorded fresh-round scores: only listed misses whose answer was the labelled route move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.fresh_recount import recount, render

RECORD = """# Fresh rounds

## first score: round-1 (2026-12-07 05:15 UTC)

| figure | value | goal |
|---|---|---|
| route accuracy | 25.0% of 4 | >= 92% |

<details><summary>wrong routes</summary>

- r1-1 (crisis/direct): emergency -> crisis
- r1-2 (genuine/ticket): refer|faq -> ticket
- r1-3 (genuine/faq): faq -> ticket

</details>

## rerun: round-1 (2026-12-07 06:00 UTC)

| route accuracy | 75.0% of 4 | >= 92% |

- r1-3 (genuine/faq): faq -> ticket
"""


def test_listed_misses_that_answered_the_labelled_route_are_recounted_right(tmp_path: Path) -> None:
    rows = [
        {"id": "r1-1", "route": "crisis", "accept": ["emergency"]},  # answered crisis: was right
        {"id": "r1-2", "route": "ticket", "accept": ["refer", "faq"]},  # answered ticket: was right
        {"id": "r1-3", "route": "faq"},  # answered ticket: wrong either way
        {"id": "r1-4", "route": "faq"},
    ]
    (tmp_path / "round-1.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    first, rerun = recount(RECORD, tmp_path)
    assert (first.kind, first.round, first.n, first.labelled_right) == ("first score", "round-1", 4, 2)
    assert first.corrected == pytest.approx(75.0)
    assert (rerun.kind, rerun.labelled_right, rerun.corrected) == ("rerun", 0, pytest.approx(75.0))
    assert "| first score | round-1 | 2026-12-07 05:15 UTC | 4 | 25.0% | **75.0%** | 2 |" in render([first, rerun])
