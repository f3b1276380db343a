"""The app's routes, walked rather than listed, so a route added later is covered by the security tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

SAMPLE_PARAMS = {"desk": "12345", "conversation_id": "12345:web:p1", "username": "someone", "version": "1"}


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path template, methods) of every route, through mounts."""
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(list(route.routes or []), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, set(route.methods or ())


def concrete(template: str) -> str:
    """A path a request can be sent to: {desk} -> 12345, {id:int} -> 1, ..."""

    def fill(match: re.Match[str]) -> str:
        name, _, kind = match.group(1).partition(":")
        return "1" if kind == "int" else SAMPLE_PARAMS.get(name, "1")

    return re.sub(r"\{([^}]+)\}", fill, template)


def post_routes(app: Starlette) -> list[str]:
    return sorted({template for template, methods in walk(list(app.routes)) if "POST" in methods})
