"""Per-conversation ordering inside one process: one person's messages are answered one at a time,
in the order they arrived, while other conversations go on in parallel."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator


class ConversationLocks:
    """An asyncio lock per conversation, forgotten as soon as nobody holds or waits for it (bounded memory)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = defaultdict(int)

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        """Hold the conversation's lock for the block."""
        await self.acquire(conversation_id)
        try:
            yield
        finally:
            self.release(conversation_id)

    async def acquire(self, conversation_id: str) -> None:
        """Wait for the conversation's turn (recovery takes it at start-up and releases it later)."""
        self._users[conversation_id] += 1
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        try:
            await lock.acquire()
        except BaseException:
            self._forget(conversation_id)
            raise

    def release(self, conversation_id: str) -> None:
        self._locks[conversation_id].release()
        self._forget(conversation_id)

    def __len__(self) -> int:
        """Conversations whose lock is held or awaited now."""
        return len(self._locks)

    def _forget(self, conversation_id: str) -> None:
        self._users[conversation_id] -= 1
        if self._users[conversation_id] <= 0:
            del self._users[conversation_id]
            self._locks.pop(conversation_id, None)
