"""A clock the test moves by hand: SLA, follow-ups, sessions and numbering depend on time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# Monday 2026-11-23, 10:00 China time: both desks are staffed, and far from midnight, so numbering
# tests choose the day boundary themselves.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """Called like `datetime.now(UTC)`; `advance(hours=1, minutes=5)` moves it (aware UTC)."""

    now: datetime = field(default_factory=lambda: START)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
