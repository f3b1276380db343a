"""Choose the desk classifier's clarify and FAQ thresholds on routes_dev only.

    python -m benchmarks.tune_routes

Runs the real engine (`decide_many`) on benchmarks/data/routes_dev.jsonl for each threshold pair and
prints route accuracy (any accepted answer). routes_holdout is never read here.
The thresholds change no fitted model, so every run reuses the cached classifiers.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys

from benchmarks import datasets
from benchmarks.scoring import route_correct
from bot.triage.engine import TriageEngine


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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
