"""`python -m bot.security.action_server --actions actions -p 5055`: rasa-sdk's action server, with a secret.

rasa-sdk 3.21 has no authentication: anyone who reaches `/webhook` runs any action on a tracker they
made up (e.g. reads any ticket's status). Rasa 3.6 sends the `token` of endpoints.yml's
action_endpoint as the query parameter `token` on every call, so this server answers only requests
that carry FRONTDOOR_ACTION_TOKEN there (or as `Authorization: Bearer ...`), and 401 to the rest.
`GET /health` stays open: it says nothing but "ok" and the launcher and the gateway poll it.

Same start-up as `python -m rasa_sdk` (its argument parser, its AppLoader/Sanic.serve, one worker
process); only the app factory differs. It runs in the app environment (.venv-app).
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from functools import partial
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import Settings

TOKEN_VARIABLE = "FRONTDOOR_ACTION_TOKEN"
TOKEN_PARAM = "token"  # Rasa's EndpointConfig default token_name
OPEN_PATHS = frozenset({"/health"})

log = logging.getLogger(__name__)


def token_matches(request: Request, expected: str) -> bool:
    """True when the request carries the shared secret (query `token` or a bearer header)."""
    given = request.args.get(TOKEN_PARAM) or ""
    if not given:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def protect(app: Sanic, token: str) -> Sanic:
    """Refuse every request but /health that lacks the secret, before the body is parsed."""

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or token_matches(request, token):
            return None
        return response.json({"error": "the action server needs its token (FRONTDOOR_ACTION_TOKEN)"}, status=401)

    return app


def create_protected_app(executor: Any, token: str, **kwargs: Any) -> Sanic:
    """rasa-sdk's own app for one worker, with the token check in front (module level: AppLoader pickles it)."""
    from rasa_sdk.endpoint import create_app_for_serve

    return protect(create_app_for_serve(executor, **kwargs), token)


def main(argv: list[str] | None = None) -> int:
    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.endpoint import create_argument_parser
    from rasa_sdk.executor import ActionExecutor
    from sanic.worker.loader import AppLoader

    args = create_argument_parser().parse_args(argv)
    token = Settings().action_token
    if not token:
        print(
            f"{TOKEN_VARIABLE} is not set: the action server refuses to run without its shared secret.", file=sys.stderr
        )
        return 2
    if args.grpc or args.ssl_certificate:
        print("this entry point serves plain HTTP on a private address only (no --grpc, no TLS)", file=sys.stderr)
        return 2
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    loader = AppLoader(
        factory=partial(
            create_protected_app,
            executor,
            token,
            cors_origins=None,  # nobody calls it from a browser
            auto_reload=args.auto_reload,
            endpoints=args.endpoints,
        )
    )
    app = loader.load()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")  # rasa-sdk's default is 0.0.0.0
    log.info("action server on http://%s:%s (token required)", host, args.port)
    app.prepare(host=host, port=args.port, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
