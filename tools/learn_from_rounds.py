"""Add scored fresh rounds to the safety screen's examples, keeping every batch traceable.

    python -m tools.learn_from_rounds benchmarks/fresh_rounds/round-1.jsonl ...
    python -m tools.learn_from_rounds --entries-only benchmarks/fresh_rounds/round-1.jsonl ...

Only rounds whose first score is already in benchmarks/fresh_rounds.md are accepted (the procedure:
score once, then learn). Crisis rows (route crisis, not the calm descriptions of an emergency, which
belong to 110/119/120) become crisis examples; hard-ordinary and decline rows become crisis
negatives (everyday 死/杀/炸 words, wishing-well requests). Each batch is written under a comment
naming the round and its writer; rows already in the file are skipped.

Decline rows and referral rows also become a writer's batch (`bot/data/writers/<round>.yml`, through
`tools.writer_batch`): a decline under the reason its family names (another person's data -> privacy,
private errands and queues -> private_errand, the rest -> wishing_well), a referral under the desk's
referral to the channel the writer named (skipped when the desk has no referral to it).

`--entries-only` writes that batch alone and leaves the safety screen as it is: rounds 1-10 joined so
on 2026-12-07, because their rows in safety.yml moved the learned score both ways (with their crisis
rows, routes_dev false alarms 10 -> 13, two of them joyful "我死了😭" at 0.97; with their negatives
alone, 8 more unlearned crises of rounds 1-6 fell below the check-in), while their crisis rows, kept
out of the screen, stay a check of how it meets wording it has not learned.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from benchmarks.fresh_rounds import Row, first_scored, load_round
from bot.settings import REPO_ROOT
from bot.triage.catalogue import YamlCatalogueSource
from bot.triage.catalogue.source import DEFAULT_DATA_DIR
from bot.triage.catalogue.writers import WRITERS
from tools.writer_batch import build

SAFETY = REPO_ROOT / "bot" / "data" / "safety.yml"
EXAMPLES_ANCHOR = "  examples:\n"  # the first one in the file is the crisis section's
NEGATIVES_ANCHOR = "  negatives:\n"  # likewise


def _block(title: str, texts: list[str]) -> str:
    lines = [f"    # --- {title} ---"] + [f"    - {json.dumps(t, ensure_ascii=False)}" for t in texts]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="+", type=Path, help="scored round files (JSONL)")
    parser.add_argument("--entries-only", action="store_true", help="the declines and referrals batch alone")
    args = parser.parse_args(argv)
    safety = SAFETY.read_text(encoding="utf-8")
    known = set(safety.splitlines())
    for path in args.rounds:
        if not first_scored(path.stem):
            print(f"{path.stem} has no first score yet: score it once before learning from it", file=sys.stderr)
            return 2
        rows = load_round(path)
        writer = rows[0].writer
        if args.entries_only:
            _entries_batch(path, rows)
            continue
        positives = [
            r.text
            for r in rows
            if r.route == "crisis"
            and not r.family.startswith("calm")
            and f"    - {json.dumps(r.text, ensure_ascii=False)}" not in known
        ]
        negatives = [
            r.text
            for r in rows
            if r.kind in ("hard_ordinary", "decline") and f"    - {json.dumps(r.text, ensure_ascii=False)}" not in known
        ]
        title = f"fresh {path.stem} (writer: {writer}), learned after its first score"
        at = safety.index(EXAMPLES_ANCHOR) + len(EXAMPLES_ANCHOR)
        safety = safety[:at] + _block(title, positives) + safety[at:]
        at = safety.index(NEGATIVES_ANCHOR) + len(NEGATIVES_ANCHOR)
        safety = safety[:at] + _block(title, negatives) + safety[at:]
        print(f"{path.stem}: {len(positives)} crisis examples, {len(negatives)} negatives", file=sys.stderr)
        SAFETY.write_text(safety, encoding="utf-8")
        _entries_batch(path, rows)
    return 0


def decline_reason(family: str) -> str:
    """The decline reason a writer's family names ("another-person-data" -> privacy)."""
    if any(word in family for word in ("data", "privacy", "address", "phone-number")):
        return "privacy"
    if any(word in family for word in ("errand", "queue", "ticket", "homework")):
        return "private_errand"
    if "illegal" in family:
        return "illegal"
    return "wishing_well"


def _entries_batch(path: Path, rows: list[Row]) -> None:
    catalogue = YamlCatalogueSource(DEFAULT_DATA_DIR).load()
    entries: list[dict[str, str]] = []
    for r in rows:
        if r.route == "decline":
            entries.append({"desk": r.desk, "entry": f"decline:{decline_reason(r.family)}", "text": r.text})
        elif r.route == "refer" and r.channel:
            referral = next((e for e in catalogue.desks[r.desk].referrals if e.channel == r.channel), None)
            if referral is not None:
                entries.append({"desk": r.desk, "entry": f"refer:{referral.id}", "text": r.text})
    if not entries:
        return
    writer = rows[0].writer
    out = DEFAULT_DATA_DIR / WRITERS / f"{path.stem}.yml"
    doc, review = build(
        [{**e, "writer": writer} for e in entries], DEFAULT_DATA_DIR, out, f"fresh {path.stem}, after its first score"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
    print(f"{path.stem}: {review['kept']} decline and referral examples -> {out.name}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
