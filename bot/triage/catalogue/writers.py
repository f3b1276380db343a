"""Writers' batches: training examples written by independent writers, one file per writer.

Issue 15 asks for far more, and more varied, examples than one voice writes: many writers, each
briefed differently (a teenager, a retiree, a migrant worker, an office worker, a parent), and each
batch traceable. A batch lives in `bot/data/writers/<slug>.yml`, read on top of the desk catalogues
and `safety.yml`, so a batch can be reviewed, measured and removed as one file:

    writer: 小鱼-成都高二
    persona: 16, 高二 in Chengdu; QQ and Douyin slang, Traditional for a Hong Kong cousin, English
    brief: what the writer was told (the entries and quotas; never the repo's data)
    desks:
      "12345":
        declines: {wishing_well: [...], privacy: [...]}
        referrals: {litigation: [...]}
    crisis:
      examples: [...]     # risk of suicide or self-harm, any wording (the learned screen's crisis side)
      negatives: [...]    # alarming-looking but ordinary (its ordinary side)

Entries a batch names that the catalogue no longer has are skipped with a warning, like staff
lessons: a renamed entry must not take the catalogue down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from bot.triage.catalogue.lessons import with_safety_lessons
from bot.triage.catalogue.model import Decline, DeskCatalogue, Referral, SafetyConfig
from bot.triage.catalogue.schema import Reader

log = logging.getLogger("bot.triage.catalogue")
E = TypeVar("E", Referral, Decline)

WRITERS = "writers"
"""Folder of writers' batches under the data dir (`writers/<slug>.yml`)."""

KINDS = ("referrals", "declines")
"""Desk entries a batch may add examples to (categories grow through staff lessons and history)."""


@dataclass(frozen=True)
class WriterBatch:
    """One writer's examples: per desk, per entry kind, per entry id; and crisis examples/negatives."""

    writer: str
    persona: str
    desks: Mapping[str, Mapping[str, Mapping[str, tuple[str, ...]]]] = field(default_factory=dict)
    crisis_examples: tuple[str, ...] = ()
    crisis_negatives: tuple[str, ...] = ()

    def size(self) -> int:
        per_desk = sum(len(texts) for kinds in self.desks.values() for e in kinds.values() for texts in e.values())
        return per_desk + len(self.crisis_examples) + len(self.crisis_negatives)


def parse_writer_batch(doc: Any, path: str | Path) -> WriterBatch:
    """`writers/<slug>.yml` -> WriterBatch (CatalogueError with the line for anything malformed)."""
    r = Reader(path)
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'writer', 'persona' and 'desks'")
    writer = str(doc.get("writer") or "").strip()
    if not writer:
        raise r.fail(1, "a batch needs its writer's pseudonym ('writer'), so every example stays traceable")
    desks_doc = doc.get("desks") or {}
    if not isinstance(desks_doc, Mapping):
        raise r.fail(r.line_of(doc, "desks"), "'desks' must map desk codes to entry kinds")
    desks: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {}
    for desk, kinds in desks_doc.items():
        if not isinstance(kinds, Mapping):
            raise r.fail(r.line_of(desks_doc, desk), f"desk {desk}: expected 'referrals' and/or 'declines'")
        for kind, entries in kinds.items():
            if kind not in KINDS:
                raise r.fail(r.line_of(kinds, kind), f"desk {desk}: unknown kind {kind!r} (use {', '.join(KINDS)})")
            if not isinstance(entries, Mapping):
                raise r.fail(r.line_of(kinds, kind), f"desk {desk} {kind}: expected entry ids mapped to lists")
            desks.setdefault(str(desk), {})[str(kind)] = {
                str(eid): r.texts(entries, eid, f"{desk} {kind} {eid}") for eid in entries
            }
    crisis = doc.get("crisis") or {}
    if not isinstance(crisis, Mapping):
        raise r.fail(r.line_of(doc, "crisis"), "'crisis' must have 'examples' and/or 'negatives'")
    return WriterBatch(
        writer=writer,
        persona=str(doc.get("persona") or ""),
        desks=desks,
        crisis_examples=r.texts(crisis, "examples", "crisis", required=False) if crisis else (),
        crisis_negatives=r.texts(crisis, "negatives", "crisis", required=False) if crisis else (),
    )


def _added(existing: tuple[str, ...], more: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*existing, *more)))


def with_writer_batches(desk: DeskCatalogue, batches: Sequence[WriterBatch]) -> DeskCatalogue:
    """The desk with every batch's referral and decline examples added (duplicates dropped)."""
    return replace(
        desk,
        referrals=_with_examples(desk.desk, "referrals", desk.referrals, batches),
        declines=_with_examples(desk.desk, "declines", desk.declines, batches),
    )


def _with_examples(desk: str, kind: str, entries: tuple[E, ...], batches: Sequence[WriterBatch]) -> tuple[E, ...]:
    known = {e.id: e for e in entries}
    for batch in batches:
        for entry_id, texts in batch.desks.get(desk, {}).get(kind, {}).items():
            entry = known.get(entry_id)
            if entry is None:
                log.warning("writer %s: %s %r of desk %s unknown, skipped", batch.writer, kind, entry_id, desk)
                continue
            known[entry_id] = replace(entry, examples=_added(entry.examples, texts))
    return tuple(known.values())


def with_writer_crisis(safety: SafetyConfig, batches: Sequence[WriterBatch]) -> SafetyConfig:
    """The screen with every batch's crisis examples and negatives added."""
    for batch in batches:
        safety = with_safety_lessons(safety, batch.crisis_examples, batch.crisis_negatives)
    return safety
