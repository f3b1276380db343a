"""Talks to the Rasa server's REST channel; an empty answer or a timeout counts as a failure.

Rasa answers HTTP 200 with `[]` when the action server is down (stack-notes), so "no messages"
must be treated like an error by whoever calls it: the gateway then answers the person itself.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
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


class RasaClient:
    """REST channel for messages; with `token`, also Rasa's HTTP API (slot resets when staff hand back).

    `base_url` may list several Rasa replicas, comma-separated. Each conversation always goes to
    the same replica (a stable hash of its id), so a replica's in-memory lock store and its own
    tracker store are enough: no shared lock store (Redis) is needed to keep a conversation in order.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 10.0,
        retries: int = 1,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self._bases = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        if not self._bases:
            raise ValueError("no Rasa URL given (FRONTDOOR_RASA_URL)")
        self._token = token
        self._timeout = timeout
        self._retries = retries
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=2.0), transport=transport)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[BotReply]:
        """Send one user message; retry once on a connection failure, never on a timeout (not idempotent)."""
        payload = {"sender": sender, "message": text, "metadata": metadata}
        last_error: Exception | None = None
        for attempt in range(self._retries + 1):
            try:
                # an overall deadline: httpx's timeouts are per network operation, not per call
                response = await asyncio.wait_for(
                    self._client.post(self.replica_for(sender) + "/webhooks/rest/webhook", json=payload), self._timeout
                )
                response.raise_for_status()
                replies = [self._parse(item) for item in response.json()]
                replies = [r for r in replies if r.text or r.custom]
                if not any(r.text for r in replies) and not any((r.custom or {}).get("silent") for r in replies):
                    raise RasaUnavailable("Rasa returned no messages (is the action server running?)")
                return replies
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing reached Rasa: safe to resend
                last_error = exc
                await asyncio.sleep(0.2 * (attempt + 1))
            except (httpx.HTTPError, ValueError, TimeoutError) as exc:
                last_error = exc
                break
        log.warning("Rasa call failed for %s: %s %s", mask(sender), type(last_error).__name__, mask(str(last_error)))
        raise RasaUnavailable(str(last_error)) from last_error

    def replica_for(self, sender: str) -> str:
        """The base URL of the Rasa replica that owns this conversation (stable across restarts)."""
        return self._bases[zlib.crc32(sender.encode("utf-8")) % len(self._bases)]

    @property
    def can_set_slots(self) -> bool:
        return self._token is not None

    async def set_slots(self, sender: str, values: dict[str, Any]) -> bool:
        """Append slot events to the conversation's tracker (used when staff hand it back to the bot)."""
        if self._token is None:
            return False
        events = [{"event": "slot", "name": name, "value": value} for name, value in values.items()]
        try:
            response = await self._client.post(
                f"{self.replica_for(sender)}/conversations/{quote(sender, safe='')}/tracker/events",
                params={"include_events": "NONE", "token": self._token},
                json=events,
                timeout=min(self._timeout, 5.0),
            )
            response.raise_for_status()
            return True
        except httpx.HTTPError as exc:
            log.warning("could not reset the slots of %s: %s", mask(sender), type(exc).__name__)
            return False

    async def is_up(self) -> bool:
        """True when every replica answers (one down replica strands its share of conversations)."""
        try:
            answers = await asyncio.gather(*(self._client.get(base + "/") for base in self._bases))
        except httpx.HTTPError:
            return False
        return all(answer.status_code == 200 for answer in answers)

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
