"""Add scored fresh rounds to the safety screen's examples, keeping every batch traceable.

    python -m tools.learn_from_rounds benchmarks/fresh_rounds/round-1.jsonl ...

Only rounds whose first score is already in benchmarks/fresh_rounds.md are accepted (the procedure:
score once, then learn). Crisis rows (route crisis, not the calm descriptions of an emergency, which
belong to 110/119/120) become crisis examples; hard-ordinary and decline rows become crisis
negatives (everyday 死/杀/炸 words, wishing-well requests). Each batch is written under a comment
naming the round and its writer; rows already in the file are skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.fresh_rounds import first_scored, load_round
from bot.settings import REPO_ROOT

SAFETY = REPO_ROOT / "bot" / "data" / "safety.yml"
EXAMPLES_ANCHOR = "  examples:\n"  # the first one in the file is the crisis section's
NEGATIVES_ANCHOR = "  negatives:\n"  # likewise


def _block(title: str, texts: list[str]) -> str:
    lines = [f"    # --- {title} ---"] + [f"    - {json.dumps(t, ensure_ascii=False)}" for t in texts]
    return "\n".join(lines) + "\n"


def main(paths: list[str]) -> int:
    safety = SAFETY.read_text(encoding="utf-8")
    known = set(safety.splitlines())
    for raw in paths:
        path = Path(raw)
        if not first_scored(path.stem):
            print(f"{path.stem} has no first score yet: score it once before learning from it", file=sys.stderr)
            return 2
        rows = load_round(path)
        writer = rows[0].writer
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
