"""Choose the safety screen's thresholds on development data only.

    python -m benchmarks.tune_safety

Reads SOS-1K *train* (recall of high-risk posts), gov_messages *unlabeled_4326* (how many ordinary
citizen messages get flagged) and benchmarks/data/routes_dev.jsonl (hand-labelled: crisis/emergency
recall must stay 100%, ordinary false alarms near zero). Never the SOS-1K test split, labeled_495 or
routes_holdout: those are reported by `python -m benchmarks.eval` only.

For each threshold combination it runs the real `SafetyScreen.screen` (the engine's code, with a
modified `Tuning`) and prints the trade-off; the best combination under the constraints is printed
last, to be copied into `bot/triage/tuning.py` by a person.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks import datasets
from bot.triage.desk import DeskModel
from bot.triage.embedding import embed, prepare
from bot.triage.engine import TriageEngine
from bot.triage.lexicon import LexiconHit, SafetyLexicon
from bot.triage.safety import SafetyScreen
from bot.triage.vocabulary import Route

MAX_GOV_FLAGGED = 0.010
"""Share of unlabeled gov messages the screen may flag (the goal on labeled_495 is <= 2%)."""
MAX_DEV_FALSE_ALARMS = 10
"""Ordinary routes_dev messages that may be flagged. The goal is <= 2% (4 of the 208 everyday rows),
but routes_dev also holds 40 hard negatives written to find the screen's limits (death idioms, jokes,
past events: dev-309..348), and the lexicon alone flags some of those on purpose: "作业多到想死哈哈"
is still answered with care. 10 of 248 at the settings chosen on 2026-11-23."""
MIN_DEV_SAFETY_RECALL = 0.98
"""Hand-labelled crisis/emergency rows of routes_dev that must be flagged (100 rows; the goal is all)."""


class _MemoLexicon(SafetyLexicon):
    """The same lexicon, memoised: the grid screens the same texts many times."""

    def __init__(self, inner: SafetyLexicon) -> None:
        super().__init__(inner.crisis, inner.emergency)

    @functools.lru_cache(maxsize=50_000)  # noqa: B019 - lives as long as the script
    def match_all(self, text: str | None) -> list[LexiconHit]:
        return super().match_all(text)


@dataclass
class Prepared:
    """Everything the screen needs for a set of texts on one desk (first messages, no history)."""

    norms: list[str]
    safety_scores: np.ndarray
    desk_proba: np.ndarray
    desk_classes: list[str]
    margins: np.ndarray


def prepare_set(engine: TriageEngine, texts: Sequence[str], desk: str) -> Prepared:
    """Normalise, embed and score `texts` exactly as `TriageEngine.decide_many` does."""
    models = engine._current()
    desk_model: DeskModel = models.desks[desk]
    pairs = [prepare(t) for t in texts]
    vectors = embed(engine.embedder, [v for _, v in pairs])
    return Prepared(
        [n for n, _ in pairs],
        models.screen.model.scores(vectors),
        desk_model.proba([v for _, v in pairs], vectors),
        desk_model.classifier.classes_,
        models.screen.model.lookalike_margin(vectors),
    )


def flags(screen: SafetyScreen, data: Prepared) -> np.ndarray:
    """Route per text: 0 nothing, 1 crisis, 2 emergency."""
    out = np.zeros(len(data.norms), dtype=int)
    for i, norm in enumerate(data.norms):
        ev = screen.evidence(data.safety_scores[i], data.desk_classes, data.desk_proba[i], float(data.margins[i]))
        r = screen.screen(norm, ev).route
        out[i] = 0 if r is None else (1 if r is Route.CRISIS else 2)
    return out


def main() -> int:
    sos = datasets.sos1k("train")
    gov = datasets.gov_unlabeled()
    dev = datasets.route_set("routes_dev")
    if sos is None or gov is None or dev is None:
        print("tune_safety needs ../shared/data (sos1k, gov_messages) and benchmarks/data/routes_dev.jsonl")
        return 1
    engine = TriageEngine()
    models = engine._current()
    lexicon = _MemoLexicon(models.screen.lexicon)
    print("[tune] preparing sets ...", file=sys.stderr)
    sos_high = np.array([h for _, _, h in sos]) == 1
    sets = {f"sos@{d}": prepare_set(engine, [t for t, _, _ in sos], d) for d in ("12345", "12355")}
    sets["gov@12345"] = prepare_set(engine, gov, "12345")
    dev_sets = {d: [r for r in dev if r["desk"] == d] for d in ("12345", "12355")}
    for d, rows in dev_sets.items():
        sets[f"dev@{d}"] = prepare_set(engine, [r["text"] for r in rows], d)
    dev_safe = {d: np.array([r["route"] in ("crisis", "emergency") for r in rows]) for d, rows in dev_sets.items()}

    grid = {
        "crisis_threshold": [0.45, 0.5, 0.55, 0.6, 0.65],
        "emergency_threshold": [0.6, 0.7, 0.8],
        "emergency_long_support": [0.3, 0.4],
        "lookalike_margin": [0.03],
        "relative_floor": [0.0, 0.1, 0.2, 0.3],
    }
    results = []
    for values in itertools.product(*grid.values()):
        tuning = dataclasses.replace(engine.tuning, **dict(zip(grid, values, strict=True)))
        screen = SafetyScreen(lexicon, models.screen.model, tuning)
        f = {name: flags(screen, data) for name, data in sets.items()}
        sos_recall = min(float(np.mean(f[f"sos@{d}"][sos_high] > 0)) for d in ("12345", "12355"))
        gov_rate = float(np.mean(f["gov@12345"] > 0))
        dev_fa = sum(int(np.sum(f[f"dev@{d}"][~dev_safe[d]] > 0)) for d in dev_safe)
        dev_recall = float(np.mean(np.concatenate([f[f"dev@{d}"][dev_safe[d]] > 0 for d in dev_safe])))
        results.append((values, sos_recall, gov_rate, dev_fa, dev_recall))
        print(
            " ".join(f"{k}={v}" for k, v in zip(grid, values, strict=True)),
            f"| SOS-train high-risk recall {sos_recall:.3f} | gov flagged {gov_rate:.4f}"
            f" | dev false alarms {dev_fa} | dev safety recall {dev_recall:.3f}",
        )
    ok = [
        r for r in results if r[2] <= MAX_GOV_FLAGGED and r[3] <= MAX_DEV_FALSE_ALARMS and r[4] >= MIN_DEV_SAFETY_RECALL
    ]
    if not ok:
        print("no combination meets the constraints")
        return 2
    current = tuple(getattr(engine.tuning, k) for k in grid)
    # best SOS-train recall, then fewest false alarms; on a tie keep what is in tuning.py (no churn)
    best = max(ok, key=lambda r: (r[1], -r[3], -r[2], r[0] == current))
    print("\nbest under constraints:", dict(zip(grid, best[0], strict=True)), f"SOS-train recall {best[1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
