"""What staff alerts remember between crises (bot/gateway/alerts.py): in memory, or in Redis.

- the last crisis alert of each conversation (one per `every` seconds);
- crisis times per source (a source with many is a *bulk source*);
- crisis times of the desk (the coalescing window and the summary's counts);
- crises held for the next summary, and when the desk's last summary went out.

In Redis all instances see one memory: a flood spread over two instances is still one flood, and
the held count is taken with GETDEL, so two instances never both send the same summary. When
Redis is down, RedisAlertMemory answers from its in-memory fallback (guard.py): never fewer
alerts, at worst one more per instance.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.shared_state.guard import RedisGuard

PREFIX = "fd:alerts:"


class AlertMemory(Protocol):
    async def first_alert(self, conversation_id: str, now: float, every: float) -> bool:
        """True (and remembered) when the conversation had no crisis alert within `every` seconds."""
        ...

    async def source_crises(self, source: str, now: float, window: float, record: bool) -> int:
        """Crises from `source` within `window` seconds, this one included when `record`."""
        ...

    async def note_crisis(self, desk: str, now: float, bulk: bool, coalesce: float, keep: float) -> int:
        """Record a crisis of the desk; returns the crises not from a bulk source within `coalesce`
        seconds (across desks, as one staff chat sees them), this one included."""
        ...

    async def recent(self, desk: str, now: float, window: float) -> tuple[int, int]:
        """(crises, of which from bulk sources) of the desk within `window` seconds."""
        ...

    async def hold(self, desk: str, count: int = 1) -> None:
        """Count crises for the desk's next summary."""
        ...

    async def take_held(self, desk: str) -> int:
        """The crises held for the desk's summary, reset to 0 (exactly one caller gets them)."""
        ...

    async def last_summary(self, desk: str) -> float | None: ...

    async def summarised(self, desk: str, now: float) -> None: ...


class MemoryAlertMemory:
    """One process's memory, each table bounded by `max_keys` (least recently used dropped first)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._max_keys = max_keys
        self._last: OrderedDict[str, float] = OrderedDict()
        self._by_source: OrderedDict[str, deque[float]] = OrderedDict()
        self._own: deque[float] = deque()
        self._crises: deque[tuple[float, str, bool]] = deque()
        self._held: dict[str, int] = {}
        self._last_summary: dict[str, float] = {}

    async def first_alert(self, conversation_id: str, now: float, every: float) -> bool:
        last = self._last.get(conversation_id)
        if last is not None and now - last < every:
            return False
        self._remember(self._last, conversation_id, now)
        return True

    async def source_crises(self, source: str, now: float, window: float, record: bool) -> int:
        times = self._by_source.get(source)
        if times is None and not record:
            return 0
        times = times if times is not None else deque()
        if record:
            times.append(now)
        _trim(times, now, window)
        if record:
            self._remember(self._by_source, source, times)
        return len(times)

    async def note_crisis(self, desk: str, now: float, bulk: bool, coalesce: float, keep: float) -> int:
        self._crises.append((now, desk, bulk))
        while self._crises and now - self._crises[0][0] > keep:
            self._crises.popleft()
        if not bulk:
            self._own.append(now)
        return len(_trim(self._own, now, coalesce))

    async def recent(self, desk: str, now: float, window: float) -> tuple[int, int]:
        recent = [c for c in self._crises if c[1] == desk and now - c[0] <= window]
        return len(recent), sum(1 for c in recent if c[2])

    async def hold(self, desk: str, count: int = 1) -> None:
        self._held[desk] = self._held.get(desk, 0) + count

    async def take_held(self, desk: str) -> int:
        return self._held.pop(desk, 0)

    async def last_summary(self, desk: str) -> float | None:
        return self._last_summary.get(desk)

    async def summarised(self, desk: str, now: float) -> None:
        self._last_summary[desk] = now

    def _remember(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._max_keys:
            table.popitem(last=False)


def _trim(times: deque[float], now: float, seconds: float) -> deque[float]:
    while times and now - times[0] > seconds:
        times.popleft()
    return times


class RedisAlertMemory:
    """The same memory in Redis: sorted sets of times (members unique per crisis), counters, keys
    that expire with their window. `now` is the caller's wall clock (time.time on every instance)."""

    def __init__(self, client: Redis, guard: RedisGuard, max_keys: int = 10_000) -> None:
        self.fallback = MemoryAlertMemory(max_keys)
        self._r = client
        self._guard = guard

    @staticmethod
    def _member(now: float, tag: str = "") -> str:
        return f"{now:.6f}:{tag}:{secrets.token_hex(4)}"

    async def first_alert(self, conversation_id: str, now: float, every: float) -> bool:
        async def shared() -> bool:
            key = f"{PREFIX}last:{conversation_id}"
            return bool(await self._r.set(key, repr(now), nx=True, px=max(1, int(every * 1000))))

        return await self._guard.call(shared, lambda: self.fallback.first_alert(conversation_id, now, every))

    async def source_crises(self, source: str, now: float, window: float, record: bool) -> int:
        async def shared() -> int:
            key = f"{PREFIX}source:{source}"
            async with self._r.pipeline(transaction=True) as pipe:
                if record:
                    pipe.zadd(key, {self._member(now): now})
                    pipe.pexpire(key, int(window * 1000) + 1000)
                pipe.zremrangebyscore(key, "-inf", now - window - 1e-6)
                pipe.zcard(key)
                results = await pipe.execute()
            return int(results[-1])

        return await self._guard.call(shared, lambda: self.fallback.source_crises(source, now, window, record))

    async def note_crisis(self, desk: str, now: float, bulk: bool, coalesce: float, keep: float) -> int:
        async def shared() -> int:
            crises, own = f"{PREFIX}crises:{desk}", f"{PREFIX}own"
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.zadd(crises, {self._member(now, "bulk" if bulk else "own"): now})
                pipe.zremrangebyscore(crises, "-inf", now - keep - 1e-6)
                pipe.pexpire(crises, int(keep * 1000) + 1000)
                if not bulk:
                    pipe.zadd(own, {self._member(now): now})
                pipe.zremrangebyscore(own, "-inf", now - coalesce - 1e-6)
                pipe.pexpire(own, int(coalesce * 1000) + 1000)
                pipe.zcard(own)
                results = await pipe.execute()
            return int(results[-1])

        return await self._guard.call(shared, lambda: self.fallback.note_crisis(desk, now, bulk, coalesce, keep))

    async def recent(self, desk: str, now: float, window: float) -> tuple[int, int]:
        async def shared() -> tuple[int, int]:
            members = await self._r.zrangebyscore(f"{PREFIX}crises:{desk}", now - window - 1e-6, "+inf")
            texts = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
            return len(texts), sum(1 for m in texts if ":bulk:" in m)

        return await self._guard.call(shared, lambda: self.fallback.recent(desk, now, window))

    async def hold(self, desk: str, count: int = 1) -> None:
        async def shared() -> None:
            await self._r.incrby(f"{PREFIX}held:{desk}", count)

        await self._guard.call(shared, lambda: self.fallback.hold(desk, count))

    async def take_held(self, desk: str) -> int:
        async def shared() -> int:
            value = await self._r.getdel(f"{PREFIX}held:{desk}")
            local = await self.fallback.take_held(desk)  # held while Redis was down: summarised too
            return int(value or 0) + local

        return await self._guard.call(shared, lambda: self.fallback.take_held(desk))

    async def last_summary(self, desk: str) -> float | None:
        async def shared() -> float | None:
            value = await self._r.get(f"{PREFIX}summary:{desk}")
            return float(value) if value is not None else None

        return await self._guard.call(shared, lambda: self.fallback.last_summary(desk))

    async def summarised(self, desk: str, now: float) -> None:
        async def shared() -> None:
            await self._r.set(f"{PREFIX}summary:{desk}", repr(now), ex=24 * 3600)

        await self._guard.call(shared, lambda: self.fallback.summarised(desk, now))
