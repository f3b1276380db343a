"""Message rate limits of the gateway: a flood from one conversation must not starve Rasa."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class RateLimiter:
    """At most `limit` messages per `window` seconds per conversation."""

    def __init__(self, limit: int = 20, window: float = 30.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        stamps = self._seen[key]
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return False
        stamps.append(now)
        return True
