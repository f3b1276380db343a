"""Abuse benchmark (issue 18): a script floods the youth desk with fake crises while a real one arrives.

2,000 messages "我不想活了…" from 500 senders (each a web chat session, as an anonymous script would
do it), all from 127.0.0.1, go to the real stack (Rasa, action server, app: `throwaway_stack`) with
the default limits; once the flood is under way a real crisis
arrives from 127.0.0.2 (httpx's `local_address`: the loopback network is a /8, so this is a second
client address with no proxy header involved). The desk's Telegram bot and the staff alert chat are
wired to the fake Bot API server of the tests (tests/channels/fake_telegram.py), so "reached the
staff alert channel" means the alert was delivered by the outbound worker through PTB to that chat.

Reported: whether the real crisis got the numbers in its reply, seconds from sending it to its own
alert line in the staff chat (goal: <= 10 s), how many flood messages were refused (429), stored
(gw_inbound rows), answered and alerted, and the app's resident memory before, at peak and after.
Bounded: 2,000 messages at 16 in flight, 180 s at most, then up to 75 s for the next summary line;
loopback only.

    .venv-app/bin/python -m benchmarks.abuse_bench
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.procfs import rss_mb
from benchmarks.throwaway import throwaway_stack
from tests.channels.fake_telegram import FakeTelegram

DESK = "12355"
FLOOD_MESSAGES = 2000
FLOOD_SENDERS = 500
IN_FLIGHT = 16
REAL_AFTER = 300  # flood messages sent before the real crisis arrives
TIME_LIMIT = 180.0
ALERT_GOAL_S = 10.0
SUMMARY_WAIT = 75.0  # the summary line comes at most once a minute
STAFF_CHAT = -100777
TOKEN = "4242:abuse-bench"
FLOOD_TEXTS = ["我不想活了", "我真的不想活了", "活着没意思，我不想活了", "不想活了，再见"]
REAL_TEXT = "我不想活了，活着太累了，今晚就想结束"
REAL_ADDRESS = "127.0.0.2"


async def send_message(
    client: httpx.AsyncClient, base: str, tokens: dict[str, str], sender: str, text: str, message_id: str
) -> httpx.Response:
    """The one place a message is sent, as anyone on the internet can: through the web chat's API (a
    session token per person from `POST /api/chat/<desk>/session`, then the message with `X-Chat-Token`;
    no integration key is needed, so this is the open door a script would use). `tokens` keeps each
    fake person's token; a refused session request is returned as the answer (429)."""
    if sender not in tokens:
        session = await client.post(f"{base}/api/chat/{DESK}/session", timeout=120)
        if session.status_code != 200:
            return session
        tokens[sender] = session.json()["token"]
    return await client.post(
        f"{base}/api/chat/{DESK}",
        json={"text": text, "message_id": message_id},
        headers={"X-Chat-Token": tokens[sender]},
        timeout=120,
    )


class PeakRss:
    """Samples a process tree's resident memory every 0.2 s in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def _flood(base: str, statuses: Counter[int], progress: list[int]) -> None:
    tokens: dict[str, str] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(FLOOD_MESSAGES):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            try:
                response = await send_message(
                    client, base, tokens, f"flood-{i % FLOOD_SENDERS}", FLOOD_TEXTS[i % len(FLOOD_TEXTS)], f"f{i}"
                )
                statuses[response.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1
            progress[0] += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=IN_FLIGHT)) as client:
        await asyncio.gather(*(worker(client) for _ in range(IN_FLIGHT)))


async def _real(base: str, telegram: FakeTelegram, progress: list[int]) -> dict[str, Any]:
    while progress[0] < REAL_AFTER:
        await asyncio.sleep(0.05)

    def own_lines() -> list[tuple[float, str]]:
        """(arrival, text) of the staff chat's one-conversation crisis lines (not summaries)."""
        sent = list(zip(telegram.send_times, telegram.sent, strict=False))
        return [(t, m["text"]) for t, m in sent if int(m["chat_id"]) == STAFF_CHAT and "新危机会话" in m["text"]]

    before = len(own_lines())
    transport = httpx.AsyncHTTPTransport(local_address=REAL_ADDRESS)
    async with httpx.AsyncClient(transport=transport) as client:
        started = time.monotonic()
        tokens: dict[str, str] = {}
        response = await send_message(client, base, tokens, "real-person", REAL_TEXT, "r1")
        replied = time.monotonic() - started
    texts = " ".join(r.get("text", "") for r in response.json().get("replies", []))
    alert_s, alert_text = None, None
    deadline = started + 30
    while time.monotonic() < deadline:  # the flood's own lines all came before (its source is bulk by now)
        lines = own_lines()
        if len(lines) > before:
            alert_s, alert_text = lines[before][0] - started, lines[before][1]
            break
        await asyncio.sleep(0.05)
    return {
        "alert_text": alert_text,
        "status": response.status_code,
        "reply_s": round(replied, 2),
        "numbers_in_reply": all(n in texts for n in ("12356", "110")),
        "alert_reached_staff_chat_s": round(alert_s, 2) if alert_s is not None else None,
        "alert_within_10_s": alert_s is not None and alert_s <= ALERT_GOAL_S,
    }


def _stored(data_dir: Path) -> dict[str, int]:
    """What the flood left: web conversations of the desk other than the real person's (its text differs)."""
    flood = (
        "select c.id from gw_conversations c where c.id like '12355:web:%' and not exists "
        f"(select 1 from gw_inbound i where i.conversation_id = c.id and i.text = '{REAL_TEXT}')"
    )
    with sqlite3.connect(data_dir / "frontdoor.db") as db:
        one = lambda sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "flood_conversations_stored": one(f"select count(*) from ({flood})"),
            "flood_messages_stored": one(f"select count(*) from gw_inbound where conversation_id in ({flood})"),
            "flood_messages_answered": one(
                f"select count(*) from gw_inbound where conversation_id in ({flood}) and status != 'received'"
            ),
            "crisis_tickets": one("select count(*) from tickets where priority = 'urgent'"),
        }


def run_bench() -> dict[str, Any]:
    telegram = FakeTelegram()
    server = telegram.serve()
    env = {
        f"FRONTDOOR_TELEGRAM_TOKEN_{DESK}": TOKEN,
        "FRONTDOOR_TELEGRAM_BASE_URL": f"http://127.0.0.1:{telegram.port}",
        "FRONTDOOR_TELEGRAM_STAFF_CHAT_ID": str(STAFF_CHAT),
    }
    try:
        with throwaway_stack("frontdoor-abuse-", env=env, limits=True) as (stack, data_dir):
            app = next(s for s in stack.services if s.name == "app" and s.process is not None)
            assert app.process is not None
            base = f"http://127.0.0.1:{stack.app_port}"
            warm_up = {"Authorization": f"Bearer {stack.rest_key}"}
            httpx.post(
                f"{base}/api/chat/12345", json={"sender": "warm-up", "text": "你好"}, headers=warm_up, timeout=120
            )
            rss_before = rss_mb(app.process.pid)
            statuses: Counter[int] = Counter()
            progress = [0]

            async def both() -> dict[str, Any]:
                flood = asyncio.create_task(_flood(base, statuses, progress))
                real = await _real(base, telegram, progress)
                await flood
                return real

            started = time.monotonic()
            with PeakRss(app.process.pid) as peak:
                real = asyncio.run(asyncio.wait_for(both(), TIME_LIMIT))
            flood_s = time.monotonic() - started
            # the crises held back since the last summary are reported by the next minute's summary
            summaries = sum(1 for t in telegram.texts_to(STAFF_CHAT) if "过去" in t)
            deadline = time.monotonic() + SUMMARY_WAIT
            while (
                time.monotonic() < deadline
                and sum(1 for t in telegram.texts_to(STAFF_CHAT) if "过去" in t) == summaries
            ):
                time.sleep(0.5)
            staff = telegram.texts_to(STAFF_CHAT)
            figures = {
                "real_crisis": real,
                "flood": {
                    "sent": FLOOD_MESSAGES,
                    "senders": FLOOD_SENDERS,
                    "seconds": round(flood_s, 1),
                    "http_status": {str(k): v for k, v in sorted(statuses.items())},
                    **_stored(data_dir),
                },
                "staff_chat": {
                    "lines": len(staff),
                    "own_crisis_lines": sum(1 for t in staff if "新危机会话" in t),
                    "summaries": sum(1 for t in staff if "过去" in t),
                    "texts": staff[:12],
                },
                "app_rss_mb": {
                    "before": round(rss_before),
                    "peak": round(peak.peak),
                    "after": round(rss_mb(app.process.pid)),
                },
            }
    finally:
        server.stop()
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run_bench(), ensure_ascii=False, indent=2))
