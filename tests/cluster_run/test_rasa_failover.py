"""The gateway's Rasa client against real HTTP servers on 127.0.0.1 that speak Rasa's REST webhook:
a stable replica per conversation, few moves when the count changes, fail-over when one is down."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.gateway.rasa_client import RasaClient, RasaUnavailable, rendezvous_order
from bot.launcher import free_port


class FakeReplica:
    """A real HTTP server answering POST /webhooks/rest/webhook like Rasa; remembers its senders."""

    def __init__(self, name: str, delay: float = 0.0) -> None:
        self.name, self.delay = name, delay
        self.senders: list[str] = []
        self.port = free_port()
        replica = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                self._reply(200, b"Hello from Rasa: 3.6.21")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                replica.senders.append(body["sender"])
                time.sleep(replica.delay)
                self._reply(200, json.dumps([{"recipient_id": body["sender"], "text": replica.name}]).encode())

            def _reply(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.handle_error = lambda *_: None  # type: ignore[method-assign]  # a client that gave up
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Down like a killed process: the port refuses connections."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def replicas() -> Iterator[list[FakeReplica]]:
    started = [FakeReplica(f"r{i}") for i in range(3)]
    yield started
    for replica in started:
        with contextlib.suppress(OSError):
            replica.stop()


def urls(replicas: list[FakeReplica]) -> str:
    return ",".join(r.url for r in replicas)


async def test_each_conversation_stays_on_its_replica_while_it_is_up(replicas: list[FakeReplica]) -> None:
    client = RasaClient(urls(replicas), timeout=5, failover=True)
    senders = [f"12345:rest:p{n}" for n in range(30)]
    for _ in range(2):
        for sender in senders:
            (reply,) = await client.send(sender, "你好", {})
            assert reply.text == next(r.name for r in replicas if r.url == client.replica_for(sender))
    for replica in replicas:
        assert replica.senders, "30 people should reach every replica"
        assert all(client.replica_for(s) == replica.url for s in replica.senders)
    assert client.failovers == 0
    await client.aclose()


def test_changing_the_replica_count_moves_only_the_conversations_of_that_replica() -> None:
    three = ["http://10.0.0.1:5005", "http://10.0.0.2:5005", "http://10.0.0.3:5005"]
    senders = [f"12355:web:s{n}" for n in range(3000)]
    before = {s: rendezvous_order(s, three)[0] for s in senders}
    after = {s: rendezvous_order(s, three[:2])[0] for s in senders}  # the third replica removed
    moved = [s for s in senders if before[s] != after[s]]
    assert all(before[s] == three[2] for s in moved)  # only the removed replica's people move
    assert 0.25 < len(moved) / len(senders) < 0.42  # about a third, where crc32 % N moved about two thirds
    grown = {s: rendezvous_order(s, [*three, "http://10.0.0.4:5005"])[0] for s in senders}
    assert 0.18 < sum(before[s] != grown[s] for s in senders) / len(senders) < 0.32  # about a quarter


async def test_a_down_replica_s_conversations_fail_over_and_come_back(replicas: list[FakeReplica]) -> None:
    client = RasaClient(urls(replicas), timeout=5, failover=True)
    down = replicas[0]
    theirs = [s for s in (f"12345:rest:q{n}" for n in range(60)) if client.replica_for(s) == down.url][:5]
    assert theirs
    down.stop()
    for sender in theirs:
        (reply,) = await client.send(sender, "路灯坏了", {})
        assert reply.text in ("r1", "r2")  # answered by another replica, not apologised for
        assert reply.text == next(r.name for r in replicas if r.url == client.candidates(sender)[0])
    assert client.failovers >= 1  # the first one found it down; the rest skipped it (DOWN_SECONDS)
    assert await client.is_up()  # two of three answer: the front door can answer everyone
    assert (await client.replicas_up())[down.url] is False
    await client.aclose()


async def test_without_fail_over_a_down_replica_s_conversations_get_no_answer(replicas: list[FakeReplica]) -> None:
    client = RasaClient(urls(replicas), timeout=5, retries=1, failover=False)
    down = replicas[1]
    sender = next(s for s in (f"12345:rest:z{n}" for n in range(60)) if client.replica_for(s) == down.url)
    down.stop()
    with pytest.raises(RasaUnavailable):
        await client.send(sender, "你好", {})  # its state lives only there (make run): the gateway apologises
    assert not await client.is_up()
    await client.aclose()


async def test_a_slow_replica_is_not_asked_twice(replicas: list[FakeReplica]) -> None:
    slow = replicas[2]
    slow.delay = 1.5
    client = RasaClient(urls(replicas), timeout=0.5, failover=True)
    sender = next(s for s in (f"12345:rest:t{n}" for n in range(60)) if client.replica_for(s) == slow.url)
    with pytest.raises(RasaUnavailable):
        await client.send(sender, "你好", {})
    # a timeout may mean the message is being handled there: resending it elsewhere could answer twice
    assert replicas[0].senders == replicas[1].senders == [] and slow.senders == [sender]
    await client.aclose()
