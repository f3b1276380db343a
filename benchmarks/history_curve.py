"""Learning curve of the history import: how much a hotline's own past tickets teach the 12345 desk.

    FRONTDOOR_EMBEDDING_DISK_CACHE=all python -m benchmarks.history_curve [--sizes 50,100,200,400]

labeled_495 (gov_messages, first-level category labels) is split into 5 folds with a fixed seed. For
each fold, the other four folds (396 rows, in a fixed shuffled order) are the hotline's "history":
fed through the same import code as `make import-history` (bot/triage/history.py: CSV, checks,
masking, de-duplication, the first-level category placed on the category the engine ranks highest,
a versioned batch in a temp data dir), 50, then 100, 200 and all rows (the last point is the
fold's 396 rows where 400 are asked), and the held-out fold is scored after each step: strict
category_l1 (route `ticket` and the right first-level category, as eval's `category_l1_strict`), the
best ticket category's l1 whatever the route (`best_ticket_l1`) and the right l1 among the three best.
A message that was fed is never scored (a held-out text equal to a fed one is left out). Figures are
means over the folds, beside zero history (the shipped catalogue) on the same held-out rows.

Everything lives in a temp dir (catalogue, database, fitted models); labeled_495 is never written
into the repo. ~20 refits of the 12345 desk and the safety model (~20-40 s each on 2 cores).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import datasets
from bot.settings import Settings
from bot.triage.catalogue import CatalogueStore, YamlCatalogueSource
from bot.triage.desk import DeskModel
from bot.triage.embedding import default_embedder, embed, prepare
from bot.triage.engine import TriageEngine
from bot.triage.history import HistoryStore, dedupe_key, engine_ranker, import_history
from bot.triage.vocabulary import Route

DESK = "12345"
FOLDS = 5
SEED = 20261215
SIZES = (50, 100, 200, 400)
GOAL = 0.85


def say(msg: str) -> None:
    print(f"[history] {msg}", file=sys.stderr, flush=True)


def folds(n: int, k: int = FOLDS, seed: int = SEED) -> list[np.ndarray]:
    """k disjoint index sets covering range(n), from a fixed shuffle."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, k)]


def l1_ranking(engine: TriageEngine, texts: Sequence[str]) -> list[list[str]]:
    """First-level categories of each text, best first (an l1 scores its best category's probability)."""
    model: DeskModel = engine._current().desks[DESK]
    views = [prepare(t)[1] for t in texts]
    proba = model.proba(views, embed(engine.embedder, views))
    classes = model.classifier.classes_
    ticket_cols = [i for i, c in enumerate(classes) if model.entries[c].route is Route.TICKET]
    out: list[list[str]] = []
    for row in proba:
        best: dict[str, float] = {}
        for j in ticket_cols:
            l1 = model.entries[classes[j]].category_l1 or ""
            best[l1] = max(best.get(l1, 0.0), float(row[j]))
        out.append(sorted(best, key=lambda k: -best[k]))
    return out


def score(engine: TriageEngine, texts: list[str], gold: list[str]) -> dict[str, float]:
    from benchmarks.eval import through_engine

    outputs = through_engine(engine, texts, DESK)
    ranking = l1_ranking(engine, texts)
    return {
        "strict": float(
            np.mean([o["route"] == "ticket" and o.get("category_l1") == g for o, g in zip(outputs, gold, strict=True)])
        ),
        "top1": float(np.mean([r[0] == g for r, g in zip(ranking, gold, strict=True)])),
        "top3": float(np.mean([g in r[:3] for r, g in zip(ranking, gold, strict=True)])),
    }


def write_csv(path: Path, rows: Sequence[datasets.Labeled]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "category"])
        writer.writerows([r.text, r.label] for r in rows)


def run(sizes: Sequence[int] = SIZES, n_folds: int = FOLDS, log: Callable[[str], None] = say) -> dict[str, Any] | None:
    rows = datasets.gov_labeled()
    if rows is None:
        log("gov_messages labeled_495 not found: skipped")
        return None
    started = time.monotonic()
    embedder = default_embedder()
    per_fold: list[dict[str, Any]] = []
    for f, held_idx in enumerate(folds(len(rows), n_folds)):
        held_set = set(held_idx.tolist())
        pool = [rows[i] for i in np.random.default_rng(SEED + 1 + f).permutation(len(rows)) if i not in held_set]
        fed_keys = {dedupe_key(r.text) for r in pool}
        held = [rows[i] for i in held_idx if dedupe_key(rows[i].text) not in fed_keys]
        texts, gold = [r.text for r in held], [r.label for r in held]
        fold: dict[str, Any] = {"held": len(held), "left_out_as_fed": len(held_idx) - len(held), "steps": []}
        with tempfile.TemporaryDirectory(prefix="frontdoor-history-") as tmp:
            root = Path(tmp)
            store = HistoryStore(Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'history.db'}"))
            catalogue = CatalogueStore(YamlCatalogueSource(override_dir=store.override_dir), min_interval=0.0)
            # zero history: the shipped catalogue (its models come from the usual disk cache)
            engine = TriageEngine(catalogue, embedder)
            fold["zero"] = score(engine, texts, gold)
            log(f"fold {f + 1}/{n_folds}: {len(held)} held out, zero history: {fmt(fold['zero'])}")
            # from here on the fitted models stay in the temp dir (the previous models' parts are reused)
            engine._cache_dir = root / "triage"
            fed = 0
            try:
                for size in sizes:
                    upto = min(size, len(pool))
                    if upto <= fed:
                        continue
                    csv_path = root / f"history-{upto}.csv"
                    write_csv(csv_path, pool[fed:upto])
                    report = import_history(
                        store, DESK, csv_path, author="benchmark", ranker=engine_ranker(store, engine)
                    )
                    if report.errors:
                        raise RuntimeError(f"rows refused: {[e.message for e in report.errors][:3]}")
                    fed = upto
                    catalogue.reload()
                    t0 = time.monotonic()
                    figures = score(engine, texts, gold)
                    step = {"asked": size, "rows": fed, "history_examples": _examples(store), **figures}
                    step["duplicates"] = sum(report.duplicates.values())
                    fold["steps"].append(step)
                    log(
                        f"fold {f + 1}/{n_folds}: +{fed} rows ({step['history_examples']} examples): {fmt(figures)}"
                        f" ({time.monotonic() - t0:.0f} s)"
                    )
            finally:
                store.close()
        per_fold.append(fold)
    out = summarise(per_fold, sizes)
    out["seconds"] = time.monotonic() - started
    return out


def _examples(store: HistoryStore) -> int:
    return sum(b.added for b in store.batches(DESK))


def fmt(f: dict[str, float]) -> str:
    return f"strict {f['strict']:.1%}, top-1 {f['top1']:.1%}, top-3 {f['top3']:.1%}"


def summarise(per_fold: list[dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    def mean(values: list[float]) -> float:
        return float(statistics.mean(values))

    table = [{"asked": 0, "rows": 0, **{k: mean([f["zero"][k] for f in per_fold]) for k in ("strict", "top1", "top3")}}]
    for size in sizes:
        steps = [next((s for s in f["steps"] if s["asked"] == size), None) for f in per_fold]
        if any(s is None for s in steps):
            continue
        table.append(
            {
                "asked": size,
                "rows": mean([s["rows"] for s in steps if s]),
                "examples": mean([s["history_examples"] for s in steps if s]),
                **{k: mean([s[k] for s in steps if s]) for k in ("strict", "top1", "top3")},
            }
        )
    return {
        "folds": len(per_fold),
        "seed": SEED,
        "held": [f["held"] for f in per_fold],
        "table": table,
        "per_fold": per_fold,
    }


def render(result: dict[str, Any]) -> list[str]:
    lines = [
        f"Held-out category_l1 of labeled_495, {result['folds']} folds (seed {result['seed']}), mean over folds;"
        f" held out per fold: {result['held']}.",
        "",
        "| history rows fed | examples added | strict (ticket + l1) | best ticket top-1 l1 | top-3 l1 |",
        "|---|---|---|---|---|",
    ]
    for row in result["table"]:
        rows = "0 (shipped catalogue)" if not row["asked"] else f"{row['asked']} ({row['rows']:.0f})"
        examples = f"{row['examples']:.0f}" if row.get("examples") is not None else "-"
        lines.append(f"| {rows} | {examples} | {row['strict']:.1%} | {row['top1']:.1%} | {row['top3']:.1%} |")
    last = result["table"][-1]
    verdict = "meets" if last["top1"] >= GOAL else "below"
    lines += ["", f"Goal: >= {GOAL:.0%} best-ticket top-1 after 400 rows: {verdict} ({last['top1']:.1%})."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run([int(s) for s in args.sizes.split(",")], args.folds)
    if result is None:
        return 0
    print("\n".join(render(result)))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    say(f"done in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
