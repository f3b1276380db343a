"""Gateway throughput and latency through the real stack (Rasa, action server, app) on loopback.

`run_bench(seconds, concurrency)` starts a front door on free ports with a throw-away database,
warms it up (models load on first use), then keeps `concurrency` simulated people talking over the
REST channel for `seconds`: each person sends a few messages of a realistic mix, then a new person
starts. About one message in twenty is sent twice with the same message id, as a retrying client
would. It reports messages/s, reply latency percentiles and the integrity figures that must be zero:
requests without an answer (lost) and answers given twice (duplicated). Goal on 2 cores: >= 30
messages/s at p95 <= 300 ms.

    .venv-app/bin/python -m benchmarks.gateway_bench [seconds] [concurrency] [rasa replicas]

It also reports the CPU time each process spent per message and each process's resident memory
after the run (from /proc, Linux only): where the time and the memory go, and how far two cores are
from the goal. (`rasa_direct`, with one replica, drives Rasa's REST channel without the gateway:
those messages carry no decision, so the actions only apologise; it bounds what Rasa alone can do.)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.procfs import cpu_seconds, rss_mb
from benchmarks.throwaway import throwaway_stack
from bot.gateway import messages
from bot.launcher import Stack

CONVERSATIONS = [
    ["你好", "我们小区门口的路灯坏了好几天，晚上很危险", "在幸福路和人民路交叉口", "谢谢"],
    ["您好，请问办理居住证需要什么材料？", "谢谢"],
    ["楼上装修噪音太大了，晚上十点还在施工", "好的"],
    ["我想查询一下我的工单进度", "谢谢"],
    ["你好", "公司拖欠了我三个月工资怎么办", "谢谢"],
    ["我們社區的垃圾好幾天沒人清理了", "在东城区", "谢谢"],
]
RESEND_EVERY = 20  # one request in twenty is resent with the same message id


def _rss_by_service(stack: Stack | None) -> dict[str, float]:
    """Resident memory of each process (with its children) after the run, and the total, in MB."""
    if stack is None:
        return {}
    memory = {s.name: round(rss_mb(s.process.pid)) for s in stack.services if s.process is not None}
    return {**memory, "total": sum(memory.values())}


def _cpu_by_service(stack: Stack | None) -> dict[str, float]:
    if stack is None or not Path("/proc/self/stat").exists():
        return {}
    return {s.name: cpu_seconds(s.process.pid) for s in stack.services if s.process is not None}


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    lost: int = 0
    resent: int = 0
    resend_mismatch: int = 0
    apologies: int = 0
    answers: dict[tuple[str, str], list[str]] = field(default_factory=dict)


async def _person(client: httpx.AsyncClient, url: str, stop_at: float, results: Results, worker: int) -> None:
    turn = 0
    while time.monotonic() < stop_at:
        sender = f"bench-{worker}-{uuid.uuid4().hex[:8]}"
        for text in CONVERSATIONS[turn % len(CONVERSATIONS)]:
            if time.monotonic() >= stop_at:
                return
            turn += 1
            message_id = uuid.uuid4().hex
            replies = await _send(client, url, sender, text, message_id, results)
            if replies is None:
                continue
            results.answers[(sender, message_id)] = replies
            if results.sent % RESEND_EVERY == 0 and not url.endswith("/webhook"):
                again = await _send(client, url, sender, text, message_id, results, count=False)
                results.resent += 1
                if again != replies:
                    results.resend_mismatch += 1


async def _send(
    client: httpx.AsyncClient, url: str, sender: str, text: str, message_id: str, results: Results, count: bool = True
) -> list[str] | None:
    started = time.perf_counter()
    direct = url.endswith("/webhooks/rest/webhook")  # Rasa itself, for comparison: no gateway in between
    body: dict[str, str] = (
        {"sender": f"12345:rest:{sender}", "message": text}
        if direct
        else {"sender": sender, "text": text, "message_id": message_id}
    )
    try:
        response = await client.post(url, json=body)
        payload: Any = response.json() if response.status_code == 200 else []
        items = payload if direct else payload["replies"]
        replies = [str(r.get("text") or "") for r in items if r.get("text")]
    except (httpx.HTTPError, ValueError, KeyError, AttributeError, TypeError):
        replies = []
    if not count:
        return replies
    results.sent += 1
    results.latencies.append(time.perf_counter() - started)
    if not replies:
        results.lost += 1
        return None
    if any(r == messages.backend_down("12345") for r in replies):
        results.apologies += 1
    return replies


def _duplicates(database: Path) -> int:
    """Inbound messages stored twice, or answered with more rows than the client received."""
    with sqlite3.connect(database) as connection:
        twice = connection.execute(
            "SELECT COUNT(*) FROM (SELECT conversation_id, channel_message_id FROM gw_inbound "
            "GROUP BY conversation_id, channel_message_id HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        unanswered = connection.execute("SELECT COUNT(*) FROM gw_inbound WHERE status = 'received'").fetchone()[0]
    return int(twice) + int(unanswered)


def _extra_rows(database: Path, results: Results) -> int:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT i.conversation_id, i.channel_message_id, COUNT(o.id) FROM gw_inbound i "
            "LEFT JOIN gw_outbound o ON o.inbound_id = i.id GROUP BY i.id"
        ).fetchall()
    extra = 0
    for conversation_id, message_id, count in rows:
        sender = str(conversation_id).split(":", 3)[3]  # "<desk>:rest:<key name>:<sender>"
        given = results.answers.get((sender, str(message_id)))
        if given is not None and count != len(given):
            extra += 1
    return extra


async def _drive(
    url: str, seconds: float, concurrency: int, warm_up: bool = True, api_key: str | None = None
) -> tuple[Results, float]:
    """`api_key`: the integration key the app's REST channel needs (none for Rasa itself)."""
    results = Results()
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:
        warm = Results()  # models load on first use in the app and the action server: not measured
        for round_ in range(3 if warm_up else 0):
            await asyncio.gather(
                *(_person(client, url, time.monotonic() + 2, warm, 100 + round_ * 10 + i) for i in range(concurrency))
            )
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(_person(client, url, stop_at, results, i) for i in range(concurrency)))
        return results, time.monotonic() - started


def _figures(results: Results, elapsed: float) -> dict[str, Any]:
    latencies = sorted(results.latencies)
    quantile = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) >= 2 else latencies * 99
    return {
        "messages": results.sent,
        "messages_per_s": round(results.sent / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(quantile[49] * 1000, 1) if quantile else None,
        "p95_ms": round(quantile[94] * 1000, 1) if quantile else None,
        "p99_ms": round(quantile[98] * 1000, 1) if quantile else None,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
    }


def run_bench(
    seconds: float = 20,
    concurrency: int = 8,
    base_url: str | None = None,
    database: Path | None = None,
    rasa_url: str | None = None,
    rasa_replicas: int = 1,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Measure the gateway through a real stack; starts (and stops) one unless `base_url` is given.

    `rasa_direct` is the same load sent straight to Rasa's REST channel for the same time: the
    ceiling the gateway sits on (the gateway's own cost is the difference); measured with one
    replica only (with several, the gateway is what spreads the conversations). `api_key` is the
    integration key of the app at `base_url` (a stack started here uses its own local key).
    """
    stack: Stack | None = None
    with ExitStack() as resources:
        if base_url is None:
            stack, tmp = resources.enter_context(throwaway_stack("frontdoor-gwbench-", rasa_replicas))
            base_url = f"http://127.0.0.1:{stack.app_port}"
            rasa_url = f"http://127.0.0.1:{stack.rasa_port}" if rasa_replicas == 1 else None
            database = tmp / "frontdoor.db"
            api_key = stack.rest_key
        url = f"{base_url}/api/chat/12345"
        asyncio.run(_drive(url, 0, concurrency, api_key=api_key))  # warm-up only: models load on first use
        cpu_before = _cpu_by_service(stack)
        results, elapsed = asyncio.run(_drive(url, seconds, concurrency, warm_up=False, api_key=api_key))
        cpu_after = _cpu_by_service(stack)
        memory = _rss_by_service(stack)
        cpu_ms = {
            name: round(1000 * (cpu_after[name] - cpu_before[name]) / max(results.sent, 1), 1) for name in cpu_after
        }
        duplicated = results.resend_mismatch
        if database is not None:
            duplicated += _duplicates(database) + _extra_rows(database, results)
        direct = None
        if rasa_url is not None:
            direct_results, direct_elapsed = asyncio.run(
                _drive(f"{rasa_url}/webhooks/rest/webhook", seconds, concurrency, warm_up=False)
            )
            direct = _figures(direct_results, direct_elapsed)
    return {
        "seconds": round(elapsed, 1),
        "concurrency": concurrency,
        "rasa_replicas": rasa_replicas,
        **_figures(results, elapsed),
        "resent_same_id": results.resent,
        "lost": results.lost,
        "duplicated": duplicated,
        "apologies": results.apologies,
        "cpu_ms_per_message": cpu_ms,
        "rss_mb_after_run": memory,
        "rasa_direct": direct,
    }


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:4]]
    figures = run_bench(
        args[0] if args else 20,
        int(args[1]) if len(args) > 1 else 8,
        rasa_replicas=int(args[2]) if len(args) > 2 else 1,
    )
    print(json.dumps(figures, ensure_ascii=False))
