"""What a test does when something it needs is missing: skip with the reason locally, fail under CI.

CI (CI=true, as .ci/run sets it) installs everything the tests need, so a missing database or
browser there is a broken set-up that must fail the run, not a skip nobody reads.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it when running under CI."""
    if in_ci():
        pytest.fail(f"{reason}\n(CI=true: everything the tests need must be there, so this is an error)")
    pytest.skip(reason)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI every test must run: skipped tests fail the run, with their reasons listed."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if in_ci() and skipped and exitstatus == pytest.ExitCode.OK:
        reasons = sorted(
            {
                str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
                for report in skipped
            }
        )
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped, which fails the run:", red=True)
        for reason in reasons:
            reporter.write_line(f"  {reason}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
