"""Read a JSON request body without letting it crash the app (issue 18, item 4).

`json.loads` on hostile input fails in ways that became HTTP 500: deep nesting raises RecursionError,
a number of more than 4,300 digits raises ValueError (Python's int-size guard), and a lone surrogate
("\\ud800") parses fine but breaks later at the database insert. Here each is refused up front with
a `BadJson` that says what is wrong; the routes answer it with 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 20
"""Nesting of arrays and objects; our largest real body (a Telegram update) is about 6 deep."""
MAX_NUMBER_CHARS = 40
"""Longest number literal: a Telegram id is 13 digits, a message id a few more."""
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class BadJson(ValueError):
    """The body is not JSON this app will read; `str()` is the message for the client."""


def _depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings, without recursion."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _number(kind: type) -> Any:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise BadJson(
                f"a number in the body has {len(literal)} characters; at most {MAX_NUMBER_CHARS} are accepted"
            )
        value = kind(literal)
        if value in (float("inf"), float("-inf")):
            raise BadJson(f"the number {literal} is out of range")
        return value

    return parse


def _constant(name: str) -> Any:
    raise BadJson(f"{name} is not valid JSON; send numbers as plain digits")


def _check_text(value: Any) -> None:
    """Refuse lone surrogates anywhere in keys or strings (they cannot be stored or encoded as UTF-8)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BadJson(
                    "the body contains an unpaired surrogate (\\ud800-\\udfff); send valid Unicode text"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_json(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body, or BadJson with a message a client can act on."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("the body is not UTF-8 JSON: it has bytes that are not valid UTF-8") from None
    if _depth(text) > max_depth:
        raise BadJson(f"the JSON is nested more than {max_depth} levels deep")
    try:
        value = json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_constant)
    except BadJson:
        raise
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise BadJson(f"the body is not valid UTF-8 JSON ({str(exc)[:80]})") from None
    _check_text(value)
    return value
