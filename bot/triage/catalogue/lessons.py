"""Staff-taught additions that extend the shipped catalogue: category lessons and safety lessons.

The console's 纠正与学习 page writes them into their own files under the data dir, read on top of
the shipped desk catalogues and `safety.yml`, so that a new release's catalogue and word lists still
apply on a deployment whose staff have taught it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.triage.catalogue.model import DeskCatalogue, SafetyConfig
from bot.triage.catalogue.schema import Reader

log = logging.getLogger("bot.triage.catalogue")  # the logger name these lines have always carried

SAFETY_LESSONS = "safety-lessons.yml"
"""Staff additions to the safety screen (console: 纠正与学习), kept apart from `safety.yml` so that a
new release's word list and patterns still apply on a deployment that has taught its screen."""


def parse_safety_lessons(doc: Any, path: str | Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`safety-lessons.yml` -> (crisis examples, crisis negatives) to add; both lists optional."""
    r = Reader(path)
    if doc is None:
        return (), ()
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'crisis'")
    crisis = r.mapping(doc, "crisis", "crisis")
    return (
        r.texts(crisis, "examples", "crisis", required=False),
        r.texts(crisis, "negatives", "crisis", required=False),
    )


CATEGORY_LESSONS = "lessons"
"""Folder of staff-taught category examples, one file per desk (`lessons/<desk>.yml`), read on top of
the desk catalogue, so that a new release's catalogue still applies where staff have taught it."""


def parse_category_lessons(doc: Any, path: str | Path, desk: str) -> dict[str, tuple[str, ...]]:
    """`lessons/<desk>.yml` -> category id -> examples to add."""
    r = Reader(path)
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'desk' and 'examples'")
    if str(doc.get("desk", "")) != desk:
        raise r.fail(r.line_of(doc, "desk"), f"desk must be {desk!r} (the file name)")
    examples = doc.get("examples") or {}
    if not isinstance(examples, Mapping):
        raise r.fail(r.line_of(doc, "examples"), "'examples' must map category ids to lists")
    return {str(cid): r.texts(examples, cid, f"lessons of {cid}") for cid in examples}


def with_category_lessons(
    desk: DeskCatalogue, lessons: Mapping[str, Sequence[str]], what: str = "lessons"
) -> DeskCatalogue:
    """The desk with staff-taught (or imported, `what`="history") examples added to its categories
    (duplicates dropped).

    A lesson for a category that is no longer in the catalogue is skipped with a warning: a renamed
    category must not take the whole catalogue down.
    """
    known = {c.id for c in desk.categories}
    for cid in sorted(set(lessons) - known):
        log.warning("%s for unknown category %r of desk %s skipped", what, cid, desk.desk)
    categories = tuple(
        replace(c, examples=tuple(dict.fromkeys((*c.examples, *lessons.get(c.id, ()))))) for c in desk.categories
    )
    return replace(desk, categories=categories)


def with_safety_lessons(safety: SafetyConfig, examples: Sequence[str], negatives: Sequence[str]) -> SafetyConfig:
    """The screen with staff-taught crisis examples and negatives added (duplicates dropped)."""
    return replace(
        safety,
        crisis_examples=tuple(dict.fromkeys((*safety.crisis_examples, *examples))),
        crisis_negatives=tuple(dict.fromkeys((*safety.crisis_negatives, *negatives))),
    )
