"""Staff hours of each desk: when nobody is on duty the bot asks for a preferred callback time.

`FRONTDOOR_STAFF_HOURS` sets them, e.g. ``12355=09:00-18:00,12345=24h`` (China time, every day).
A desk that is not named is staffed around the clock (12345 is a 7x24 hotline); 12355's human
staff keep office hours by default.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone

from bot.settings import DEFAULT_STAFF_HOURS, get_settings

log = logging.getLogger(__name__)

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
ENV = "FRONTDOOR_STAFF_HOURS"  # read by bot.settings; named in the warnings below
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ALWAYS = {"24h", "24x7", "7x24", "always", "24/7"}


@dataclass(frozen=True)
class StaffHours:
    """Daily opening hours in China time; `start > end` spans midnight."""

    start: time
    end: time

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(CHINA_TZ).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_opening(self, at: datetime) -> datetime:
        """The next moment staff come on duty (China time), `at` itself if open now."""
        if self.is_open(at):
            return at
        local = at.astimezone(CHINA_TZ)
        opening = local.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        if opening <= local:
            opening += timedelta(days=1)
        return opening

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_staff_hours(spec: str) -> dict[str, StaffHours | None]:
    """``"12355=09:00-18:00,12345=24h"`` -> {desk: hours or None (always staffed)}; bad parts are skipped."""
    result: dict[str, StaffHours | None] = {}
    for part in filter(None, (p.strip() for p in spec.replace(";", ",").split(","))):
        desk, _, value = part.partition("=")
        desk, value = desk.strip(), value.strip().lower()
        if not desk or not value:
            log.warning("%s: ignoring %r (expected desk=HH:MM-HH:MM or desk=24h)", ENV, part)
            continue
        if value in _ALWAYS:
            result[desk] = None
            continue
        match = _SPAN.match(value)
        if match is None:
            log.warning("%s: ignoring %r (expected desk=HH:MM-HH:MM or desk=24h)", ENV, part)
            continue
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2 % 24, m2)
        except ValueError:
            log.warning("%s: ignoring %r (not a time of day)", ENV, part)
            continue
        result[desk] = None if start == end else StaffHours(start, end)
    return result


def staff_hours(desk: str) -> StaffHours | None:
    """The desk's staff hours (None: staffed around the clock). Read from the settings on each call."""
    configured = parse_staff_hours(DEFAULT_STAFF_HOURS)
    configured.update(parse_staff_hours(get_settings().staff_hours))
    return configured.get(desk)


def is_staffed(desk: str, at: datetime | None = None) -> bool:
    """Whether staff of `desk` are on duty at `at` (default: now)."""
    hours = staff_hours(desk)
    return hours is None or hours.is_open(at or datetime.now(UTC))


def back_on_duty(desk: str, language: str | None = None, at: datetime | None = None) -> str | None:
    """When staff of `desk` are next on duty, for a sentence ("明天09:00", "09:00 tomorrow"); None if on duty now.

    What the bot says about who is coming depends on it: out of hours it must not promise a person.
    """
    hours = staff_hours(desk)
    now = at or datetime.now(UTC)
    if hours is None or hours.is_open(now):
        return None
    opening = hours.next_opening(now)
    today = now.astimezone(CHINA_TZ).date()
    english = (language or "").lower().startswith("en")
    if opening.date() == today:
        return f"{opening:%H:%M} today" if english else f"今天{opening:%H:%M}"
    return f"{opening:%H:%M} tomorrow" if english else f"明天{opening:%H:%M}"
