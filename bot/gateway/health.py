"""Is the action server there? Rasa answers without its actions when it is down ("didn't
understand"), so the gateway checks before every turn and apologises instead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx

HEALTH_RECHECK_SECONDS = 3.0
"""A full GET of /health at most this often; a TCP connect in between."""

log = logging.getLogger(__name__)


class ActionServerHealth:
    """Health of the action server behind `action_server_url` (the webhook URL Rasa calls).

    A full GET of /health at most every HEALTH_RECHECK_SECONDS; in between only a TCP connect to
    its port, which still notices a stopped or killed server at once. Under load the GET on every
    message cost a fifth of the app's CPU (py-spy), the connect costs almost nothing.
    """

    def __init__(self, action_server_url: str | None) -> None:
        self._url = action_server_url.rstrip("/").removesuffix("/webhook") + "/health" if action_server_url else None
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(1.0, connect=0.5))
        self._checked_at = float("-inf")  # monotonic time of the last /health that answered 200

    async def aclose(self) -> None:
        await self._client.aclose()

    async def up(self) -> bool:
        """True when there is no action server to check, or it answers."""
        if self._url is None:
            return True
        if time.monotonic() - self._checked_at < HEALTH_RECHECK_SECONDS:
            if await _port_open(self._url):
                return True
            self._checked_at = float("-inf")
        try:
            response = await self._client.get(self._url)
        except httpx.HTTPError:
            log.warning("the action server does not answer its health check")
            return False
        if response.status_code != 200:
            return False
        self._checked_at = time.monotonic()
        return True


async def _port_open(url: str) -> bool:
    parsed = httpx.URL(url)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parsed.host, parsed.port or 80), 0.5)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
