"""RasaClient against replicas: a conversation always reaches the same Rasa, every replica must be up."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from bot.gateway.rasa_client import RasaClient

REPLICAS = "http://rasa-a.test:5005, http://rasa-b.test:5006/"


class Recorder:
    """Answers like Rasa's REST channel and tracker API; remembers which replica got what."""

    def __init__(self, down: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.down = down

    def handler(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down:
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/webhooks/rest/webhook":
            self.calls.append((host, "message", request.content.decode()))
            return httpx.Response(200, json=[{"text": "好的"}])
        if request.url.path.endswith("/tracker/events"):
            self.calls.append((host, "slots", request.url.path.split("/")[2]))
            return httpx.Response(200, json={})
        return httpx.Response(200, text="Hello from Rasa")

    def client(self, urls: str = REPLICAS) -> RasaClient:
        return RasaClient(urls, timeout=2, retries=0, transport=httpx.MockTransport(self.handler), token="t")


async def test_each_conversation_sticks_to_one_replica_and_both_replicas_get_work() -> None:
    recorder = Recorder()
    client = recorder.client()
    senders = [f"12345:rest:person-{n}" for n in range(40)]
    for _ in range(3):
        for sender in senders:
            await client.send(sender, "路灯坏了", {})
    hosts_of: dict[str, set[str]] = {}
    for host, _, body in recorder.calls:
        sender = next(s for s in senders if f'"{s}"' in body)
        hosts_of.setdefault(sender, set()).add(host)
    assert all(len(hosts) == 1 for hosts in hosts_of.values())
    spread = Counter(next(iter(hosts)) for hosts in hosts_of.values())
    assert set(spread) == {"rasa-a.test", "rasa-b.test"} and min(spread.values()) >= 10
    await client.aclose()


async def test_slot_resets_go_to_the_replica_that_holds_the_conversation() -> None:
    recorder = Recorder()
    client = recorder.client()
    sender = "12355:web:someone"
    await client.send(sender, "你好", {})
    assert await client.set_slots(sender, {"handoff": False})
    (message_host, _, _), (slot_host, kind, slot_sender) = recorder.calls
    assert (kind, slot_sender) == ("slots", "12355:web:someone") and slot_host == message_host
    assert client.replica_for(sender) == f"http://{message_host}:{5005 if message_host == 'rasa-a.test' else 5006}"
    await client.aclose()


async def test_the_front_door_reports_rasa_down_when_any_replica_is_down() -> None:
    assert await Recorder().client().is_up()
    assert not await Recorder(down=frozenset({"rasa-b.test"})).client().is_up()


def test_a_single_url_still_works_and_an_empty_one_is_refused() -> None:
    assert RasaClient("http://127.0.0.1:5005/").replica_for("anyone") == "http://127.0.0.1:5005"
    with pytest.raises(ValueError, match="FRONTDOOR_RASA_URL"):
        RasaClient(" , ")
