"""Soak benchmark of cluster mode (issue 20): steady load through HAProxy against 2 app instances and
2 Rasa replicas, with three faults on the way: kill -9 one app instance (restarted 20 s later),
kill -9 one Rasa replica (left down: fail-over carries its conversations), restart Redis.

    python -m benchmarks.soak_bench [--minutes 5] [--rate 3]

Bounded and loopback only: a throw-away cluster (bot/cluster/launcher.py) in a temp folder, stopped
at the end. Reports messages sent / answered / apologised / lost / duplicated, p50/p95 latency in
the 30 s before, during (0-30 s after) and after (30-60 s after) each fault, the CPU-ms per message
of each process kind (from /proc/<pid>/stat, every process of the kind summed, killed ones
included up to their death) and a sizing table projected from that cost.

The abuse limits per address and per key are off (every request comes from 127.0.0.1 through one
local key); the per-conversation and global limits stay on, so every message also passes Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.procfs import process_tree
from benchmarks.throwaway import LIMITS_OFF, MODEL
from bot.cluster.launcher import Cluster
from bot.gateway import messages
from bot.launcher import blas_thread_env
from bot.settings import Settings

TEXTS = ["你好", "路灯坏了好几天了", "小区门口的垃圾没人清理", "我想查询工单进度", "噪音太大晚上睡不着", "谢谢"]
KINDS = ("app", "rasa", "action server", "redis", "haproxy", "postgres")
WARM_UP = 20.0


@dataclass
class Sent:
    at: float
    conversation: str
    message_id: str
    latency: float | None = None
    status: str = "pending"  # answered | apologised | failed


@dataclass
class CpuMeter:
    """CPU seconds per process kind, sampled every second; a killed process keeps what it used."""

    last: dict[int, float] = field(default_factory=dict)
    kind_of: dict[int, str] = field(default_factory=dict)
    total: dict[str, float] = field(default_factory=dict)
    steady: tuple[dict[str, float], float] | None = None  # (totals, run time) at the first fault

    def sample(self, pids: dict[str, list[int]]) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        for kind, roots in pids.items():
            for root in roots:
                for pid in process_tree(root):
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except (OSError, IndexError):
                        continue
                    used = (int(fields[11]) + int(fields[12])) / tick
                    before = self.last.get(pid)
                    if before is not None:
                        self.total[kind] = self.total.get(kind, 0.0) + max(0.0, used - before)
                    else:
                        self.total.setdefault(kind, 0.0)
                    self.last[pid] = used


def postgres_pid(cluster: Cluster) -> int | None:
    try:
        folder = (cluster.root / "postgres" / "cluster").read_text().strip()
        return int(Path(folder, "data", "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pids_by_kind(cluster: Cluster) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for service in cluster.services:
        pid = cluster.pid(service.name)
        if pid is None:
            continue
        kind = "app" if service.name.startswith("app") else "rasa" if service.name.startswith("rasa") else service.name
        found[kind].append(pid)
    if (pg := postgres_pid(cluster)) is not None:
        found["postgres"].append(pg)
    return found


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load(
    cluster: Cluster,
    duration: float,
    rate: float,
    people: int,
    out: list[Sent],
    faults: list[tuple[float, str]],
    meter: CpuMeter | None = None,
) -> None:
    """Open-loop load: every 1/rate s a message from an idle person (a person waits for the answer)."""
    headers = {"Authorization": f"Bearer {cluster.rest_key}"}
    apology = messages.backend_down("12345")
    busy: set[str] = set()
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:

        async def send(person: str, record: Sent, body: dict[str, str]) -> None:
            try:
                response = await client.post(cluster.balancer_url + "/api/chat/12345", json=body, headers=headers)
                record.latency = time.monotonic() - start - record.at
                texts = (
                    [str(r.get("text") or "") for r in response.json().get("replies", [])]
                    if response.status_code == 200
                    else []
                )
                record.status = (
                    "apologised" if apology in texts else "answered" if texts else f"failed:{response.status_code}"
                )
            except (httpx.HTTPError, ValueError) as exc:
                record.latency = time.monotonic() - start - record.at
                record.status = f"failed:{type(exc).__name__}"
            finally:
                busy.discard(person)

        n = 0
        fault_index = 0
        while (now := time.monotonic() - start) < duration:
            while fault_index < len(faults) and now >= faults[fault_index][0]:
                name = faults[fault_index][1]
                fault_index += 1
                if meter is not None and meter.steady is None:  # CPU of the steady part, before any fault
                    meter.sample(await asyncio.to_thread(pids_by_kind, cluster))
                    meter.steady = (dict(meter.total), now)
                await asyncio.to_thread(fault, cluster, name)
            person = next(
                (f"soak-{(n + i) % people}" for i in range(people) if f"soak-{(n + i) % people}" not in busy), None
            )
            if person is not None:
                busy.add(person)
                record = Sent(now, person, secrets.token_hex(8))
                out.append(record)
                body = {"sender": person, "text": TEXTS[n % len(TEXTS)], "message_id": record.message_id}
                task = asyncio.create_task(send(person, record, body))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            n += 1
            await asyncio.sleep(max(0.0, (n / rate) - (time.monotonic() - start)))
        await asyncio.gather(*tasks)


def fault(cluster: Cluster, name: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] fault: {name}", flush=True)
    if name == "kill -9 app-1":
        cluster.kill("app-1", signal.SIGKILL)
    elif name == "restart app-1":
        cluster.launch("app-1")
    elif name == "kill -9 rasa":
        cluster.kill("rasa", signal.SIGKILL)
    elif name == "restart redis":
        cluster.kill("redis", signal.SIGKILL)
        cluster.launch("redis")


async def sample_cpu(cluster: Cluster, meter: CpuMeter, stop: asyncio.Event) -> None:
    while not stop.is_set():
        meter.sample(await asyncio.to_thread(pids_by_kind, cluster))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def run(
    cluster: Cluster, duration: float, rate: float, people: int
) -> tuple[list[Sent], CpuMeter, list[tuple[float, str]]]:
    faults = [
        (duration * 0.25, "kill -9 app-1"),
        (duration * 0.25 + 20, "restart app-1"),
        (duration * 0.50, "kill -9 rasa"),
        (duration * 0.75, "restart redis"),
    ]
    warm: list[Sent] = []  # 20 s of the same load first: first turns of fresh processes, not counted
    await load(cluster, WARM_UP, rate, people, warm, [])
    outcomes: dict[str, int] = {}
    for record in warm:
        outcomes[record.status] = outcomes.get(record.status, 0) + 1
    print(f"  warm-up: {len(warm)} messages: {outcomes}", flush=True)
    sent: list[Sent] = []
    meter = CpuMeter()
    stop = asyncio.Event()
    meter.sample(pids_by_kind(cluster))
    sampler = asyncio.create_task(sample_cpu(cluster, meter, stop))
    await load(cluster, duration, rate, people, sent, faults, meter)
    stop.set()
    await sampler
    meter.sample(pids_by_kind(cluster))
    return sent, meter, faults


def duplicates_in_db(url: str) -> tuple[int, int, int]:
    """(message ids stored twice, answers written twice for one inbound, inbound rows never answered)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        twice = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT conversation_id, channel_message_id FROM gw_inbound "
                "WHERE channel_message_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d"
            )
        ).scalar_one()
        answered_twice = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT inbound_id, text FROM gw_outbound WHERE inbound_id IS NOT NULL "
                "GROUP BY 1, 2 HAVING count(*) > 1) d"
            )
        ).scalar_one()
        unanswered = connection.execute(
            text("SELECT count(*) FROM gw_inbound WHERE status NOT IN ('answered', 'limited')")
        ).scalar_one()
    engine.dispose()
    return int(twice), int(answered_twice), int(unanswered)


def report(
    sent: list[Sent], meter: CpuMeter, faults: list[tuple[float, str]], duration: float, db: tuple[int, int, int]
) -> None:
    answered = [s for s in sent if s.status == "answered"]
    apologised = [s for s in sent if s.status == "apologised"]
    failed = [s for s in sent if s.status.startswith("failed")]
    print(f"\nSoak: {duration / 60:.1f} min, {len(sent)} messages sent ({len(sent) / duration:.2f}/s)")
    print(
        f"  answered by the bot: {len(answered)}   apologised (backend down): {len(apologised)}   "
        f"no answer (HTTP error): {len(failed)}"
    )
    if failed:
        kinds: dict[str, int] = {}
        for s in failed:
            kinds[s.status] = kinds.get(s.status, 0) + 1
        print(f"    errors: {kinds}")
    twice, answered_twice, unanswered = db
    print(
        f"  duplicated: {twice} message id(s) stored twice, {answered_twice} answer(s) written twice; "
        f"lost: {unanswered} inbound row(s) never answered at the end"
    )
    print("\n  latency (s) of answered messages, by window       n    p50    p95")
    for at, name in faults:
        if name.startswith("restart app"):
            continue
        for label, lo, hi in (("before", at - 30, at), ("during", at, at + 30), ("after", at + 30, at + 60)):
            lat = [s.latency for s in answered if s.latency is not None and lo <= s.at < hi]
            p50, p95 = pct(lat, 0.5), pct(lat, 0.95)
            cell = f"{p50:6.3f} {p95:6.3f}" if p50 is not None and p95 is not None else "     -      -"
            print(f"    {name:<16} {label:<7} [{lo:5.0f}-{hi:5.0f} s] {len(lat):5d} {cell}")
    lat_all = [s.latency for s in answered if s.latency is not None]
    if lat_all:
        print(
            f"    whole run: p50 {pct(lat_all, 0.5):.3f}  p95 {pct(lat_all, 0.95):.3f}  mean {statistics.mean(lat_all):.3f}"
        )
    handled = max(1, len(answered) + len(apologised))
    steady_totals, steady_end = meter.steady if meter.steady is not None else (meter.total, duration)
    steady_n = max(1, sum(1 for s in sent if s.at < steady_end and s.status in ("answered", "apologised")))
    print(
        f"\n  CPU per message (ms; every process of a kind summed)   steady: {steady_n} msgs before the first "
        f"fault | whole run: {handled} msgs, restarts' start-up included"
    )
    steady_ms = {kind: steady_totals.get(kind, 0.0) * 1000 / steady_n for kind in KINDS}
    whole_ms = {kind: meter.total.get(kind, 0.0) * 1000 / handled for kind in KINDS}
    for kind in KINDS:
        print(f"    {kind:<14} {steady_ms[kind]:8.1f} | {whole_ms[kind]:8.1f}")
    total_ms = sum(steady_ms.values())
    print(f"    {'all':<14} {total_ms:8.1f} | {sum(whole_ms.values()):8.1f}")
    per_core = 1000 / total_ms if total_ms else float("inf")
    print("\n  Sizing, projected from the steady CPU per message (not a measured capacity; 60 % target utilisation):")
    print(f"    messages/s per core (all processes): {per_core:.1f}")
    print("    load       cores busy   cores at 60 %   app   rasa   action  postgres  redis+haproxy")
    for target in (10, 200):

        def cores(*kinds: str, target: int = target) -> float:
            return target * sum(steady_ms[k] for k in kinds) / 1000 / 0.6

        print(
            f"    {target:>3} msg/s  {target * total_ms / 1000:9.1f}   {cores(*KINDS):12.1f}   "
            f"{cores('app'):4.1f}  {cores('rasa'):5.1f}  {cores('action server'):6.1f}  {cores('postgres'):8.1f}  "
            f"{cores('redis', 'haproxy'):6.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=3.0, help="messages per second (3)")
    parser.add_argument("--people", type=int, default=60)
    args = parser.parse_args(argv)
    if not MODEL.exists():
        print("no trained Rasa model: run `make train` first")
        return 1
    duration = max(60.0, args.minutes * 60)
    saved = dict(os.environ)
    keep = ("FRONTDOOR_LIMIT_CONVERSATION_MESSAGES", "FRONTDOOR_LIMIT_GLOBAL_MESSAGES")
    with tempfile.TemporaryDirectory(prefix="fd-soak-", dir=os.environ.get("TMPDIR")) as tmp:
        os.environ.update(
            {
                "FRONTDOOR_DATA_DIR": tmp,
                "FRONTDOOR_RASA_TOKEN": secrets.token_urlsafe(16),
                "FRONTDOOR_SECRET_KEY": secrets.token_urlsafe(16),
                "FRONTDOOR_ALERT_BULK_SOURCE": "0/300",
                **blas_thread_env(),
            }
        )
        limits = {k: v for k, v in LIMITS_OFF.items() if k not in keep}
        cluster = Cluster(Settings(), apps=2, rasa_replicas=2, extra_env=limits)
        try:
            print("Starting the cluster (2 app instances, 2 Rasa replicas, PostgreSQL, Redis, HAProxy)...", flush=True)
            t0 = time.monotonic()
            cluster.start(timeout=400, progress=False)
            print(f"  up in {time.monotonic() - t0:.0f} s; {duration / 60:.1f} min at {args.rate:g} msg/s", flush=True)
            sent, meter, faults = asyncio.run(run(cluster, duration, args.rate, args.people))
            time.sleep(5)  # let in-flight answers land before counting
            db = duplicates_in_db(cluster.postgres_url)
            report(sent, meter, faults, duration, db)
        finally:
            cluster.stop()
            os.environ.clear()
            os.environ.update(saved)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
