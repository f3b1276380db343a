"""Conversation locks across processes on PostgreSQL (bot/gateway/locks.py): two lock holders with
their own engines stand for two instances."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine, text

from bot.db.engine import make_engine
from bot.gateway.locks import ConversationLocks


async def test_an_instance_waits_for_the_other_and_a_dropped_connection_frees_the_lock(
    cluster_db: str, engine: Engine
) -> None:
    other = make_engine(cluster_db)
    a, b = ConversationLocks(engine), ConversationLocks(other)
    try:
        assert a.shared and b.shared
        await a.acquire("12345:rest:p1")
        assert not await b.try_acquire("12345:rest:p1")  # held by the other instance
        assert await b.try_acquire("12345:rest:p2")  # other conversations go on
        await b.release("12345:rest:p2")

        waiting = asyncio.create_task(b.acquire("12345:rest:p1"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await a.release("12345:rest:p1")
        await asyncio.wait_for(waiting, 10)  # b's turn once a let go
        await b.release("12345:rest:p1")

        await a.acquire("12345:rest:p3")
        assert not await b.try_acquire("12345:rest:p3")
        with engine.connect() as admin:  # a's connection drops (as when its process dies): the lock goes with it
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                )
            )
        assert await asyncio.wait_for(_eventually(b, "12345:rest:p3"), 10)
        await b.release("12345:rest:p3")
    finally:
        a.close()
        b.close()
        other.dispose()


async def _eventually(locks: ConversationLocks, conversation_id: str) -> bool:
    while not await locks.try_acquire(conversation_id):
        await asyncio.sleep(0.05)
    return True
