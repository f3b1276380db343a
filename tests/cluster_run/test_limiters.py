"""Rate limits shared by app instances through Redis, and what happens when Redis is down."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.settings import Rate
from bot.shared_state.factory import SharedState
from bot.shared_state.limiters import PREFIX, RedisLimiter
from tests.cluster_run.conftest import RedisServer


async def test_two_instances_share_one_bucket(redis_server: RedisServer) -> None:
    one, two = SharedState(redis_server.url), SharedState(redis_server.url)
    a = one.limiter("ip_messages", Rate(3, 60))
    b = two.limiter("ip_messages", Rate(3, 60))
    assert isinstance(a, RedisLimiter)
    assert [await a.acquire("ip:1"), await b.acquire("ip:1"), await a.acquire("ip:1")] == [0.0, 0.0, 0.0]
    wait = await b.acquire("ip:1")  # the fourth, on either instance: refused, one token per 20 s
    assert wait == pytest.approx(20.0, abs=0.5)
    assert await a.acquire("ip:2") == 0.0  # another address has its own bucket
    await a.release("ip:1")  # a later check refused the request: its token comes back
    assert await b.acquire("ip:1") == 0.0 and await b.acquire("ip:1") > 0
    assert one.guard.fallbacks == two.guard.fallbacks == 0
    await one.aclose()
    await two.aclose()


async def test_buckets_expire_once_full_again_and_other_families_are_apart(redis_server: RedisServer) -> None:
    state = SharedState(redis_server.url)
    limiter = state.limiter("login", Rate(5, 10))
    other = state.limiter("ip_requests", Rate(1, 10))
    assert await limiter.acquire("ip:9") == 0.0
    assert await other.acquire("ip:9") == 0.0 and await other.acquire("ip:9") > 0
    assert await limiter.acquire("ip:9") == 0.0  # login's bucket was not touched by ip_requests'
    client = Redis.from_url(redis_server.url)
    ttl = await client.pttl(f"{PREFIX}login:ip:9")
    assert 0 < ttl <= 11_000  # memory is bounded by time: a full bucket is no key at all
    await client.aclose()
    await state.aclose()


async def test_an_off_limit_never_touches_redis(redis_server: RedisServer) -> None:
    state = SharedState(redis_server.url)
    limiter = state.limiter("global_messages", Rate.parse("0/60"))
    assert all([await limiter.acquire("*") == 0.0 for _ in range(50)])
    client = Redis.from_url(redis_server.url)
    assert await client.dbsize() == 0
    await client.aclose()
    await state.aclose()


async def test_redis_down_fails_open_per_instance_and_shares_again_when_back(redis_server: RedisServer) -> None:
    state = SharedState(redis_server.url, retry_seconds=0.0)
    limiter = state.limiter("conversation_messages", Rate(2, 60))
    assert await limiter.acquire("c") == 0.0 and await limiter.acquire("c") == 0.0
    assert await limiter.acquire("c") > 0  # spent in Redis
    redis_server.stop()
    # Redis is down: the instance counts on its own (fail open for answering people), never raises
    assert await limiter.acquire("c") == 0.0 and await limiter.acquire("c") == 0.0
    assert await limiter.acquire("c") > 0  # ...but still limits, per instance
    assert state.guard.down and state.guard.fallbacks == 3
    redis_server.start()  # a restarted Redis remembers nothing (no persistence): fresh buckets
    assert await limiter.acquire("c") == 0.0
    assert not state.guard.down
    await state.aclose()


async def test_without_a_redis_url_limits_stay_in_memory() -> None:
    state = SharedState(None)
    limiter = state.limiter("ip_messages", Rate(1, 60))
    assert not state.shared and not isinstance(limiter, RedisLimiter)
    assert await limiter.acquire("x") == 0.0 and await limiter.acquire("x") > 0
    await state.aclose()
