"""Token buckets with bounded memory: how many requests a client, a key or everyone may make.

Our own ~60 lines rather than the `limits` library: its in-memory storage keeps every key until
its window expires (no size cap: a flood from a million addresses holds a million entries), and we
need exactly one algorithm with a precise Retry-After. Here each limiter holds at most `max_keys`
buckets in LRU order; the least recently used bucket is dropped first. A dropped bucket was idle
the longest, so it has most likely refilled already (a full bucket carries no state); a flood that
cycles through keys to get fresh buckets is still held by the global bucket above it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from bot.settings import Rate

__all__ = ["BucketLimiter", "Rate"]

Clock = Callable[[], float]


class BucketLimiter:
    """One token bucket per key, at most `max_keys` of them (least recently used dropped first).

    Thread-safe: the gateway checks new conversations inside its database thread."""

    def __init__(self, rate: Rate, max_keys: int = 10_000, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.max_keys = max(1, max_keys)
        self._clock = clock
        self._per_second = rate.count / rate.seconds if not rate.off else 0.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, as of)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, since = self._buckets.get(key, (float(self.rate.count), now))
        return min(float(self.rate.count), tokens + (now - since) * self._per_second)

    def wait(self, key: str) -> float:
        """Seconds until `key` may make a request (0: now); takes nothing."""
        if self.rate.off:
            return 0.0
        with self._lock:
            tokens = self._tokens(key, self._clock())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._per_second

    def take(self, key: str) -> float:
        """Take one token: 0 when allowed, else the seconds until the next token (nothing is taken)."""
        if self.rate.off:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens = self._tokens(key, now)
            if tokens < 1.0:
                self._store(key, tokens, now)
                return (1.0 - tokens) / self._per_second
            self._store(key, tokens - 1.0, now)
            return 0.0

    def give_back(self, key: str) -> None:
        """Return a token taken by `take` (a later check refused the request, so it cost nothing)."""
        with self._lock:
            if key in self._buckets and not self.rate.off:
                tokens, since = self._buckets[key]
                self._buckets[key] = (min(float(self.rate.count), tokens + 1.0), since)

    # the async interface of bot/shared_state/limiters.py's Limiter (Redis in cluster mode)
    async def acquire(self, key: str) -> float:
        return self.take(key)

    async def release(self, key: str) -> None:
        self.give_back(key)

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
