"""Builds the limiters and the alert memory: in memory by default, in Redis with FRONTDOOR_REDIS_URL."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from bot.security.limits import BucketLimiter
from bot.settings import Rate
from bot.shared_state.alert_memory import AlertMemory, MemoryAlertMemory, RedisAlertMemory
from bot.shared_state.guard import RedisGuard
from bot.shared_state.limiters import Limiter, RedisLimiter

SOCKET_TIMEOUT = 0.5
"""Seconds a Redis call may take before the message goes on without it (loopback or a LAN: ~1 ms)."""


class SharedState:
    """One per process (app instance). `clock` is the time the alert memory is kept in: monotonic for
    one process, the wall clock when instances share Redis."""

    def __init__(self, redis_url: str | None, max_keys: int = 10_000, retry_seconds: float = 1.0) -> None:
        self.redis_url = redis_url
        self.max_keys = max_keys
        self.guard = RedisGuard(retry_seconds)
        self.client: Redis | None = None
        if redis_url:
            self.client = Redis.from_url(
                redis_url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                health_check_interval=30,
            )
        self.clock: Callable[[], float] = time.time if self.client is not None else time.monotonic

    @property
    def shared(self) -> bool:
        return self.client is not None

    def limiter(self, name: str, rate: Rate, max_keys: int | None = None) -> Limiter:
        size = self.max_keys if max_keys is None else max_keys
        if self.client is None:
            return BucketLimiter(rate, size)
        return RedisLimiter(name, rate, self.client, self.guard, size)

    def alert_memory(self) -> AlertMemory:
        if self.client is None:
            return MemoryAlertMemory(self.max_keys)
        return RedisAlertMemory(self.client, self.guard, self.max_keys)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
