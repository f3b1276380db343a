"""`make eval`: every figure of the triage spec's "What is measured" table, with data set and split.

    python -m benchmarks.eval            # everything
    python -m benchmarks.eval --skip clinc,timing

Reads the hand-labelled route sets in benchmarks/data/ and the public sets in ../shared/data/ (each
part is skipped with a message when its data is absent). Nothing here fits or tunes anything on
the data it reports: thresholds live in bot/triage/tuning.py and were set on development data
(benchmarks/tune_safety.py, benchmarks/tune_routes.py); CLINC150 selects on its val split only.

Writes reports/eval-<date>.md and .json (reports/ is gitignored).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import board_history, clinc, datasets, history_curve, sos_train
from benchmarks.scoring import SAFETY_ROUTES, channel_correct, flagged, route_correct
from bot.settings import REPO_ROOT, Settings
from bot.triage.catalogue import CatalogueStore, YamlCatalogueSource
from bot.triage.cli import OUTPUT_KEYS
from bot.triage.cli import run as cli_run
from bot.triage.decision import CHECK_IN_SIGNAL
from bot.triage.engine import TriageEngine, get_engine
from bot.triage.suggestions import TOP_K, top_l1

DESKS = ("12345", "12355")
GOALS = {
    "route_accuracy": 0.95,
    "safety_recall_hand": 1.0,
    "safety_recall_sos": 0.98,
    "false_alarms": 0.02,
    "category_l1": 0.85,
    "category_l1_top3": 0.90,
    "clinc_in_scope": 0.95,
    "clinc_oos": 0.70,
    "cli_1000_seconds": 60.0,
    "p95_ms": 50.0,
}


def say(msg: str) -> None:
    print(f"[eval] {msg}", file=sys.stderr, flush=True)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def mark(ok: bool) -> str:
    return "meets goal" if ok else "**below goal**"


def through_cli(texts: list[str], desk: str) -> list[dict[str, Any]]:
    """Run texts through the CLI's own `run` (the `make triage` code path) in this process, with the
    explain keys (entry, reply, signals): the signals tell whether a message got the check-in line."""
    stdin = StringIO("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts))
    stdout = StringIO()
    cli_run(desk, stdin, stdout, StringIO(), progress_every=0, explain=True)  # explain: signals too
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def checked_in(output: dict[str, Any]) -> bool:
    """Not flagged, but close: the gateway adds the check-in line with 12356 (bot/triage/safety.py)."""
    return any(str(sig).startswith(CHECK_IN_SIGNAL) for sig in output.get("signals") or ())


def through_engine(engine: TriageEngine, texts: list[str], desk: str, batch: int = 64) -> list[dict[str, Any]]:
    """The CLI's output keys from another engine (another catalogue): `decide_many`, the CLI's own call."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(texts), batch):
        out += [{k: d.to_dict()[k] for k in OUTPUT_KEYS} for d in engine.decide_many(texts[i : i + batch], desk)]
    return out


# --------------------------------------------------------------------------------------------------
# hand-labelled route sets


def route_sets() -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for name in ("routes_dev", "routes_holdout"):
        rows = datasets.route_set(name)
        if rows is None:
            say(f"{name}.jsonl not found: skipped")
            continue
        say(f"{name}: {len(rows)} rows")
        per_desk: dict[str, Any] = {}
        confusion: collections.Counter[tuple[str, str]] = collections.Counter()
        errors = []
        all_rows, all_outputs = [], []
        for desk in DESKS:
            drows = [r for r in rows if r["desk"] == desk]
            if not drows:
                continue
            outputs = through_cli([r["text"] for r in drows], desk)
            all_rows += drows
            all_outputs += outputs
            correct = [route_correct(r, o) for r, o in zip(drows, outputs, strict=True)]
            per_desk[desk] = {"n": len(drows), "accuracy": float(np.mean(correct))}
            for r, o, ok in zip(drows, outputs, correct, strict=True):
                if not ok:
                    confusion[(r["route"], o["route"])] += 1
                    errors.append({"id": r["id"], "desk": desk, "gold": r["accept"], "got": o["route"]})
        n = len(all_rows)
        correct_all = [route_correct(r, o) for r, o in zip(all_rows, all_outputs, strict=True)]
        channels = [c for r, o in zip(all_rows, all_outputs, strict=True) if (c := channel_correct(r, o)) is not None]
        safe_rows = [
            (r, o) for r, o in zip(all_rows, all_outputs, strict=True) if r["route"] in ("crisis", "emergency")
        ]
        ordinary = [
            (r, o) for r, o in zip(all_rows, all_outputs, strict=True) if r["route"] not in ("crisis", "emergency")
        ]
        l1 = [
            (r, o)
            for r, o in zip(all_rows, all_outputs, strict=True)
            if r["desk"] == "12345" and r.get("category_l1") and r["route"] == "ticket"
        ]
        out[name] = {
            "n": n,
            "accuracy": float(np.mean(correct_all)),
            "per_desk": per_desk,
            "confusion": {f"{g} -> {p}": c for (g, p), c in confusion.most_common()},
            "errors": errors,
            "channel_accuracy": float(np.mean(channels)) if channels else None,
            "channel_n": len(channels),
            "safety_recall": float(np.mean([flagged(o) for _, o in safe_rows])) if safe_rows else None,
            "safety_n": len(safe_rows),
            "safety_missed": [r["id"] for r, o in safe_rows if not flagged(o)],
            "safety_missed_checked_in": sum(checked_in(o) for _, o in safe_rows if not flagged(o)),
            "ordinary_checked_in": sum(checked_in(o) for _, o in ordinary if not flagged(o)),
            "false_alarm_rate": float(np.mean([flagged(o) for _, o in ordinary])) if ordinary else None,
            "false_alarms": [r["id"] for r, o in ordinary if flagged(o)],
            "ordinary_n": len(ordinary),
            "category_l1_accuracy": float(np.mean([o.get("category_l1") == r["category_l1"] for r, o in l1]))
            if l1
            else None,
            "category_l1_n": len(l1),
        }
    return out or None


# --------------------------------------------------------------------------------------------------
# public sets


def sos() -> dict[str, Any] | None:
    rows = datasets.sos1k("test")
    if rows is None:
        say("SOS-1K not found: skipped")
        return None
    high = [t for t, _, h in rows if h == 1]
    low = [t for t, _, h in rows if h == 0]
    out: dict[str, Any] = {"n_high": len(high), "n_low": len(low)}
    for desk in DESKS:
        say(f"SOS-1K test through desk {desk}")
        o_high = through_cli(high, desk)
        o_low = through_cli(low, desk)
        out[desk] = {
            "recall_high": float(np.mean([flagged(o) for o in o_high])),
            "missed_high": sum(not flagged(o) for o in o_high),
            "missed_high_checked_in": sum(checked_in(o) for o in o_high if not flagged(o)),
            "flagged_low": float(np.mean([flagged(o) for o in o_low])),
            "routes_high": dict(collections.Counter(o["route"] for o in o_high)),
        }
    out["recall_high_min"] = min(out[d]["recall_high"] for d in DESKS)
    return out


def gov() -> dict[str, Any] | None:
    rows = datasets.gov_labeled()
    if rows is None:
        say("gov_messages labeled_495 not found: skipped")
        return None
    say(f"labeled_495 through desk 12345 ({len(rows)} long messages: title + body) ...")
    texts = [r.text for r in rows]
    gold = [r.label for r in rows]
    return gov_figures(texts, gold, through_cli(texts, "12345"), get_engine())


BOARD_L1 = ("劳动和社会保障", "城乡建设", "教育文体", "卫生计生", "交通运输", "商贸旅游", "环境保护")
"""The seven first-level categories the board's labelled data uses (shared/data README)."""


def gov_dev() -> dict[str, Any] | None:
    """category_l1 on a development set that is not the test: with_replies_2816 messages labelled by
    the department named in the official reply (benchmarks/board_history.py; noisy, but real board
    messages over every category). Catalogue choices are made on this figure, never on labeled_495.
    """
    examples = board_history.weak_examples()
    if not examples:
        say("with_replies_2816 not found: weak-label dev set skipped")
        return None
    l1_of = {c.id: c.category_l1 for c in get_engine()._current().catalogue.desks["12345"].categories}
    texts = [t for items in examples.values() for t in items]
    gold = [l1_of[cid] for cid, items in examples.items() for _ in items]
    say(f"category dev set: {len(texts)} board messages labelled by the replying department ...")
    outputs = through_cli(texts, "12345")
    right = [o["route"] == "ticket" and o.get("category_l1") == g for o, g in zip(outputs, gold, strict=True)]
    seven = [ok for ok, g in zip(right, gold, strict=True) if g in BOARD_L1]
    return {
        "n": len(texts),
        "category_l1_strict": float(np.mean(right)),
        "n_board_l1": len(seven),
        "category_l1_strict_board_l1": float(np.mean(seven)) if seven else None,
    }


def gov_board_history() -> dict[str, Any] | None:
    """The same test with the shipped catalogue + board messages weakly labelled by the replying department.

    An experiment kept for its figure (part `board`, skip with --skip board): it adds ~1,200 long
    messages to the catalogue and refits in a temp dir on every run. The weak examples come from
    with_replies_2816 (development data, never labeled_495); the adapted catalogue and the models
    fitted on it live only in a temp dir (the embedding cache keys are hashes).
    """
    rows = datasets.gov_labeled()
    if rows is None:
        say("gov_messages labeled_495 not found: board-history variant skipped")
        return None
    texts, gold = [r.text for r in rows], [r.label for r in rows]
    examples = board_history.weak_examples()
    if not examples:
        say("with_replies_2816 not found: board-history variant skipped")
        return None
    counts = board_history.summary(examples)
    say(f"labeled_495 again, catalogue + {sum(counts.values())} board messages labelled by the replying department ...")
    with tempfile.TemporaryDirectory(prefix="frontdoor-board-") as tmp:
        data_dir = board_history.adapted_data_dir(Path(tmp), examples)
        assert data_dir is not None
        store = CatalogueStore(YamlCatalogueSource(override_dir=data_dir / "catalogue"))
        engine = TriageEngine(store, get_engine().embedder, cache_dir=Path(tmp) / "triage")
        out = gov_figures(texts, gold, through_engine(engine, texts, "12345"), engine)
    out["weak_examples"] = counts
    out["weak_total"] = sum(counts.values())
    return out


def gov_history_curve() -> dict[str, Any] | None:
    """labeled_495 as a hotline's own history (part `history`, skip with --skip history): 5 folds, the
    other four fed through the history import 50, 100, 200, 400 rows at a time into a temp data dir,
    the held-out fold scored after each (benchmarks/history_curve.py; ~20 refits)."""
    return history_curve.run(log=say)


def sos_fit_on_train() -> dict[str, Any] | None:
    """SOS-1K with the CLINC protocol: its train high-risk posts as extra crisis examples (temp catalogue),
    test reported once, with the false alarms of the same adapted engine beside it (part `sos_fit`).

    An experiment kept for its figure, like `board`: it shows what in-domain examples of a deployment's
    own would do; the shipped screen never sees SOS-1K (`benchmarks/sos_train.py`).
    """
    examples = sos_train.high_risk_train()
    test = datasets.sos1k("test")
    if not examples or test is None:
        say("SOS-1K not found: fit-on-train variant skipped")
        return None
    high = [t for t, _, h in test if h == 1]
    low = [t for t, _, h in test if h == 0]
    say(f"SOS-1K fit on train: {len(examples)} train high-risk posts as crisis examples, refitting in a temp dir ...")
    out: dict[str, Any] = {"train_examples": len(examples), "n_high": len(high), "n_low": len(low)}
    with tempfile.TemporaryDirectory(prefix="frontdoor-sos-") as tmp:
        override = sos_train.adapted_data_dir(Path(tmp), examples)
        engine = TriageEngine(
            CatalogueStore(YamlCatalogueSource(override_dir=override)),
            get_engine().embedder,
            cache_dir=Path(tmp) / "triage",
        )
        for desk in DESKS:
            o_high = through_engine(engine, high, desk)
            o_low = through_engine(engine, low, desk)
            out[desk] = {
                "recall_high": float(np.mean([flagged(o) for o in o_high])),
                "missed_high": sum(not flagged(o) for o in o_high),
                "flagged_low": float(np.mean([flagged(o) for o in o_low])),
            }
        gov_rows = datasets.gov_labeled()
        if gov_rows is not None:
            o_gov = through_engine(engine, [r.text for r in gov_rows], "12345")
            out["gov_false_alarms"] = sum(flagged(o) for o in o_gov)
            out["gov_n"] = len(o_gov)
        for name in ("routes_dev", "routes_holdout"):
            pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for desk in DESKS:
                drows = [r for r in datasets.route_set(name) or [] if r["desk"] == desk]
                pairs += zip(drows, through_engine(engine, [r["text"] for r in drows], desk), strict=True)
            ordinary = [flagged(o) for r, o in pairs if r["route"] not in SAFETY_ROUTES]
            risky = [flagged(o) for r, o in pairs if r["route"] in SAFETY_ROUTES]
            out[name] = {
                "false_alarms": sum(ordinary),
                "ordinary_n": len(ordinary),
                "safety_found": sum(risky),
                "safety_n": len(risky),
            }
    out["recall_high_min"] = min(out[d]["recall_high"] for d in DESKS)
    return out


def gov_figures(
    texts: list[str], gold: list[str], outputs: list[dict[str, Any]], engine: TriageEngine
) -> dict[str, Any]:
    """Figures of one labeled_495 run (`engine` only for the best-ticket diagnostic)."""
    routes = collections.Counter(o["route"] for o in outputs)
    strict = [o["route"] == "ticket" and o.get("category_l1") == g for o, g in zip(outputs, gold, strict=True)]
    tickets = [(o, g) for o, g in zip(outputs, gold, strict=True) if o["route"] == "ticket"]
    # diagnostic: the best ticket category of every message, whatever its route
    best_l1 = best_ticket_l1(texts, "12345", engine)
    per_label: dict[str, list[bool]] = collections.defaultdict(list)
    confusion: collections.Counter[tuple[str, str]] = collections.Counter()
    for o, g in zip(outputs, gold, strict=True):
        got = o.get("category_l1") if o["route"] == "ticket" else f"({o['route']})"
        per_label[g].append(got == g)
        if got != g:
            confusion[(g, str(got))] += 1
    return {
        "n": len(texts),
        "false_alarm_rate": float(np.mean([flagged(o) for o in outputs])),
        "false_alarms": sum(flagged(o) for o in outputs),
        "flagged_routes": dict(collections.Counter(o["route"] for o in outputs if flagged(o))),
        "routes": dict(routes),
        "category_l1_strict": float(np.mean(strict)),
        "category_l1_tickets_only": float(np.mean([o.get("category_l1") == g for o, g in tickets]))
        if tickets
        else None,
        "tickets": len(tickets),
        "category_l1_best_ticket_any_route": float(np.mean([b == g for b, g in zip(best_l1, gold, strict=True)])),
        "suggestions": suggestion_l1_hits(texts, gold, "12345", engine),
        "per_label": {k: {"n": len(v), "accuracy": float(np.mean(v))} for k, v in sorted(per_label.items())},
        "confusion": {f"{g} -> {p}": c for (g, p), c in confusion.most_common(12)},
    }


def best_ticket_l1(texts: list[str], desk: str, engine: TriageEngine | None = None) -> list[str | None]:
    """category_l1 of the most probable ticket category (diagnostic; the route may differ)."""
    ranked = (engine or get_engine()).rank_categories(texts, desk)
    return [r[0].category_l1 if r else None for r in ranked]


def suggestion_l1_hits(
    texts: list[str], gold: list[str], desk: str, engine: TriageEngine | None = None
) -> dict[str, float]:
    """Top-1 and top-3 category_l1 of the staff console's suggestions (`bot/triage/suggestions.py`).

    `top3_shown`: the right l1 is among the l1s of the 3 categories a supervisor sees on the ticket page
    (what re-filing in one click needs); `top1_l1`/`top3_l1`: first-level categories ranked by the
    summed probability of their categories.
    """
    ranked = (engine or get_engine()).rank_categories(texts, desk)
    shown = [{s.category_l1 for s in r[:TOP_K]} for r in ranked]
    by_l1 = [[name for name, _ in top_l1(r, TOP_K)] for r in ranked]
    return {
        "top1_shown": float(np.mean([bool(r) and r[0].category_l1 == g for r, g in zip(ranked, gold, strict=True)])),
        "top3_shown": float(np.mean([g in s for s, g in zip(shown, gold, strict=True)])),
        "top1_l1": float(np.mean([bool(x) and x[0] == g for x, g in zip(by_l1, gold, strict=True)])),
        "top3_l1": float(np.mean([g in x for x, g in zip(by_l1, gold, strict=True)])),
    }


# --------------------------------------------------------------------------------------------------
# timing


def timing() -> dict[str, Any] | None:
    dev = (datasets.route_set("routes_dev") or []) + (datasets.route_set("routes_holdout") or [])
    gov_rows = datasets.gov_unlabeled() or []
    texts = [r["text"] for r in dev] + [g.split("\n", 1)[0] for g in gov_rows]
    texts = texts[:1000]
    if len(texts) < 1000:
        say("timing needs 1,000 texts (route sets + unlabeled gov titles): skipped")
        return None
    settings = Settings()
    engine = get_engine()
    engine._current()
    model_id = getattr(engine.embedder, "model_id", "")
    with tempfile.TemporaryDirectory(prefix="frontdoor-eval-") as tmp:
        # cold embedding cache (every line is embedded), warm classifier cache (like any restart)
        triage_cache = settings.cache_dir / "triage"
        (Path(tmp) / "triage").mkdir()
        for pkl in triage_cache.glob("models-*.pkl"):
            shutil.copy2(pkl, Path(tmp) / "triage" / pkl.name)
        env = {
            **os.environ,
            "FRONTDOOR_CACHE_DIR": tmp,
            "FRONTDOOR_EMBEDDING_MODEL": str(settings.embedding_model),
            "PYTHONPATH": str(REPO_ROOT),
        }
        payload = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
        say("1,000 lines through `python -m bot.triage.cli` in a fresh process, cold embedding cache ...")
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "bot.triage.cli", "--desk", "12345", "--progress-every", "0"],
            input=payload,
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO_ROOT,
            check=False,
        )
        cli_seconds = time.monotonic() - started
        lines = proc.stdout.splitlines()
        say("single decisions, warm model, texts never seen before, one torch thread (as the servers run) ...")
        from bot.embeddings.encoder import Encoder, limit_torch_threads

        limit_torch_threads(1)  # the launcher gives the app and the action server FRONTDOOR_TORCH_THREADS=1

        fresh = TriageEngine(engine.store, Encoder(str(settings.embedding_model), cache_dir=Path(tmp) / "e2"))
        fresh.decide("你好", "12345")  # loads the model and the classifiers (from the disk cache)
        unseen = [g.split("\n", 1)[0] + "。" for g in gov_rows[1000:1200]]
        cold_ms = []
        for t in unseen:
            t0 = time.perf_counter()
            fresh.decide(t, "12345")
            cold_ms.append(1000 * (time.perf_counter() - t0))
        cached_ms = []
        for t in unseen[:100]:
            t0 = time.perf_counter()
            fresh.decide(t, "12345")
            cached_ms.append(1000 * (time.perf_counter() - t0))
    return {
        "load_average_1min": os.getloadavg()[0],
        "cli_lines_in": len(texts),
        "cli_lines_out": len(lines),
        "cli_returncode": proc.returncode,
        "cli_seconds": cli_seconds,
        "model_id": model_id,
        "p50_ms": statistics.median(cold_ms),
        "p95_ms": float(np.percentile(cold_ms, 95)),
        "p50_ms_cached_text": statistics.median(cached_ms),
        "p95_ms_cached_text": float(np.percentile(cached_ms, 95)),
        "n_single": len(cold_ms),
    }


# --------------------------------------------------------------------------------------------------
# report


def render(results: dict[str, Any], command: str) -> str:
    lines = [
        f"# Triage evaluation {results['date']}",
        "",
        f"Command: `{command}` (catalogue {results['catalogue']}).",
        "",
    ]
    lines += [
        '## Summary (the spec\'s "What is measured" table)',
        "",
        "| figure | data | result | goal |",
        "|---|---|---|---|",
    ]
    r = results.get("routes") or {}
    for name in ("routes_dev", "routes_holdout"):
        if name in r:
            x = r[name]
            desks = ", ".join(f"{d}: {pct(v['accuracy'])} of {v['n']}" for d, v in x["per_desk"].items())
            tag = " (thresholds tuned here)" if name == "routes_dev" else " (never tuned on)"
            lines.append(
                f"| route accuracy, any accepted answer | {name}{tag} | {pct(x['accuracy'])} of {x['n']} ({desks}) "
                f"| >= 95%: {mark(x['accuracy'] >= GOALS['route_accuracy'])} |"
            )
    for name in ("routes_dev", "routes_holdout"):
        if name in r and r[name]["safety_recall"] is not None:
            x = r[name]
            lines.append(
                f"| safety recall (crisis/emergency -> crisis or emergency) | {name}, {x['safety_n']} hand-labelled "
                f"| {pct(x['safety_recall'])} | 100%: {mark(x['safety_recall'] >= 1.0)} |"
            )
    s = results.get("sos")
    if s:
        lines += sos_recall_rows("safety recall", s)
    f = results.get("sos_fit")
    if f:
        lines += sos_recall_rows(f"safety recall, {sos_fit_label(f)}", f)
    for name in ("routes_dev", "routes_holdout"):
        if name in r and r[name]["false_alarm_rate"] is not None:
            x = r[name]
            lines.append(
                f"| false alarms (ordinary -> crisis/emergency) | {name}, {x['ordinary_n']} hand-labelled ordinary | "
                f"{pct(x['false_alarm_rate'])} ({len(x['false_alarms'])}) | <= 2%: "
                f"{mark(x['false_alarm_rate'] <= GOALS['false_alarms'])} |"
            )
    g = results.get("gov")
    if g:
        lines.append(
            f"| false alarms | gov_messages labeled_495 (title + body), desk 12345 | {pct(g['false_alarm_rate'])} "
            f"({g['false_alarms']}) | <= 2%: {mark(g['false_alarm_rate'] <= GOALS['false_alarms'])} |"
        )
        lines.append(
            f"| 12345 category_l1 accuracy (non-ticket route = wrong) | gov_messages labeled_495 | "
            f"{pct(g['category_l1_strict'])} | >= 85%: {mark(g['category_l1_strict'] >= GOALS['category_l1'])} |"
        )
        sg = g.get("suggestions")
        if sg:
            lines.append(
                f"| 12345 category_l1 in the console's top-3 suggestions (top-1) | gov_messages labeled_495 | "
                f"{pct(sg['top3_shown'])} ({pct(sg['top1_shown'])}); by summed l1 {pct(sg['top3_l1'])} "
                f"({pct(sg['top1_l1'])}) | top-3 >= 90%: {mark(sg['top3_shown'] >= GOALS['category_l1_top3'])} |"
            )
        dev = results.get("gov_dev")
        if dev:
            lines.append(
                f"| 12345 category_l1 accuracy, dev set (weak labels: replying department) | with_replies_2816, "
                f"{dev['n']} labelled | {pct(dev['category_l1_strict'])} (the 7 board categories: "
                f"{pct(dev['category_l1_strict_board_l1'])} of {dev['n_board_l1']}) | dev: catalogue choices are made here |"
            )
        b = results.get("board")
        if b:
            lines.append(
                f"| 12345 category_l1 accuracy, {board_label(b)} | gov_messages labeled_495 | "
                f"{pct(b['category_l1_strict'])} | >= 85%: {mark(b['category_l1_strict'] >= GOALS['category_l1'])} |"
            )
    h = results.get("history")
    if h:
        last = h["table"][-1]
        lines.append(
            f"| 12345 category_l1 after importing {last['asked']} rows of history (held-out folds; strict / best "
            f"ticket) | gov_messages labeled_495, {h['folds']}-fold | {pct(last['strict'])} / {pct(last['top1'])} | "
            f">= 85% top-1: {mark(last['top1'] >= GOALS['category_l1'])} |"
        )
    c = results.get("clinc")
    if c:
        for row in c["rows"]:
            ok = row["in_scope_accuracy"] >= GOALS["clinc_in_scope"] and row["oos_recall"] >= GOALS["clinc_oos"]
            lines.append(
                f"| CLINC150 in-scope acc / OOS recall (threshold for {100 * row['val_target']:g} on val) | "
                f"CLINC150 full test | {pct(row['in_scope_accuracy'])} / {pct(row['oos_recall'])} | >= 95 / >= 70: "
                f"{mark(ok)} |"
            )
    t = results.get("timing")
    if t:
        lines.append(
            f"| 1,000 messages through the CLI, incl. model load | route sets + unlabeled gov titles, cold embedding "
            f"cache | {t['cli_seconds']:.1f} s ({t['cli_lines_out']} lines out) | <= 60 s: "
            f"{mark(t['cli_seconds'] <= GOALS['cli_1000_seconds'] and t['cli_lines_out'] == t['cli_lines_in'])} |"
        )
        lines.append(
            f"| single decision, warm, unseen text, 1 torch thread | {t['n_single']} unlabeled gov titles | p50 {t['p50_ms']:.1f} ms, "
            f"p95 {t['p95_ms']:.1f} ms | <= 50 ms: {mark(t['p95_ms'] <= GOALS['p95_ms'])} |"
        )
    lines += ["", "## Details", ""]
    for name in ("routes_dev", "routes_holdout"):
        if name in r:
            x = r[name]
            lines += [f"### {name}", ""]
            lines.append(f"- errors by (gold route -> output route): {x['confusion'] or 'none'}")
            if x["channel_accuracy"] is not None:
                lines.append(
                    f"- channel right when the refer/emergency route was right: {pct(x['channel_accuracy'])} of {x['channel_n']}"
                )
            if x["category_l1_accuracy"] is not None:
                lines.append(
                    f"- 12345 tickets, category_l1 (non-ticket = wrong): {pct(x['category_l1_accuracy'])} of {x['category_l1_n']}"
                )
            lines.append(
                f"- safety missed: {x['safety_missed'] or 'none'}; false alarms: {x['false_alarms'] or 'none'}"
            )
            lines.append(
                f"- check-in question (12356; a yes goes to a human) for {x['safety_missed_checked_in']} of the "
                f"{len(x['safety_missed'])} missed, and for {x['ordinary_checked_in']} of the {x['ordinary_n']} ordinary"
            )
            lines.append(
                f"- wrong items: {', '.join(e['id'] + ' ' + '/'.join(e['gold']) + '->' + e['got'] for e in x['errors']) or 'none'}"
            )
            lines.append("")
    if s:
        lines += ["### SOS-1K test", ""]
        for d in DESKS:
            lines.append(
                f"- desk {d}: high-risk routes {s[d]['routes_high']}; low-risk posts flagged too: {pct(s[d]['flagged_low'])} of {s['n_low']}; "
                f"the check-in question reaches {s[d]['missed_high_checked_in']} of the {s[d]['missed_high']} missed"
            )
        lines.append("")
    if g:
        lines += ["### gov_messages labeled_495 (desk 12345)", ""]
        lines.append(f"- routes: {g['routes']}; flagged: {g['flagged_routes']}")
        lines.append(
            "- category_l1 is reported strictly: a message routed anywhere but `ticket` counts as wrong "
            "(the CLI gives category_l1 only for tickets)."
        )
        if g["category_l1_tickets_only"] is not None:
            lines.append(f"- among the {g['tickets']} routed to ticket: {pct(g['category_l1_tickets_only'])}")
        lines.append(
            f"- diagnostic, best ticket category whatever the route: {pct(g['category_l1_best_ticket_any_route'])}"
        )
        lines.append(
            "- per label: " + ", ".join(f"{k} {pct(v['accuracy'])} of {v['n']}" for k, v in g["per_label"].items())
        )
        lines.append(f"- most frequent errors (gold -> output): {g['confusion']}")
        lines.append("")
        b = results.get("board")
        if b:
            lines += [f"### gov_messages labeled_495 (desk 12345), {board_label(b)}", ""]
            lines.append(
                f"- category_l1 (non-ticket = wrong): {pct(b['category_l1_strict'])} "
                f"(shipped catalogue: {pct(g['category_l1_strict'])})"
            )
            if b["category_l1_tickets_only"] is not None:
                lines.append(f"- among the {b['tickets']} routed to ticket: {pct(b['category_l1_tickets_only'])}")
            lines.append(f"- false alarms: {pct(b['false_alarm_rate'])} ({b['false_alarms']}); routes: {b['routes']}")
            lines.append(
                "- per label: " + ", ".join(f"{k} {pct(v['accuracy'])} of {v['n']}" for k, v in b["per_label"].items())
            )
            lines.append(f"- most frequent errors (gold -> output): {b['confusion']}")
            lines.append(
                "- weak examples per category (`python -m benchmarks.board_history`): "
                + ", ".join(f"{k} {v}" for k, v in b["weak_examples"].items())
            )
            lines.append("")
    if f:
        lines += [f"### SOS-1K, {sos_fit_label(f)}", ""]
        for d in DESKS:
            lines.append(
                f"- desk {d}: high-risk recall {pct(f[d]['recall_high'])} ({f[d]['missed_high']} missed); "
                f"low-risk posts flagged too: {pct(f[d]['flagged_low'])} of {f['n_low']}"
            )
        if "gov_n" in f:
            lines.append(f"- the same adapted engine on labeled_495: {f['gov_false_alarms']} of {f['gov_n']} flagged")
        for name in ("routes_dev", "routes_holdout"):
            x = f[name]
            lines.append(
                f"- {name}: safety found {x['safety_found']} of {x['safety_n']}; ordinary flagged "
                f"{x['false_alarms']} of {x['ordinary_n']}"
            )
        lines.append("")
    if c:
        lines += ["### CLINC150 (`python -m benchmarks.clinc`)", "", *clinc.format_result(c), ""]
    if t:
        lines += [
            "### Timing",
            "",
            f"- CLI: {t['cli_lines_in']} lines in, {t['cli_lines_out']} out, exit {t['cli_returncode']}, {t['cli_seconds']:.1f} s wall "
            "(fresh process: imports, model load, classifiers from the disk cache, every text embedded).",
            f"- single `decide`, warm model: unseen text p50 {t['p50_ms']:.1f} / p95 {t['p95_ms']:.1f} ms; "
            f"text already in the embedding cache p50 {t['p50_ms_cached_text']:.1f} / p95 {t['p95_ms_cached_text']:.1f} ms.",
            f"- 1-minute load average when measured: {t['load_average_1min']:.1f} on {os.cpu_count()} cores (the machine is "
            "shared; embedding time, the bulk of a decision, grows with the load).",
            "",
        ]
    if h:
        lines += ["### History import learning curve (`python -m benchmarks.history_curve`)", ""]
        lines += [*history_curve.render(h), ""]
    lines += [f"Skipped: {', '.join(results['skipped']) or 'nothing'}.", ""]
    return "\n".join(lines)


def sos_recall_rows(figure: str, x: dict[str, Any]) -> list[str]:
    """Summary rows of an SOS-1K test run (`sos` or `sos_fit`), one per desk."""
    return [
        f"| {figure} | SOS-1K test, binary_high_risk=1 ({x['n_high']}), desk {d} | "
        f"{pct(x[d]['recall_high'])} ({x[d]['missed_high']} missed) | >= 98%: "
        f"{mark(x[d]['recall_high'] >= GOALS['safety_recall_sos'])} |"
        for d in DESKS
    ]


def sos_fit_label(f: dict[str, Any]) -> str:
    """How the fit-on-train variant is named in the report."""
    return f"experiment: fit on SOS-1K train ({f['train_examples']} high-risk posts added as crisis examples)"


def board_label(b: dict[str, Any]) -> str:
    """How the adapted catalogue is named in the report."""
    return (
        f"shipped catalogue + {b['weak_total']} board messages weakly labelled by the replying department "
        "(with_replies_2816, never labeled_495)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated parts to skip: routes,sos,gov,gov_dev,board,history,sos_fit,clinc,timing",
    )
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    started = time.monotonic()
    engine = get_engine()
    say("loading the model and the classifiers ...")
    catalogue = engine._current().catalogue
    results: dict[str, Any] = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "catalogue": catalogue.content_hash}
    parts = {
        "routes": route_sets,
        "sos": sos,
        "gov": gov,
        "gov_dev": gov_dev,
        "board": gov_board_history,
        "history": gov_history_curve,
        "sos_fit": sos_fit_on_train,
        "clinc": clinc.run,
        "timing": timing,
    }
    skipped = []
    for name, fn in parts.items():
        if name in skip:
            skipped.append(f"{name} (--skip)")
            continue
        result = fn()
        if result is None:
            skipped.append(f"{name} (data absent)")
        results[name] = result
    results["skipped"] = skipped
    results["seconds"] = time.monotonic() - started
    command = "python -m benchmarks.eval" + (f" --skip {args.skip}" if args.skip else "")
    report = render(results, command)
    print(report)
    out_dir = REPO_ROOT / "reports"
    out_dir.mkdir(exist_ok=True)
    stem = out_dir / f"eval-{datetime.now().strftime('%Y-%m-%d')}"
    stem.with_suffix(".md").write_text(report, encoding="utf-8")
    stem.with_suffix(".json").write_text(
        json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    say(f"report written to {stem}.md / .json ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
