"""`python -m bot.nlu.rasa_server run ...`: Rasa's own command line, with one hot path fixed.

Rasa 3.6 checks every action-server response with `jsonschema.validate(result, schema)`. That
function first re-validates the *schema* against the Draft 2020-12 meta-schema (resolving its
`$dynamicRef`s) and builds a new validator, on every call. Profiled under load (py-spy, 8
concurrent conversations) this was ~45% of the Rasa process's CPU. The schema never changes, so it
is checked once here and one validator is reused; a response that breaks the schema still raises
the same `ValidationError` with Rasa's hint appended. Everything else is plain `rasa`.

Runs in the Rasa environment (.venv-rasa, Python 3.10).
"""

from __future__ import annotations

import sys
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


def install() -> None:
    """Point Rasa's RemoteAction at the cached validator (idempotent)."""
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


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
