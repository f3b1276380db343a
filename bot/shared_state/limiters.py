"""Token buckets shared by every app instance: one Lua script in Redis per take or give-back.

The bucket is the one of bot/security/limits.py (`count` tokens refilled evenly over `seconds`),
kept as a Redis hash {tokens, ts} that expires once it would be full again (a full bucket carries
no state, so memory is bounded by the active keys, not by max_keys). The script reads Redis's own
clock (TIME), so instances on different hosts agree on "now". When Redis is down the limiter asks
its in-memory BucketLimiter instead (bot/shared_state/guard.py).
"""

from __future__ import annotations

import math
from typing import Protocol

from redis.asyncio import Redis

from bot.security.limits import BucketLimiter
from bot.settings import Rate
from bot.shared_state.guard import RedisGuard

PREFIX = "fd:limit:"

# KEYS[1]: the bucket; ARGV: capacity, tokens per second, cost (1 take, -1 give back), ttl ms.
# Returns the seconds to wait as a string (a Lua number would be truncated to an integer).
BUCKET_LUA = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  if cost < 0 then return '0' end
  tokens = cap
  ts = now
end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if cost > 0 then
  if tokens < cost then wait = (cost - tokens) / rate else tokens = tokens - cost end
else
  tokens = math.min(cap, tokens - cost)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return tostring(wait)
"""


class Limiter(Protocol):
    """What the gateway and the abuse middleware need from a limiter (in memory or in Redis)."""

    rate: Rate

    async def acquire(self, key: str) -> float:
        """Take one token: 0 when allowed, else the seconds until the next one (nothing taken)."""
        ...

    async def release(self, key: str) -> None:
        """Give back a token taken by `acquire` (a later check refused the request)."""
        ...


class RedisLimiter:
    """One named family of buckets in Redis (e.g. "ip_messages"), with its in-memory fallback."""

    def __init__(self, name: str, rate: Rate, client: Redis, guard: RedisGuard, max_keys: int = 10_000) -> None:
        self.name = name
        self.rate = rate
        self.fallback = BucketLimiter(rate, max_keys)
        self._client = client
        self._guard = guard
        self._script = client.register_script(BUCKET_LUA)
        per_second = rate.count / rate.seconds if not rate.off else 0.0
        self._per_second = repr(per_second)
        self._ttl_ms = str(math.ceil(rate.seconds * 1000) + 1000)  # empty to full, and a second

    def _key(self, key: str) -> str:
        return f"{PREFIX}{self.name}:{key}"

    async def _run(self, key: str, cost: int) -> float:
        result = await self._script(keys=[self._key(key)], args=[self.rate.count, self._per_second, cost, self._ttl_ms])
        return float(result)

    async def acquire(self, key: str) -> float:
        if self.rate.off:
            return 0.0

        async def local() -> float:
            return self.fallback.take(key)

        return await self._guard.call(lambda: self._run(key, 1), local)

    async def release(self, key: str) -> None:
        if self.rate.off:
            return

        async def shared() -> None:
            await self._run(key, -1)

        async def local() -> None:
            self.fallback.give_back(key)

        await self._guard.call(shared, local)
