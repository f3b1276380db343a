"""Test-wide settings.

tests/rasa_components run inside the Rasa environment (.venv-rasa, Python 3.10), where their
subject lives; `make unit` runs them there. The app environment has no Rasa, so it does not
collect them (instead of reporting them as skipped).

Under CI=true no test may be skipped: a skip there fails the run (tests/support/ci.py).
"""

import importlib.util

from tests.support.ci import pytest_sessionfinish  # noqa: F401 - the hook: under CI a skip fails the run

collect_ignore = [] if importlib.util.find_spec("rasa") else ["rasa_components"]
