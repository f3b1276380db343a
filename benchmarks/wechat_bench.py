"""WeChat channel under a burst: N users of the fake WeChat send at the same moment.

Everything is real except WeChat itself and Rasa's answers: the app (uvicorn, gateway, SQLite,
outbound worker, the WeChat channel) in its own process on loopback, the fake WeChat (tools/fake_wechat.py: signs and
encrypts callbacks in safe mode, waits 5 s, retries 3 times) and a Rasa stand-in that answers after
a set delay (most at once, `slow_share` after `slow_seconds`, like a busy NLU). The triage decision
is a fixed ordinary one (no embedding model is loaded). So it measures the channel and the gateway's
path, not Rasa's NLU: for the whole stack see benchmarks/gateway_bench.py.

It reports what must be zero (messages without an answer: lost; messages answered twice:
duplicated; answers split across passive and customer-service when they fit one), the share of
messages answered in the passive reply within 5 s, and the time to the first answer (passive or
customer-service message): median and p95.

    .venv-app/bin/python -m benchmarks.wechat_bench --users 200 [--slow-share 0.1] [--slow-seconds 6]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks.procfs import cpu_seconds, run_queue_wait_seconds
from bot import privacy_notice
from bot.triage.decision import Decision
from bot.triage.vocabulary import Route as TriageRoute
from tests.support.servers import ThreadedServer, serve_in_thread
from tools.fake_wechat import Delivery, FakeWeChat, random_aes_key

DESK = "12345"
NOTICE = privacy_notice.notice(DESK)


def message_of(index: int) -> str:
    return f"第{index}号用户：小区路灯坏了"


def ordinary(text: str, desk: str, history: Sequence[str], language: str = "zh-Hans") -> Decision:
    return Decision(TriageRoute.TICKET, desk)


@dataclass
class RasaStandIn:
    slow_share: float
    slow_seconds: float
    seed: int = 7

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    async def webhook(self, request: Request) -> JSONResponse:
        payload = await request.json()
        with self._lock:
            slow = self._random.random() < self.slow_share
        await asyncio.sleep(self.slow_seconds if slow else 0.05)
        return JSONResponse([{"recipient_id": payload["sender"], "text": f"答复：{payload['message']}"}])

    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse({"version": "stand-in"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/webhooks/rest/webhook", self.webhook, methods=["POST"]), Route("/", self.status)]
        )


def serve_app(port: int) -> None:
    """The app alone in this process (the benchmark starts it as a subprocess, so that the simulated
    users and fakes do not share its interpreter lock)."""
    import uvicorn

    from bot.app import create_app
    from bot.settings import Settings

    uvicorn.run(create_app(Settings(), decide=ordinary), host="127.0.0.1", port=port, log_level="warning")


def _wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the app stopped while starting")
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the app did not start")


def run(
    users: int = 200, slow_share: float = 0.1, slow_seconds: float = 6.0, keep_log: str | None = None
) -> dict[str, Any]:
    rasa = serve_in_thread(RasaStandIn(slow_share, slow_seconds).app())
    wechat = FakeWeChat(aes_key=random_aes_key())
    api = serve_in_thread(wechat.app())
    with tempfile.TemporaryDirectory(prefix="wechat-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("FRONTDOOR_DATABASE_URL", "FRONTDOOR_RASA_TOKEN")}
        env.update(
            {
                "FRONTDOOR_DATA_DIR": tmp,
                "FRONTDOOR_RASA_URL": rasa.url,
                "FRONTDOOR_WECHAT_API_BASE": api.url,
                f"FRONTDOOR_WECHAT_{DESK}_APPID": wechat.app_id,
                f"FRONTDOOR_WECHAT_{DESK}_SECRET": wechat.secret,
                f"FRONTDOOR_WECHAT_{DESK}_TOKEN": wechat.token,
                f"FRONTDOOR_WECHAT_{DESK}_AES_KEY": wechat.aes_key or "",
                "FRONTDOOR_STAFF_HOURS": "12345=24h,12355=24h",
                "FRONTDOOR_FOLLOW_UP_INTERVAL": "0",
            }
        )
        holder = ThreadedServer()  # a free loopback port, released for the app to bind
        port = holder.port
        holder.stop()
        app = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.wechat_bench", "--serve-app", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(tmp, "app.log"), "wb"),  # noqa: SIM115 - closed with the folder
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_up(url, app)
            wechat.callback_url = f"{url}/wechat/{DESK}"
            wechat.text("o_warm_up", "你好")  # first request opens the database and the HTTP pools
            time.sleep(1.0)
            wechat.sent.clear()
            barrier = threading.Barrier(users)
            app_cpu, own_cpu, load = cpu_seconds(app.pid), _own_cpu(), os.getloadavg()[0]
            app_waited = run_queue_wait_seconds(app.pid)
            burst_started = time.monotonic()

            def one(index: int) -> tuple[str, float, Any]:
                open_id = f"o_bench_{index:04d}"
                barrier.wait()
                return open_id, time.time(), wechat.text(open_id, message_of(index))

            with ThreadPoolExecutor(users) as pool:
                results = list(pool.map(one, range(users)))
            deadline = time.time() + slow_seconds + 120
            passive = {open_id for open_id, _, d in results if (d.text or "").removeprefix(NOTICE).strip()}
            while time.time() < deadline:  # until every user has an answer (not only the notice)
                pushed = {m["touser"] for m in list(wechat.sent) if m["text"]["content"] != NOTICE}
                if len(passive | pushed) >= users:
                    break
                time.sleep(0.2)
            burst_seconds = time.monotonic() - burst_started
            app_cpu, own_cpu = cpu_seconds(app.pid) - app_cpu, _own_cpu() - own_cpu
            app_waited = run_queue_wait_seconds(app.pid) - app_waited
            load_after = os.getloadavg()[0]
            time.sleep(2.0)  # anything doubled would arrive now
        finally:
            app.terminate()
            app.wait(timeout=30)
            api.stop(timeout=5)
            rasa.stop(timeout=5)
        with open(os.path.join(tmp, "app.log"), encoding="utf-8", errors="replace") as log_file:
            app_log = log_file.read().splitlines()
        if keep_log:
            Path(keep_log).write_text("\n".join(app_log) + "\n", encoding="utf-8")
        unanswered = _unanswered(os.path.join(tmp, "frontdoor.db"))
    return {
        "users": users,
        "slow_share": slow_share,
        **score(results, wechat.sent),
        "customer_service_messages": len(wechat.sent),
        "refused_by_wechat": len(wechat.refused),
        "app_503_not_yet_written": sum("not yet written" in line for line in app_log),
        "app_errors": sum(" ERROR " in line for line in app_log),
        "written_but_unanswered": unanswered,  # the restart recovery would answer these
        "burst_seconds": round(burst_seconds, 1),  # from the users' first send to the last first answer
        "app_cpu_seconds": round(app_cpu, 1),  # the app process (one interpreter: at most 1 core for Python)
        # the app's threads ready to run but waiting for a core (other processes had it): summed over threads
        "app_waited_for_a_core_seconds": round(app_waited, 1),
        "bench_cpu_seconds": round(own_cpu, 1),  # this process: the fake WeChat's 200 users and the Rasa stand-in
        "load_average_before_after": (round(load, 2), round(load_after, 2)),
        "cores": os.cpu_count(),
    }


def score(results: list[tuple[str, float, Delivery]], sent: list[dict[str, Any]]) -> dict[str, Any]:
    """Lost, duplicated, passive share and time to the first answer, from what each user got.

    The answer to user i is "答复：<their words>" (the Rasa stand-in), or the gateway's apology when the
    stand-in was too slow (an answer too, counted apart). The first contact's privacy notice comes in
    front of it in the passive reply, or as a customer-service message of its own: it is not an answer,
    and not a second one. Duplicated: two answers, or the notice twice.
    """
    first: list[float] = []
    lost = duplicated = apologies = passive_in_5 = attempts = 0
    statuses: Counter[str] = Counter()
    for index, (open_id, t0, delivery) in enumerate(results):
        attempts += len(delivery.attempts)
        statuses.update("timeout" if a.status is None else str(a.status) for a in delivery.attempts)
        pushed = [m for m in sent if m["touser"] == open_id]
        replies = [m for m in pushed if m["text"]["content"] != NOTICE]
        passive_text = (delivery.text or "").removeprefix(NOTICE).strip()
        notices = sum(m["text"]["content"] == NOTICE for m in pushed) + (NOTICE in (delivery.text or ""))
        answers = (1 if passive_text else 0) + len(replies)
        if answers == 0:
            lost += 1
            continue
        if answers > 1 or notices > 1:
            duplicated += 1
        answer = f"答复：{message_of(index)}"
        apologies += not any(answer in text for text in [passive_text, *(m["text"]["content"] for m in replies)])
        if passive_text:
            seconds = sum(a.seconds for a in delivery.attempts)
            first.append(seconds)
            passive_in_5 += seconds < 5.0
        else:
            first.append(min(m["at"] for m in replies) - t0)
    first.sort()
    return {
        "lost": lost,
        "duplicated": duplicated,
        "passive_within_5s": round(passive_in_5 / len(results), 3) if results else None,
        "answered_with_an_apology": apologies,  # the Rasa stand-in did not answer in time: the gateway apologised
        "callback_attempts": attempts,
        "callback_statuses": dict(sorted(statuses.items())),
        "first_answer_median_s": round(statistics.median(first), 2) if first else None,
        "first_answer_p95_s": round(first[int(0.95 * (len(first) - 1))], 2) if first else None,
    }


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _unanswered(path: str) -> int:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM gw_inbound WHERE status = 'received'").fetchone()[0])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-app"]:
        serve_app(int(sys.argv[2]))
        sys.exit(0)
    import argparse

    parser = argparse.ArgumentParser(description="N WeChat users of the fake WeChat send at the same moment")
    parser.add_argument("users", nargs="?", type=int, default=200)
    parser.add_argument("slow_share", nargs="?", type=float, default=0.1)
    parser.add_argument("slow_seconds", nargs="?", type=float, default=6.0)
    parser.add_argument("--users", dest="users_option", type=int, help="same as the first positional")
    parser.add_argument("--slow-share", dest="slow_share_option", type=float)
    parser.add_argument("--slow-seconds", dest="slow_seconds_option", type=float)
    parser.add_argument("--keep-log", help="write the app's log here (it is lost with the temporary folder)")
    args = parser.parse_args()
    result = run(
        args.users_option or args.users,
        args.slow_share if args.slow_share_option is None else args.slow_share_option,
        args.slow_seconds if args.slow_seconds_option is None else args.slow_seconds_option,
        args.keep_log,
    )
    for key, value in result.items():
        print(f"{key:32} {value}")
