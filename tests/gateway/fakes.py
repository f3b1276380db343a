"""Test doubles of the gateway tests: Rasa at the HTTP level (messages, slots), safety screens, pushers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.gateway.outbound import DeliveryError, OutboundItem, Progress
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import Inbound, Reply
from tests.decisions import crisis_when, no_risk

__all__ = ["FakeRasa", "FlakyPusher", "crisis_when", "msg", "no_risk"]


def msg(
    text: str | None, message_id: str | None = None, user: str = "u1", desk: str = "12345", channel: str = "rest"
) -> Inbound:
    return Inbound(desk=desk, channel=channel, user=user, text=text, message_id=message_id)


class FakeRasa:
    """Stands in for Rasa's REST channel and tracker API at the HTTP level; records what it was sent."""

    def __init__(self, reply: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None, delay: float = 0):
        self.sent: list[dict[str, Any]] = []
        self.reply = reply or (lambda payload: [{"text": f"收到：{payload['message']}"}])
        self.delay = delay
        self.slots: dict[str, dict[str, Any]] = {}
        self.slot_events: list[tuple[str, list[dict[str, Any]]]] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/conversations/"):
            sender = path.split("/")[2]
            if request.method == "GET":
                return httpx.Response(200, json={"sender_id": sender, "slots": self.slots.get(sender, {})})
            events = json.loads(request.content)
            self.slot_events.append((sender, events))
            for event in events:
                self.slots.setdefault(sender, {})[event["name"]] = event["value"]
            return httpx.Response(200, json={"sender_id": sender})
        if path == "/":
            return httpx.Response(200, text="Hello from Rasa")
        payload = json.loads(request.content)
        self.sent.append(payload)
        if self.delay:
            await asyncio.sleep(self.delay)
        return httpx.Response(200, json=self.reply(payload))

    def client(self, token: str | None = None) -> RasaClient:
        return RasaClient("http://rasa.test", timeout=2, transport=httpx.MockTransport(self.handler), token=token)


class FlakyPusher:
    """A push channel that fails the first `failures` sends (or always with `permanent`) and records the rest."""

    def __init__(self, failures: int = 0, permanent_for: set[str] | None = None) -> None:
        self.failures = failures
        self.permanent_for = permanent_for or set()
        self.delivered: list[str] = []
        self.attempts = 0

    async def push(self, item: OutboundItem, progress: Progress) -> None:
        self.attempts += 1
        if item.text in self.permanent_for:
            raise DeliveryError("blocked by the user", permanent=True)
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError("network down")
        self.delivered.append(item.text)
        await progress(1)


def answers(replies: list[Reply]) -> list[Reply]:
    """The replies without the privacy notice the first answer of a conversation starts with
    (bot/privacy_notice.py; tested on its own in tests/gateway/test_privacy_notice.py)."""
    from bot import privacy_notice

    return [r for r in replies if r.source != privacy_notice.SOURCE]


def without_notice(items: list[dict[str, Any]], desk: str = "12345") -> list[dict[str, Any]]:
    """Queued messages (`Gateway.queued_after`) without the desk's privacy notice."""
    from bot import privacy_notice

    notices = {privacy_notice.notice(desk, language) for language in ("zh-Hans", "en")}
    return [m for m in items if m["text"] not in notices]
