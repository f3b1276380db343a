"""Test-wide settings.

tests/rasa_components run inside the Rasa environment (.venv-rasa, Python 3.10), where their
subject lives; `make unit` runs them there. The app environment has no Rasa, so it does not
collect them (instead of reporting them as skipped).
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("rasa") else ["rasa_components"]
