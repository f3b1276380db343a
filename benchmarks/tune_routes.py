"""Choose the desk classifier's clarify, FAQ and decline thresholds on development data only.

    python -m benchmarks.tune_routes

Runs the real engine (`decide_many`) on benchmarks/data/routes_dev.jsonl for each clarify/FAQ
threshold pair and prints route accuracy (any accepted answer). Then, for the decline bar, it also
counts how many real board messages of the weak-label dev set (with_replies_2816: departments
answered them, so none is a decline) would be turned away: routes_dev alone has too few declines to
show that cost. routes_holdout and labeled_495 are never read here.
The thresholds change no fitted model, so every run reuses the cached classifiers.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from typing import Any

from benchmarks import board_history, datasets
from benchmarks.scoring import route_correct
from bot.triage.engine import TriageEngine
from bot.triage.vocabulary import Route


def main() -> int:
    dev = datasets.route_set("routes_dev")
    if dev is None:
        print("tune_routes needs benchmarks/data/routes_dev.jsonl")
        return 1
    base = TriageEngine()
    base.warm_up()
    grid = {
        "clarify_threshold": [0.0, 0.03, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2],
        "faq_threshold": [0.05, 0.1, 0.15, 0.2, 0.3, 0.4],
    }
    results = []
    for values in itertools.product(*grid.values()):
        tuning = dataclasses.replace(base.tuning, **dict(zip(grid, values, strict=True)))
        engine = TriageEngine(base.store, base.embedder, tuning)
        correct = 0
        for desk in ("12345", "12355"):
            rows = [r for r in dev if r["desk"] == desk]
            decisions = engine.decide_many([r["text"] for r in rows], desk)
            correct += sum(route_correct(r, d.to_dict()) for r, d in zip(rows, decisions, strict=True))
        accuracy = correct / len(dev)
        results.append((values, accuracy))
        print(" ".join(f"{k}={v}" for k, v in zip(grid, values, strict=True)), f"| routes_dev accuracy {accuracy:.3f}")
        sys.stdout.flush()
    best_accuracy = max(a for _, a in results)
    # among the best, the most cautious: highest thresholds (ask rather than guess)
    best = max((r for r in results if r[1] >= best_accuracy - 1e-9), key=lambda r: r[0])
    print("\nbest:", dict(zip(grid, best[0], strict=True)), f"accuracy {best[1]:.3f}")
    decline_bar(base, dev)
    return 0


def decline_bar(base: TriageEngine, dev: list[dict[str, Any]]) -> None:
    """routes_dev accuracy and real citizens turned away, for each decline bar (the choice is a trade)."""
    board = [text for texts in board_history.weak_examples().values() for text in texts]
    print("\ndecline_threshold | routes_dev accuracy | right dev declines lost | weak-label board messages declined")
    for bar in (0.0, 0.2, 0.25, 0.3, 0.35, 0.4):
        engine = TriageEngine(base.store, base.embedder, dataclasses.replace(base.tuning, decline_threshold=bar))
        correct, lost = 0, []
        for desk in ("12345", "12355"):
            rows = [r for r in dev if r["desk"] == desk]
            for row, decision in zip(rows, engine.decide_many([r["text"] for r in rows], desk), strict=True):
                right = route_correct(row, decision.to_dict())
                correct += right
                if row["route"] == "decline" and not right:
                    lost.append(row["id"])
        declined = sum(d.route is Route.DECLINE for d in engine.decide_many(board, "12345")) if board else "n/a"
        print(f"{bar} | {correct / len(dev):.3f} | {', '.join(lost) or '-'} | {declined} of {len(board)}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
