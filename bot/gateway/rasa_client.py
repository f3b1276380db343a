"""Talks to the Rasa server's REST channel; an empty answer or a timeout counts as a failure.

Rasa answers HTTP 200 with `[]` when the action server is down (stack-notes), so "no messages"
must be treated like an error by whoever calls it: the gateway then answers the person itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from bot.privacy import mask

log = logging.getLogger(__name__)


class RasaUnavailable(RuntimeError):
    """Rasa (or the action server behind it) gave no usable answer."""


@dataclass
class BotReply:
    """One message for the person; `custom` carries machine data from actions (handoff, triage)."""

    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] | None = None


FAILOVER_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)
"""The replica is down (refused, unreachable) or died mid-call (connection dropped): another may answer.
A read timeout is not among them: a slow replica may still be working on the message."""

DOWN_SECONDS = 2.0
"""A replica that refused a connection is tried last for this long (no cost paid per message)."""


def rendezvous_order(sender: str, bases: list[str]) -> list[str]:
    """The replicas in this conversation's order of preference (highest random weight first).

    Rendezvous hashing: each (conversation, replica) pair gets a stable score and the conversation
    prefers its highest. Adding or removing a replica moves only the conversations that prefer it
    (about 1/N of them), where `crc32 % N` moved most of them.
    """

    def score(base: str) -> int:
        digest = hashlib.blake2b(f"{base}\x00{sender}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    return sorted(bases, key=score, reverse=True)


class RasaClient:
    """REST channel for messages; with `token`, also Rasa's HTTP API (slot resets when staff hand back).

    `base_url` may list several Rasa replicas, comma-separated. Each conversation prefers one of
    them, stably (rendezvous_order), so its turns meet Rasa's lock on one replica where they can.
    With `failover` (FRONTDOOR_RASA_FAILOVER: the replicas share one tracker store and a Redis lock
    store, cluster mode) a conversation whose replica is down goes to the next one in its order and
    loses nothing. Without it (each replica keeps its own SQLite tracker: `make run`) it stays on its
    replica, and the gateway apologises while that replica is down.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 10.0,
        retries: int = 1,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
        failover: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bases = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        if not self._bases:
            raise ValueError("no Rasa URL given (FRONTDOOR_RASA_URL)")
        self._token = token
        self._timeout = timeout
        self._retries = retries
        self._failover = failover
        self._clock = clock
        self._down_until: dict[str, float] = {}
        self.failovers = 0  # messages answered by a replica other than the preferred one
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=2.0), transport=transport)

    @property
    def replicas(self) -> list[str]:
        return list(self._bases)

    def candidates(self, sender: str) -> list[str]:
        """The replicas to try for this conversation, in order: its preferred one first, replicas
        that refused a connection in the last DOWN_SECONDS last; just the preferred one without fail-over."""
        order = rendezvous_order(sender, self._bases)
        if not self._failover:
            return order[:1]
        now = self._clock()
        return [b for b in order if self._down_until.get(b, 0.0) <= now] + [
            b for b in order if self._down_until.get(b, 0.0) > now
        ]

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[BotReply]:
        """Send one user message; on a connection failure retry (the same replica once, or the next
        replica with fail-over), never after a timeout (the message may be in progress there)."""
        payload = {"sender": sender, "message": text, "metadata": metadata}
        last_error: Exception | None = None
        candidates = self.candidates(sender)
        attempts = [candidates[0]] * (self._retries + 1) if len(candidates) == 1 else candidates
        for attempt, base in enumerate(attempts):
            try:
                # an overall deadline: httpx's timeouts are per network operation, not per call
                response = await asyncio.wait_for(
                    self._client.post(base + "/webhooks/rest/webhook", json=payload), self._timeout
                )
                response.raise_for_status()
                replies = [self._parse(item) for item in response.json()]
                replies = [r for r in replies if r.text or r.custom]
                if not any(r.text for r in replies) and not any((r.custom or {}).get("silent") for r in replies):
                    raise RasaUnavailable("Rasa returned no messages (is the action server running?)")
                if attempt and base != attempts[0]:
                    self.failovers += 1
                return replies
            except FAILOVER_ERRORS as exc:  # nothing (or nothing answered) reached Rasa: another try
                last_error = exc
                self._down_until[base] = self._clock() + DOWN_SECONDS
                if len(candidates) == 1:
                    await asyncio.sleep(0.2 * (attempt + 1))
                else:
                    log.warning("Rasa replica %s unreachable (%s): trying the next one", base, type(exc).__name__)
            except (httpx.HTTPError, ValueError, TimeoutError) as exc:
                last_error = exc
                break
        log.warning("Rasa call failed for %s: %s %s", mask(sender), type(last_error).__name__, mask(str(last_error)))
        raise RasaUnavailable(str(last_error)) from last_error

    def replica_for(self, sender: str) -> str:
        """The base URL of the Rasa replica this conversation prefers (stable across restarts)."""
        return rendezvous_order(sender, self._bases)[0]

    @property
    def can_set_slots(self) -> bool:
        return self._token is not None

    async def set_slots(self, sender: str, values: dict[str, Any]) -> bool:
        """Append slot events to the conversation's tracker (used when staff hand it back to the bot)."""
        if self._token is None:
            return False
        events = [{"event": "slot", "name": name, "value": value} for name, value in values.items()]
        error: Exception | None = None
        for base in self.candidates(sender):
            try:
                response = await self._client.post(
                    f"{base}/conversations/{quote(sender, safe='')}/tracker/events",
                    params={"include_events": "NONE", "token": self._token},
                    json=events,
                    timeout=min(self._timeout, 5.0),
                )
                response.raise_for_status()
                return True
            except FAILOVER_ERRORS as exc:
                error = exc
                self._down_until[base] = self._clock() + DOWN_SECONDS
            except httpx.HTTPError as exc:
                error = exc
                break
        log.warning("could not reset the slots of %s: %s", mask(sender), type(error).__name__)
        return False

    async def is_up(self) -> bool:
        """True when every replica answers (without fail-over one down replica strands its share of
        conversations), or with fail-over when at least one does."""
        up = await self.replicas_up()
        return any(up.values()) if self._failover else all(up.values())

    async def replicas_up(self) -> dict[str, bool]:
        """Each replica: does it answer GET / with 200 (within 2 s)?"""

        async def probe(base: str) -> bool:
            try:
                return (await self._client.get(base + "/", timeout=2.0)).status_code == 200
            except httpx.HTTPError:
                return False

        answers = await asyncio.gather(*(probe(base) for base in self._bases))
        return dict(zip(self._bases, answers, strict=True))

    async def aclose(self) -> None:
        await self._client.aclose()

    @staticmethod
    def _parse(item: dict[str, Any]) -> BotReply:
        custom = item.get("custom")
        return BotReply(
            text=str(item.get("text") or ""),
            buttons=[
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in item.get("buttons") or []
            ],
            custom=custom if isinstance(custom, dict) else None,
        )
