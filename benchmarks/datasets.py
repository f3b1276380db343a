"""Readers for the evaluation data under `../shared/data` (never copied into the repo).

Every reader returns None when its file is absent, so each benchmark can skip with a clear message
on a machine without the shared folder. Texts stay in memory only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.settings import REPO_ROOT

SHARED_DATA = Path(os.environ.get("FRONTDOOR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ROUTE_SETS = REPO_ROOT / "benchmarks" / "data"


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def gov_text(row: dict[str, Any]) -> str:
    """One gov message as a person would send it: the title on the first line, then the body."""
    title = (row.get("text") or "").strip()
    body = (row.get("detail") or "").strip()
    return f"{title}\n{body}" if body else title


@dataclass(frozen=True)
class Labeled:
    """A text with its gold label (category_l1, risk flag...)."""

    text: str
    label: str


def route_set(name: str) -> list[dict[str, Any]] | None:
    """benchmarks/data/routes_dev.jsonl or routes_holdout.jsonl (hand-labelled, in the repo)."""
    path = ROUTE_SETS / f"{name}.jsonl"
    return list(_jsonl(path)) if path.exists() else None


def gov_labeled() -> list[Labeled] | None:
    """gov_messages/labeled_495: TEST set (title + body, first-level category). Never fit on it."""
    path = SHARED_DATA / "gov_messages" / "labeled_495.jsonl"
    return [Labeled(gov_text(r), r["label"]) for r in _jsonl(path)] if path.exists() else None


def gov_unlabeled() -> list[str] | None:
    """gov_messages/unlabeled_4326 (title + body): development data (threshold tuning, centering)."""
    path = SHARED_DATA / "gov_messages" / "unlabeled_4326.jsonl"
    return [gov_text(r) for r in _jsonl(path)] if path.exists() else None


def label_hierarchy() -> list[list[str]] | None:
    """gov_messages/label_hierarchy.json: [level1, level2, level3] rows."""
    path = SHARED_DATA / "gov_messages" / "label_hierarchy.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def sos1k(split: str) -> list[tuple[str, int, int]] | None:
    """SOS-1K rows of `split` ("train" may be used for tuning; "test" is reported only): (text, level, high)."""
    path = SHARED_DATA / "sos1k" / "sos1k_suicide_zh.jsonl"
    if not path.exists():
        return None
    return [(r["text"], int(r["label"]), int(r["binary_high_risk"])) for r in _jsonl(path) if r["split"] == split]


def clinc150() -> dict[str, list[tuple[str, str]]] | None:
    """CLINC150 full: {"train", "val", "test"} -> [(text, label)], out-of-scope rows labelled "oos"."""
    path = SHARED_DATA / "clinc150" / "clinc150_full.jsonl"
    if not path.exists():
        return None
    out: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for r in _jsonl(path):
        out[r["split"]].append((r["text"], r["label"]))
    return out
