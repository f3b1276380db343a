"""bot/console/throttle.py: the backoff schedule, and the limits read from recorded attempts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from bot.console import throttle
from bot.console.models import LoginAttempt
from bot.console.state import ConsoleState
from tests.support.clock import FakeClock


def test_backoff_is_free_then_doubles_up_to_an_hour() -> None:
    waits = [throttle.backoff(n) for n in range(4, 14)]
    minutes = [w / timedelta(minutes=1) for w in waits]
    assert minutes == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_minutes_round_up() -> None:
    assert [throttle.minutes(s) for s in (1, 59, 60, 61, 3600)] == [1, 1, 1, 2, 60]


def _add(
    session: Session, clock: FakeClock, username: str, ip: str, *, success: bool = False, throttled: bool = False
) -> None:
    session.add(
        LoginAttempt(username=username, ip=ip, at=clock(), success=success, kind="password", throttled=throttled)
    )


def test_the_account_limit_counts_every_address_and_ignores_throttled_rows(
    console: ConsoleState, clock: FakeClock
) -> None:
    with console.sessions.begin() as session:
        for i in range(4):
            _add(session, clock, "li", f"203.0.113.{i}")
        for _ in range(50):
            _add(session, clock, "li", "203.0.113.9", throttled=True)
    with console.sessions() as session:
        assert throttle.verdict(session, "li", "198.51.100.1", clock(), None) == throttle.Verdict()
    with console.sessions.begin() as session:
        _add(session, clock, "li", "203.0.113.5")
    with console.sessions() as session:
        verdict = throttle.verdict(session, "li", "198.51.100.1", clock(), None)
    assert verdict == throttle.Verdict(60, "account")


def test_a_success_or_a_new_password_starts_the_count_again(console: ConsoleState, clock: FakeClock) -> None:
    with console.sessions.begin() as session:
        for _ in range(5):
            _add(session, clock, "li", "203.0.113.1")
    with console.sessions() as session:
        assert throttle.account_wait(session, "li", clock(), None) == 60
        assert throttle.account_wait(session, "li", clock(), clock.now) == 60  # changed at that instant: kept
        assert throttle.account_wait(session, "li", clock(), clock.now + timedelta(seconds=1)) == 0
    with console.sessions.begin() as session:
        _add(session, clock, "li", "203.0.113.1", success=True)
    with console.sessions() as session:
        assert throttle.account_wait(session, "li", clock(), None) == 0


def test_failures_older_than_a_day_are_forgotten(console: ConsoleState, clock: FakeClock) -> None:
    with console.sessions.begin() as session:
        for _ in range(12):
            _add(session, clock, "li", "203.0.113.1")
    clock.advance(hours=24, seconds=1)
    with console.sessions() as session:
        assert throttle.account_wait(session, "li", clock(), None) == 0


def test_the_address_limit_counts_distinct_names_and_spares_known_accounts(
    console: ConsoleState, clock: FakeClock
) -> None:
    with console.sessions.begin() as session:
        _add(session, clock, "wang", "10.8.0.1", success=True)
        for i in range(20):  # many tries, few names: the account limit's business
            _add(session, clock, f"name{i % 9}", "10.8.0.1")
    with console.sessions() as session:
        assert throttle.address_wait(session, "zhao", "10.8.0.1", clock()) == 0
    with console.sessions.begin() as session:
        _add(session, clock, "name9", "10.8.0.1")
    with console.sessions() as session:
        assert throttle.address_wait(session, "zhao", "10.8.0.1", clock()) == 15 * 60
        assert throttle.address_wait(session, "wang", "10.8.0.1", clock()) == 0  # signed in from there
        assert throttle.address_wait(session, "zhao", "10.8.0.2", clock()) == 0
