"""Recount the route accuracy of recorded fresh-round scores under the corrected `accept` rule.

Until 2026-12-07 the round loader let a row's `accept` list *replace* its labelled route, while the
writers (PROCEDURE.md) list the routes that are *also* right: an engine that answered exactly the
labelled route of such a row was counted wrong. About half of every round's rows carry `accept`, so
rounds 1-13 were scored 14-30 points low. Their first scores cannot be taken again (the rounds have
been learned from), but each record lists every row it counted wrong with the engine's answer of
that moment: a listed row whose answer equals its labelled route was right. Nothing is re-triaged;
only the recorded answers are recounted.

    python -m benchmarks.fresh_recount            # a Markdown table of every recorded score
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORD_FILE = HERE / "fresh_rounds.md"
ROUNDS_DIR = HERE / "fresh_rounds"

HEADING = re.compile(r"^## (first score|rerun): (round-\d+) \(([^)]*)\)$", re.M)
ACCURACY = re.compile(r"^\| route accuracy \| ([\d.]+)% of (\d+) \|", re.M)
MISS = re.compile(r"^- (\S+) \([^)]*\): \S+ -> (\S+)$", re.M)


@dataclass(frozen=True)
class Recount:
    kind: str  # "first score" or "rerun"
    round: str
    when: str
    n: int
    recorded: float  # route accuracy as recorded, in %
    labelled_right: int  # rows listed as wrong whose answer was their labelled route

    @property
    def corrected(self) -> float:
        wrong = self.n - round(self.recorded * self.n / 100)
        return 100 * (self.n - wrong + self.labelled_right) / self.n


def labelled_routes(path: Path) -> dict[str, str]:
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {row["id"]: row["route"] for row in rows}


def recount(record: str, rounds_dir: Path = ROUNDS_DIR) -> list[Recount]:
    """Every recorded score of `record` (the text of fresh_rounds.md), recounted from its miss list."""
    headings = list(HEADING.finditer(record))
    results = []
    for i, heading in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(record)
        section = record[heading.end() : end]
        accuracy = ACCURACY.search(section)
        if accuracy is None:
            continue
        kind, name, when = heading.groups()
        routes = labelled_routes(rounds_dir / f"{name}.jsonl")
        right = sum(1 for row_id, answer in MISS.findall(section) if routes.get(row_id) == answer)
        results.append(Recount(kind, name, when, int(accuracy.group(2)), float(accuracy.group(1)), right))
    return results


def render(results: Sequence[Recount]) -> str:
    lines = [
        "| score | round | taken | rows | route accuracy as recorded | recounted | labelled answers counted wrong |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.kind} | {r.round} | {r.when} | {r.n} | {r.recorded:.1f}% | **{r.corrected:.1f}%** "
            f"| {r.labelled_right} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", type=Path, default=RECORD_FILE, help="the record to recount")
    args = parser.parse_args(argv)
    print(render(recount(args.record.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
