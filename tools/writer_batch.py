"""Turn a writer's JSONL (`{"desk", "entry", "text", "writer"}` per line) into `bot/data/writers/<slug>.yml`.

    python -m tools.writer_batch /work/fresh/train/xiaoyu.jsonl --slug xiaoyu --persona "16, 高二, Chengdu"

Entries are `decline:<id>`, `refer:<id>`, `crisis` and `not_crisis` (the writers' brief). The review
happens here, before anything is written, and its counts are printed:
- texts already in the catalogue, in the safety screen's lists or in an earlier batch are dropped;
- a `not_crisis` text that a crisis word or pattern matches is dropped and listed: the screen says
  crisis whatever the learned side learns, so either the word list or the label is wrong, and a
  person decides which (the catalogue checks refuse such a negative anyway);
- an entry the catalogue does not have stops the import (a typo must not vanish silently).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from bot.text import normalise
from bot.triage.catalogue import YamlCatalogueSource
from bot.triage.catalogue.lines import parse_yaml
from bot.triage.catalogue.source import DEFAULT_DATA_DIR
from bot.triage.catalogue.writers import WRITERS, parse_writer_batch

KIND_OF_PREFIX = {"decline": "declines", "refer": "referrals"}


def _known_texts(data_dir: Path, skip: Path) -> tuple[set[str], set[str]]:
    """(desk entry examples, safety examples and negatives) already shipped, other batches included: a
    decline may also be a crisis negative (the screen and the desk classifier learn different things)."""
    catalogue = YamlCatalogueSource(data_dir).load()
    safety: set[str] = set(catalogue.safety.crisis_examples) | set(catalogue.safety.crisis_negatives)
    entries: set[str] = set()
    for desk in catalogue.desks.values():
        for group in (desk.categories, desk.referrals, desk.declines):
            for entry in group:
                entries.update(entry.examples)
    for path in sorted((data_dir / WRITERS).glob("*.yml")):
        if path.resolve() != skip.resolve():
            batch = parse_writer_batch(parse_yaml(path.read_text(encoding="utf-8"), path), path)
            safety.update(batch.crisis_examples, batch.crisis_negatives)
            for kinds in batch.desks.values():
                for per_entry in kinds.values():
                    for texts in per_entry.values():
                        entries.update(texts)
    return entries, safety


def build(rows: list[dict[str, Any]], data_dir: Path, out: Path, persona: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the batch document, the review counts)."""
    catalogue = YamlCatalogueSource(data_dir).load()
    safety = catalogue.safety
    crisis_words = [re.compile(re.escape(w)) for w in safety.crisis_lexicon] + [
        re.compile(p) for p in safety.crisis_patterns
    ]
    known_entries, known_safety = _known_texts(data_dir, out)
    writers = {str(r.get("writer") or "") for r in rows}
    if len(writers) != 1 or not next(iter(writers)):
        raise SystemExit(f"one writer per batch, got {sorted(writers)}")
    desks: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    crisis: dict[str, list[str]] = {"examples": [], "negatives": []}
    review: dict[str, Any] = {"rows": len(rows), "duplicates": 0, "negatives_matching_crisis_words": []}
    seen: set[str] = set()
    for row in rows:
        desk, entry, text = str(row["desk"]), str(row["entry"]), " ".join(str(row["text"]).split())
        known = known_safety if entry in ("crisis", "not_crisis") else known_entries
        if not text or text in known or text in seen:
            review["duplicates"] += 1
            continue
        seen.add(text)
        if entry == "crisis":
            crisis["examples"].append(text)
        elif entry == "not_crisis":
            norm = normalise(text)
            if any(p.search(norm) for p in crisis_words):
                review["negatives_matching_crisis_words"].append(text)
                continue
            crisis["negatives"].append(text)
        else:
            prefix, _, entry_id = entry.partition(":")
            kind = KIND_OF_PREFIX.get(prefix)
            desk_catalogue = catalogue.desks.get(desk)
            if kind is None or desk_catalogue is None:
                raise SystemExit(f"unknown entry {entry!r} of desk {desk!r}")
            ids = {e.id for e in (desk_catalogue.referrals if kind == "referrals" else desk_catalogue.declines)}
            if entry_id not in ids:
                raise SystemExit(f"desk {desk} has no {kind[:-1]} {entry_id!r} (known: {sorted(ids)})")
            desks[desk][kind][entry_id].append(text)
    doc = {
        "writer": next(iter(writers)),
        "persona": persona,
        "desks": {d: {k: dict(v) for k, v in kinds.items()} for d, kinds in sorted(desks.items())},
        "crisis": crisis,
    }
    review["kept"] = len(seen) - len(review["negatives_matching_crisis_words"])
    return doc, review


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("--slug", required=True, help="file name under bot/data/writers/")
    parser.add_argument("--persona", required=True, help="who the writer is and how they were briefed")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = args.data_dir / WRITERS / f"{args.slug}.yml"
    doc, review = build(rows, args.data_dir, out, args.persona)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Writer's batch, imported with tools/writer_batch.py from {args.jsonl.name}; see bot/triage/catalogue/writers.py\n"
    out.write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    print(json.dumps({"file": str(out), **review}, ensure_ascii=False, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
