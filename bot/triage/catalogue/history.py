"""A deployment's own past tickets, imported as examples: the history layer of a desk catalogue.

`python -m bot.triage.history import` (bot/triage/history.py) writes `history/<desk>.yml` under the
console's override folder (<FRONTDOOR_DATA_DIR>/catalogue/), read on top of the desk catalogue and its
staff lessons, like the lessons: a new release's catalogue still applies on a deployment that has
imported its history. The file holds batches, one per import, so that one import can be taken out
again; the examples are masked before they are written.

    desk: "12345"
    batches:
      - id: 20261208-101500-3f2a9c
        imported_at: "2026-12-08T10:15:00+00:00"
        file: history.csv
        rows: 30          # rows read from the file
        examples:         # category id -> masked examples added by this batch
          urban_management: [..., ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.triage.catalogue.schema import Reader

CATEGORY_HISTORY = "history"
"""Folder of imported history, one file per desk (`history/<desk>.yml`), read on top of the desk
catalogue and its lessons."""


@dataclass(frozen=True)
class HistoryBatch:
    """One import: where it came from and the examples it added, by category id."""

    id: str
    imported_at: str
    file: str
    rows: int
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """Other recorded fields (date range, departments, refused rows): kept, not interpreted."""

    @property
    def added(self) -> int:
        return sum(len(v) for v in self.examples.values())


def parse_history(doc: Any, path: str | Path, desk: str) -> list[HistoryBatch]:
    """`history/<desk>.yml` -> its batches, oldest first (an empty file or `batches: []` is none)."""
    r = Reader(path)
    if doc is None:
        return []
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'desk' and 'batches'")
    if str(doc.get("desk", "")) != desk:
        raise r.fail(r.line_of(doc, "desk"), f"desk must be {desk!r} (the file name)")
    batches = doc.get("batches") or []
    if not isinstance(batches, list):
        raise r.fail(r.line_of(doc, "batches"), "'batches' must be a list")
    out: list[HistoryBatch] = []
    seen: set[str] = set()
    for i, batch in enumerate(batches):
        if not isinstance(batch, Mapping):
            raise r.fail(r.line_of(batches, i), f"batch {i + 1}: expected a mapping")
        batch_id = r.text(batch, "id", f"batch {i + 1}")
        if batch_id in seen:
            raise r.fail(r.line_of(batch, "id"), f"batch id {batch_id!r} appears twice")
        seen.add(batch_id)
        examples = batch.get("examples") or {}
        if not isinstance(examples, Mapping):
            raise r.fail(r.line_of(batch, "examples"), f"batch {batch_id}: 'examples' must map category ids to lists")
        rows = batch.get("rows", 0)
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise r.fail(r.line_of(batch, "rows"), f"batch {batch_id}: 'rows' must be a whole number")
        known = {"id", "imported_at", "file", "rows", "examples"}
        out.append(
            HistoryBatch(
                id=batch_id,
                imported_at=r.text(batch, "imported_at", f"batch {batch_id}", required=False),
                file=r.text(batch, "file", f"batch {batch_id}", required=False),
                rows=rows,
                examples={str(cid): r.texts(examples, cid, f"batch {batch_id}, {cid}") for cid in examples},
                extra={str(k): _plain(v) for k, v in batch.items() if k not in known},
            )
        )
    return out


def _plain(value: Any) -> Any:
    """A parsed value without the line-keeping containers (so that it can be written out again)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def history_examples(batches: list[HistoryBatch]) -> dict[str, tuple[str, ...]]:
    """Category id -> the examples of every batch, oldest batch first (what the desk learns from)."""
    merged: dict[str, list[str]] = {}
    for batch in batches:
        for cid, texts in batch.examples.items():
            merged.setdefault(cid, []).extend(texts)
    return {cid: tuple(texts) for cid, texts in merged.items()}
