"""Per-conversation ordering: one person's messages are answered one at a time, in the order they
arrived, while other conversations go on in parallel.

Inside one process an asyncio lock per conversation does it. With several app instances on one
PostgreSQL database the holder also takes a session-level advisory lock on a hash of the conversation
id, on a connection it keeps for the turn: another instance's turn of the same conversation waits for
it, and a process that dies (kill -9) loses its connection, so PostgreSQL frees the lock at once. On
SQLite (one process by design) only the asyncio lock is taken, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

from sqlalchemy import Connection, Engine, create_engine, text

log = logging.getLogger(__name__)

_POLL_FIRST, _POLL_MAX = 0.01, 0.2
"""Seconds between tries of a held advisory lock (doubling): tries, never a blocking wait, so a waiting
turn holds no worker thread and can be cancelled."""


def advisory_key(conversation_id: str) -> int:
    """A signed 64-bit key for pg_advisory_lock: the first 8 bytes of the id's BLAKE2b digest."""
    digest = hashlib.blake2b(f"frontdoor:conversation:{conversation_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _AdvisoryLocks:
    """Session advisory locks on PostgreSQL, each on its own autocommit connection held for the turn."""

    def __init__(self, engine: Engine, pool_size: int = 10, max_overflow: int = 40) -> None:
        # a pool of its own: turns hold these connections while Rasa answers, the store's pool stays free.
        # One connection per conversation in a turn on this instance (waiters queue on the asyncio lock
        # first); at most 50, well under PostgreSQL's default 100 connections for two instances
        self._engine = create_engine(
            engine.url, isolation_level="AUTOCOMMIT", pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
        )
        self._held: dict[str, Connection] = {}

    async def acquire(self, conversation_id: str) -> None:
        delay = _POLL_FIRST
        while not await self.try_acquire(conversation_id):
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)

    async def try_acquire(self, conversation_id: str) -> bool:
        connection = await asyncio.to_thread(self._engine.connect)
        try:
            taken = await asyncio.to_thread(self._try, connection, advisory_key(conversation_id))
        except BaseException:
            await asyncio.to_thread(connection.invalidate)  # a lock taken just before a cancel dies with it
            raise
        if not taken:
            await asyncio.to_thread(connection.close)
            return False
        self._held[conversation_id] = connection
        return True

    @staticmethod
    def _try(connection: Connection, key: int) -> bool:
        return bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())

    async def release(self, conversation_id: str) -> None:
        connection = self._held.pop(conversation_id, None)
        if connection is not None:
            await asyncio.to_thread(self._unlock, connection, advisory_key(conversation_id))

    @staticmethod
    def _unlock(connection: Connection, key: int) -> None:
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.close()
        except Exception as exc:  # the lock must not outlive the turn: drop the connection, and the lock with it
            log.warning("advisory unlock failed (%s); dropping its connection", type(exc).__name__)
            with contextlib.suppress(Exception):
                connection.invalidate()

    def dispose(self) -> None:
        self._engine.dispose()


class ConversationLocks:
    """An asyncio lock per conversation, forgotten as soon as nobody holds or waits for it (bounded memory);
    with a PostgreSQL engine also the conversation's advisory lock, so instances take turns too."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = defaultdict(int)
        self._advisory = _AdvisoryLocks(engine) if engine is not None and engine.dialect.name == "postgresql" else None

    @property
    def shared(self) -> bool:
        """Do the locks hold across processes (PostgreSQL advisory locks)?"""
        return self._advisory is not None

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        """Hold the conversation's lock for the block."""
        await self.acquire(conversation_id)
        try:
            yield
        finally:
            await self.release(conversation_id)

    async def acquire(self, conversation_id: str) -> None:
        """Wait for the conversation's turn (recovery takes it at start-up and releases it later)."""
        self._users[conversation_id] += 1
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        try:
            await lock.acquire()
        except BaseException:
            self._forget(conversation_id)
            raise
        if self._advisory is None:
            return
        try:
            await self._advisory.acquire(conversation_id)
        except BaseException:
            self._release_local(conversation_id)
            raise

    async def try_acquire(self, conversation_id: str) -> bool:
        """Take the conversation's turn only if nobody (here or, on PostgreSQL, elsewhere) has it now."""
        if self._users.get(conversation_id, 0) > 0:  # held or awaited in this process
            return False
        self._users[conversation_id] += 1
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        await lock.acquire()  # free: returns at once
        if self._advisory is None:
            return True
        try:
            if await self._advisory.try_acquire(conversation_id):
                return True
        except BaseException:
            self._release_local(conversation_id)
            raise
        self._release_local(conversation_id)
        return False

    async def release(self, conversation_id: str) -> None:
        try:
            if self._advisory is not None:
                await self._advisory.release(conversation_id)
        finally:
            self._release_local(conversation_id)

    def close(self) -> None:
        if self._advisory is not None:
            self._advisory.dispose()

    def __len__(self) -> int:
        """Conversations whose lock is held or awaited now."""
        return len(self._locks)

    def _release_local(self, conversation_id: str) -> None:
        self._locks[conversation_id].release()
        self._forget(conversation_id)

    def _forget(self, conversation_id: str) -> None:
        self._users[conversation_id] -= 1
        if self._users[conversation_id] <= 0:
            del self._users[conversation_id]
            self._locks.pop(conversation_id, None)
