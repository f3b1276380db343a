"""Two Rasa replicas behind one gateway (FRONTDOOR_RASA_REPLICAS=2), through real processes.

Each conversation must live on exactly one replica, keep its dialogue state there across turns,
and a replica that dies only affects its own conversations, which get the apology, never silence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.gateway import messages
from bot.gateway.rasa_client import RasaClient
from bot.launcher import Stack
from tests.e2e.conftest import started_stack


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("frontdoor-replicas"), rasa_replicas=2) as stack:
        yield stack


def chat(stack: Stack, sender: str, text: str) -> list[str]:
    response = httpx.post(
        f"http://127.0.0.1:{stack.app_port}/api/chat/12345",
        json={"sender": sender, "text": text},
        headers={"Authorization": f"Bearer {stack.rest_key}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [str(r.get("text") or "") for r in response.json()["replies"]]


def senders_in(tracker_db: Path) -> set[str]:
    with sqlite3.connect(tracker_db) as connection:
        return {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}


def test_conversations_are_spread_over_the_replicas_and_each_stays_on_one(two_replicas: Stack) -> None:
    people = [f"replica-person-{n}" for n in range(6)]
    for person in people:
        assert chat(two_replicas, person, "你好")
        follow = chat(two_replicas, person, "我想查询工单进度")
        assert follow and messages.backend_down("12345") not in follow
    owners = RasaClient(",".join(two_replicas.rasa_urls))
    expected = {
        url: {f"12345:rest:local:{p}" for p in people if owners.replica_for(f"12345:rest:local:{p}") == url}
        for url in two_replicas.rasa_urls
    }
    assert all(expected.values()), "six people should land on both replicas"
    for replica, url in enumerate(two_replicas.rasa_urls):
        assert senders_in(two_replicas.tracker_db(replica)) == expected[url]


def test_a_dead_replica_only_affects_its_own_conversations(two_replicas: Stack) -> None:
    owners = RasaClient(",".join(two_replicas.rasa_urls))
    people = [f"outage-person-{n}" for n in range(20)]
    on_second = [p for p in people if owners.replica_for(f"12345:rest:local:{p}") == two_replicas.rasa_urls[1]]
    on_first = [p for p in people if p not in on_second]
    two_replicas.kill("rasa-2")
    try:
        assert chat(two_replicas, on_second[0], "路灯坏了")[-1:] == [messages.backend_down("12345")]
        answered = chat(two_replicas, on_first[0], "路灯坏了")
        assert answered and messages.backend_down("12345") not in answered
        health = httpx.get(f"http://127.0.0.1:{two_replicas.app_port}/healthz", timeout=10).json()
        assert health["rasa"] == "down"  # one replica down is reported
    finally:
        two_replicas.restart("rasa-2", timeout=300)
    # a freshly restarted Rasa answers its first message slowly (TensorFlow traces its graphs), and on a
    # busy machine that can exceed the gateway's 10 s timeout: the person gets the apology and sends again
    for _attempt in range(3):
        again = chat(two_replicas, on_second[0], "路灯坏了")
        if messages.backend_down("12345") not in again:
            break
    assert again and messages.backend_down("12345") not in again
