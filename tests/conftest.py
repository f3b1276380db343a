"""Test-wide settings.

tests/rasa_components run inside the Rasa environment (.venv-rasa, Python 3.10), where their
subject lives; `make unit` runs them there. The app environment has no Rasa, so it does not
collect them (instead of reporting them as skipped).

Every test runs with FRONTDOOR_DATA_DIR in a temp folder of its session (tests that need their own
set it themselves) and both desks staffed around the clock (FRONTDOOR_STAFF_HOURS; tests of staff
hours set their own hours and clock), so nothing under the checkout's var/ (a local database, catalogue edits and
lessons taught in the console) can change a result. Under CI=true no test may be skipped: a skip
there fails the run (tests/support/ci.py).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ci import pytest_sessionfinish  # noqa: F401 - the hook: under CI a skip fails the run

collect_ignore = [] if importlib.util.find_spec("rasa") else ["rasa_components"]


@pytest.fixture(scope="session", autouse=True)
def isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's FRONTDOOR_DATA_DIR: empty, with an empty catalogue override folder (no edits, no lessons)."""
    data_dir = tmp_path_factory.mktemp("frontdoor-data-dir")
    (data_dir / "catalogue").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FRONTDOOR_DATA_DIR", str(data_dir))
        patch.delenv("FRONTDOOR_DATABASE_URL", raising=False)  # the database is the data dir's too
        # what the bot says about who is coming depends on the hour (out of staff hours it promises no
        # person): both desks are staffed around the clock unless a test sets hours (and a clock) itself
        patch.setenv("FRONTDOOR_STAFF_HOURS", "12345=24h,12355=24h")
        yield data_dir
