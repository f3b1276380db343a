"""Redis calls that never stop a message: a failure falls back to the process's own memory.

One guard per Redis client. After a failure Redis is skipped for `retry_seconds` (a refused
connection costs nothing, a hung one up to the socket timeout: neither should be paid per
message), then tried again. The outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

FAILURES = (RedisError, OSError, TimeoutError)


class RedisGuard:
    def __init__(self, retry_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._down_until = float("-inf")
        self._down = False
        self.fallbacks = 0  # calls answered from memory because Redis was down (tests, benchmarks)

    @property
    def down(self) -> bool:
        return self._down

    async def call(self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]) -> T:
        """`shared()` when Redis answers, else `local()` (the process's own memory)."""
        if self._clock() >= self._down_until:
            try:
                result = await shared()
            except FAILURES as exc:
                self._down_until = self._clock() + self.retry_seconds
                if not self._down:
                    log.warning(
                        "Redis unreachable (%s): limits and alert memory per instance until it is back",
                        type(exc).__name__,
                    )
                self._down = True
            else:
                if self._down:
                    log.warning("Redis is back: limits and alert memory shared again")
                self._down = False
                return result
        self.fallbacks += 1
        return await local()
