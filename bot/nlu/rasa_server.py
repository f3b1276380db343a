"""`python -m bot.nlu.rasa_server run ...`: Rasa's own command line, with two hot paths fixed.

1. Rasa 3.6 checks every action-server response with `jsonschema.validate(result, schema)`. That
   function first re-validates the *schema* against the Draft 2020-12 meta-schema (resolving its
   `$dynamicRef`s) and builds a new validator, on every call. Profiled under load (py-spy, 8
   concurrent conversations) this was ~45% of the Rasa process's CPU. The schema never changes, so
   it is checked once here and one validator is reused; a response that breaks the schema still
   raises the same `ValidationError` with Rasa's hint appended.
2. Rasa's SQL tracker store leaves SQLite on SQLAlchemy 1.4's default for files, NullPool: a new
   connection (and its PRAGMAs and WAL index read) for every read and every write of a tracker.
   Here SQLite files get a small QueuePool, as SQLAlchemy 2 does by default; other databases keep
   Rasa's own settings.
Everything else is plain `rasa`.

Runs in the Rasa environment (.venv-rasa, Python 3.10).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)  # the class jsonschema.validate() would pick
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_response(result: dict[str, Any]) -> None:
    """Same contract as `jsonschema.validate(result, RemoteAction.action_response_format_spec())`."""
    from jsonschema.exceptions import best_match

    error = best_match(_response_validator().iter_errors(result))
    if error is not None:
        raise error


def sqlite_pool_kwargs(url: Any, rasa_kwargs: dict[str, Any]) -> dict[str, Any]:
    """`create_engine` kwargs for Rasa's tracker store: a connection pool for SQLite files."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import QueuePool

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return rasa_kwargs
    return {**rasa_kwargs, "poolclass": QueuePool, "connect_args": {"check_same_thread": False}}


def install() -> None:
    """Point Rasa's RemoteAction at the cached validator and pool SQLite connections (idempotent)."""
    from jsonschema import ValidationError
    from rasa.core.actions import action as rasa_action

    def _validate_action_result(self: rasa_action.RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validate_action_response(result)
            return True
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response "
                "from the Action endpoint is valid. For more information about the format visit "
                f"{rasa_action.DOCS_BASE_URL}/custom-actions"
            )
            raise

    rasa_action.RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]

    from rasa.core import tracker_store

    rasa_kwargs = getattr(tracker_store.create_engine_kwargs, "rasa_original", tracker_store.create_engine_kwargs)

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        return sqlite_pool_kwargs(url, rasa_kwargs(url))

    create_engine_kwargs.rasa_original = rasa_kwargs  # type: ignore[attr-defined]
    tracker_store.create_engine_kwargs = create_engine_kwargs


TOKEN_VARIABLE = "FRONTDOOR_RASA_TOKEN"


def with_auth_token(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """`rasa run` arguments with `--auth-token` taken from FRONTDOOR_RASA_TOKEN.

    Rasa 3.6 reads its API token only from `--auth-token` (rasa/cli/arguments/run.py; no environment
    variable, no endpoints.yml key). A command line is world-readable (`ps`, /proc/<pid>/cmdline)
    while /proc/<pid>/environ is the owner's only, so the launcher puts the token in the environment
    and it is added here, inside the process, where changing sys.argv shows in no process listing.
    One argument `--auth-token=...`: a token may start with "-".
    """
    token = environ.get(TOKEN_VARIABLE, "").strip()
    if len(argv) < 2 or argv[1] != "run" or not token or any(a.startswith("--auth-token") for a in argv):
        return list(argv)
    return [*argv, f"--auth-token={token}"]


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[:] = with_auth_token(["rasa", *sys.argv[1:]], os.environ)
    rasa_main()


if __name__ == "__main__":
    main()
