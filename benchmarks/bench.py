"""`make bench`: the performance figures quoted in issue notes.

Each figure is measured, never assumed: a cold install (empty package cache, fresh venvs in a temp
copy of the repo), a forced `rasa train`, the time from starting the stack to its first answer, the
resident memory of each process after a short conversation, the ticket store's throughput, and how
long a staff edit of the catalogue takes to go live, and what a flood of fake crises does to a real
one (`abuse`).
Set BENCH_SKIP=install,train to skip the slow parts while iterating.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.procfs import rss_mb
from bot.launcher import Stack, free_port
from bot.settings import REPO_ROOT, Settings

SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))


def step(name: str) -> None:
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.monotonic() - started


def cold_install_seconds() -> float:
    """`scripts/install.sh` in a fresh copy of the tracked files, with an empty uv cache."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-install-") as tmp:
        copy = Path(tmp) / "repo"
        files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.split()
        for name in files:
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if (REPO_ROOT / name).is_file():
                shutil.copy2(REPO_ROOT / name, target)
        return timed(["bash", "scripts/install.sh"], copy, {"UV_CACHE_DIR": str(Path(tmp) / "uv-cache")})


def train_seconds() -> float:
    with tempfile.TemporaryDirectory(prefix="frontdoor-train-") as out:
        return timed(
            [
                str(REPO_ROOT / ".venv-rasa/bin/rasa"),
                "train",
                "--data",
                "nlu_data",
                "--config",
                "config.yml",
                "--domain",
                "domain.yml",
                "--out",
                out,
                "--force",
            ],
            REPO_ROOT,
        )


def stack_figures() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="frontdoor-bench-") as data:
        os.environ.update(
            {
                "FRONTDOOR_DATA_DIR": data,
                **{
                    k: os.environ.get(k) or secrets.token_urlsafe(16)
                    for k in ("FRONTDOOR_RASA_TOKEN", "FRONTDOOR_SECRET_KEY")
                },
            }
        )
        stack = Stack(Settings(), rasa_port=free_port(), action_port=free_port(), app_port=free_port())
        started = time.monotonic()
        try:
            stack.start(timeout=300, progress=False)
            url = f"http://127.0.0.1:{stack.app_port}/api/chat/12345"
            key = {"Authorization": f"Bearer {stack.rest_key}"}
            reply = httpx.post(url, json={"sender": "bench", "text": "你好"}, headers=key, timeout=120).json()
            first_answer = time.monotonic() - started
            assert reply["replies"], "no first answer"
            latencies = []
            for i, text in enumerate(["我們小區的路燈壞了", "谢谢", "转人工"] * 5):
                t0 = time.monotonic()
                httpx.post(url, json={"sender": f"bench-{i % 3}", "text": text}, headers=key, timeout=120)
                latencies.append((time.monotonic() - t0) * 1000)
            memory = {s.name: round(rss_mb(s.process.pid)) for s in stack.services if s.process}
        finally:
            stack.stop()
    latencies.sort()
    return {
        "start_to_first_answer_s": round(first_answer, 1),
        "rss_mb": memory,
        "sequential_reply_ms_p50": round(latencies[len(latencies) // 2]),
        "sequential_reply_ms_max": round(latencies[-1]),
    }


def ticket_store_figures() -> dict[str, Any]:
    """Ticket creation p50/p95 latency and tickets/s on SQLite and on a throwaway PostgreSQL."""
    try:
        from benchmarks.tickets_bench import run_bench
    except ImportError as exc:
        return {"skipped": f"ticket store not available: {exc}"}
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="frontdoor-tickets-") as tmp:
        figures["sqlite"] = run_bench(f"sqlite:///{tmp}/bench.db", 500)
        # where scripts/postgres.sh records the cluster (which it keeps where the `postgres` user can
        # reach it); the script deletes both when it stops the cluster
        pg_dir = Path(tempfile.mkdtemp(prefix="frontdoor-bench-pg-"))
        script = str(REPO_ROOT / "scripts" / "postgres.sh")
        try:
            started = subprocess.run(
                ["bash", script, "start", str(pg_dir)], capture_output=True, text=True, timeout=600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            figures["postgresql"] = {"skipped": f"could not start PostgreSQL: {exc}"}
            shutil.rmtree(pg_dir, ignore_errors=True)
            return figures
        url = started.stdout.strip().splitlines()[-1] if started.returncode == 0 and started.stdout.strip() else ""
        if not url:
            figures["postgresql"] = {"skipped": f"could not start PostgreSQL: {started.stderr.strip()[-300:]}"}
            subprocess.run(["bash", script, "stop", str(pg_dir)], capture_output=True, text=True, timeout=120)
            shutil.rmtree(pg_dir, ignore_errors=True)
            return figures
        try:
            figures["postgresql"] = run_bench(url, 500)
        except Exception as exc:  # a broken PostgreSQL must not hide the other figures
            figures["postgresql"] = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            subprocess.run(["bash", script, "stop", str(pg_dir)], capture_output=True, text=True, timeout=120)
            shutil.rmtree(pg_dir, ignore_errors=True)
    return figures


def gateway_figures() -> dict[str, Any]:
    """Concurrent REST conversations through the real stack: messages/s, p50/p95, lost or duplicated.

    With one Rasa process (the default) and with two replicas (FRONTDOOR_RASA_REPLICAS=2), at 8
    concurrent conversations; the two-replica stack also at 4, to show the latency it buys.
    """
    from benchmarks.gateway_bench import run_bench

    return {
        "one_rasa_8_concurrent": run_bench(seconds=20, concurrency=8, rasa_replicas=1),
        "two_rasa_8_concurrent": run_bench(seconds=20, concurrency=8, rasa_replicas=2),
        "two_rasa_4_concurrent": run_bench(seconds=20, concurrency=4, rasa_replicas=2),
    }


GOAL_MESSAGES_PER_S = 30.0
GOAL_P95_MS = 300.0


def gateway_summary(figures: dict[str, Any]) -> list[str]:
    """One line per gateway set-up with its verdict against the goal (>= 30 msg/s at p95 <= 300 ms,
    nothing lost or duplicated), so the JSON does not have to be read to know where we stand."""
    lines = []
    for name, run in figures.items():
        if not isinstance(run, dict):
            continue
        clean = run["lost"] == 0 and run["duplicated"] == 0
        fast = run["messages_per_s"] >= GOAL_MESSAGES_PER_S and run["p95_ms"] <= GOAL_P95_MS
        verdict = (
            "meets the goal" if clean and fast else ("LOST OR DUPLICATED REPLIES" if not clean else "below the goal")
        )
        lines.append(
            f"{name}: {run['messages_per_s']:.1f} msg/s, p50 {run['p50_ms']:.0f} ms, p95 {run['p95_ms']:.0f} ms, "
            f"lost {run['lost']}, duplicated {run['duplicated']}, apologies {run['apologies']}: {verdict}"
        )
    return lines


def console_figures() -> dict[str, Any]:
    """Queue, ticket page and analytics render times with 10,000 tickets in the database."""
    from benchmarks.console_bench import run_bench

    return run_bench(10_000)


def catalogue_edit_figures() -> dict[str, Any]:
    """Seconds from a staff edit of the catalogue to the first decision on it (benchmarks/catalogue_edit.py)."""
    from benchmarks.catalogue_edit import run

    return run(step)


def abuse_figures() -> dict[str, Any]:
    """A fake-crisis flood from one address while a real crisis comes from another (benchmarks/abuse_bench.py)."""
    from benchmarks.abuse_bench import run_bench

    return run_bench()


def abuse_summary(figures: dict[str, Any]) -> str:
    """One line: did the real crisis get its numbers and its alert in time, and what the flood cost."""
    real, flood = figures["real_crisis"], figures["flood"]
    seconds = real["alert_reached_staff_chat_s"]
    alert = f"in {seconds:.1f} s" if seconds is not None else "NOT SEEN"
    verdict = "ok" if real["alert_within_10_s"] else "OVER 10 S"
    return (
        f"real crisis: numbers in reply {'yes' if real['numbers_in_reply'] else 'NO'}, staff alert {alert} ({verdict}); "
        f"flood of {flood['sent']}: {flood['flood_messages_stored']} stored, {flood['flood_messages_answered']} answered, "
        f"{flood['http_status'].get('429', 0)} refused; staff chat {figures['staff_chat']['lines']} lines; "
        f"app RSS peak {figures['app_rss_mb']['peak']} MB"
    )


def main() -> int:
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("cold_install_s", lambda: round(cold_install_seconds(), 1)),
        ("rasa_train_s", lambda: round(train_seconds(), 1)),
        ("stack", stack_figures),
        ("tickets", ticket_store_figures),
        ("gateway", gateway_figures),
        ("console", console_figures),
        ("catalogue_edit", catalogue_edit_figures),
        ("abuse", abuse_figures),
    ]
    results: dict[str, Any] = {"date": datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count()}
    for name, measure in parts:
        if name.split("_")[0] in SKIP or name in SKIP:
            results[name] = "skipped (BENCH_SKIP)"
            continue
        step(name)
        results[name] = measure()
    print(json.dumps(results, ensure_ascii=False, indent=2))
    reports = REPO_ROOT / "reports"
    reports.mkdir(exist_ok=True)
    report = reports / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    report.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    if isinstance(results.get("gateway"), dict):
        print(f"\ngateway (goal: >= {GOAL_MESSAGES_PER_S:g} msg/s at p95 <= {GOAL_P95_MS:g} ms, nothing lost):")
        print("\n".join(f"  {line}" for line in gateway_summary(results["gateway"])))
    if isinstance(results.get("abuse"), dict):
        print(f"\nabuse: {abuse_summary(results['abuse'])}")
    print(f"\nwritten: {report.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
