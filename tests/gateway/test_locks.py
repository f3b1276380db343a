"""Per-conversation locks in one process (SQLite: no advisory locks): order, try, bounded memory."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from bot.gateway.locks import ConversationLocks, advisory_key


async def test_a_held_conversation_cannot_be_tried_and_others_can(db: Engine) -> None:
    locks = ConversationLocks(db)
    assert not locks.shared  # SQLite: one process, the asyncio lock alone
    await locks.acquire("c1")
    assert not await locks.try_acquire("c1")
    assert await locks.try_acquire("c2")
    await locks.release("c2")
    await locks.release("c1")
    assert await locks.try_acquire("c1")
    await locks.release("c1")
    assert len(locks) == 0  # nothing kept once nobody holds or waits


async def test_waiters_take_their_turn_in_order() -> None:
    locks = ConversationLocks()
    order: list[int] = []

    async def turn(n: int) -> None:
        async with locks.hold("c"):
            order.append(n)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(turn(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4] and len(locks) == 0


def test_the_advisory_key_is_a_stable_signed_64_bit_number() -> None:
    key = advisory_key("12345:rest:p1")
    assert key == advisory_key("12345:rest:p1") != advisory_key("12345:rest:p2")
    assert -(2**63) <= key < 2**63
