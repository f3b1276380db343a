"""Integration API keys: how a REST integration (a CRM, the WeChat adapter) proves who it is.

A key reads `fdk_<key_id>_<secret>` and travels as `Authorization: Bearer fdk_...`. The key id is
public (logs, the rate limiter's bucket, `list`); the secret is 256 random bits and only its SHA-256
is stored (a fast hash is enough for a secret nobody can guess; compared with hmac.compare_digest).
Each key carries the integration's name, which is its channel namespace: the person "u1" of key
"crm" is the conversation user "crm:u1" on channel rest, never the "u1" of another integration.

Admins manage keys from the command line (the key is printed once, at creation):

    python -m bot.channels.keys create --name crm --desk 12345   # make key NAME=crm DESKS=12345
    python -m bot.channels.keys list
    python -m bot.channels.keys revoke <key id>
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.gateway.models import IntegrationKey, as_utc, utcnow

PREFIX = "fdk_"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")
"""A key's name: lower-case letters, digits and '-', at most 30 (it prefixes the sender, so no ':')."""
LOCAL_NAME = "local"
"""The name of the key `make run` creates for trying the API on this machine."""
LOCAL_KEY_FILE = "local-rest-key"
"""The local key's file in the data folder (created 0600, exclusively)."""
_KEY_SHAPE = re.compile(r"^fdk_([0-9a-f]{16})_([0-9a-f]{64})$")
HOW_TO_GET_A_KEY = (
    "an admin creates one with `make key NAME=<integration> [DESKS=12345]` "
    "(python -m bot.channels.keys create --name <integration> --desk <desk>); "
    "`make run` prints a local one in the line 'REST API key:'"
)


@dataclass(frozen=True)
class KeyInfo:
    """What is known about a key without its secret."""

    key_id: str
    name: str
    desks: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def serves(self, desk: str) -> bool:
        """A key made without desks serves every desk of the deployment."""
        return not self.desks or desk in self.desks

    @classmethod
    def of(cls, row: IntegrationKey) -> KeyInfo:
        return cls(
            key_id=row.key_id,
            name=row.name,
            desks=tuple(d for d in row.desks.split(",") if d),
            created_at=as_utc(row.created_at),
            revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
        )


class KeyProblem(ValueError):
    """A key cannot be created or revoked as asked; the message says why and what to do."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = _KEY_SHAPE.match(presented.strip())
    return (match.group(1), match.group(2)) if match else None


def bearer(authorization: str | None) -> str | None:
    """The key in an `Authorization: Bearer fdk_...` header, if the header carries one."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value.startswith(PREFIX) else None


def create_key(engine: Engine, name: str, desks: Sequence[str] = ()) -> tuple[str, KeyInfo]:
    """A new key for integration `name` (its secret is returned here and never again)."""
    if not NAME_PATTERN.match(name):
        raise KeyProblem(f"name {name!r}: use 1-30 lower-case letters, digits or '-' (e.g. crm, wechat-adapter)")
    with Session(engine) as session:
        active = session.scalars(
            select(IntegrationKey).where(IntegrationKey.name == name, IntegrationKey.revoked_at.is_(None))
        ).first()
        if active is not None:
            raise KeyProblem(
                f"an active key named {name!r} exists (id {active.key_id}); revoke it first "
                "(its conversations stay with the name), or choose another name"
            )
        key_id, secret = secrets.token_hex(8), secrets.token_hex(32)
        row = IntegrationKey(key_id=key_id, name=name, secret_sha256=_digest(secret), desks=",".join(desks))
        session.add(row)
        session.commit()
        return f"{PREFIX}{key_id}_{secret}", KeyInfo.of(row)


def list_keys(engine: Engine) -> list[KeyInfo]:
    with Session(engine) as session:
        return [KeyInfo.of(row) for row in session.scalars(select(IntegrationKey).order_by(IntegrationKey.id))]


def revoke_key(engine: Engine, key_id: str) -> KeyInfo:
    """Revoke at once: the next request with it gets 401."""
    with Session(engine) as session:
        row = session.scalars(select(IntegrationKey).where(IntegrationKey.key_id == key_id)).first()
        if row is None:
            raise KeyProblem(f"no key with id {key_id!r}; `list` shows the ids")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.commit()
        return KeyInfo.of(row)


def authenticate(engine: Engine, presented: str | None) -> KeyInfo | None:
    """The key's record when `presented` is a well-formed, known, unrevoked key; else None."""
    parsed = parse(presented or "")
    if parsed is None:
        return None
    key_id, secret = parsed
    with Session(engine) as session:
        row = session.scalars(select(IntegrationKey).where(IntegrationKey.key_id == key_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            return None
        return KeyInfo.of(row)


def ensure_local_key(engine: Engine, data_dir: Path) -> str:
    """The local trial's key (name "local", every desk), kept in `<data_dir>/local-rest-key` (0600).

    Reused while the database still knows it; otherwise (a fresh database, a revoked key, a lost
    file) a new one replaces it. The file is created exclusively, never written through a link or
    left readable by others.
    """
    path = data_dir / LOCAL_KEY_FILE
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if authenticate(engine, stored) is not None:
            return stored
        path.unlink()
    for old in list_keys(engine):
        if old.name == LOCAL_NAME and old.revoked_at is None:  # its secret is lost with the file
            revoke_key(engine, old.key_id)
    key, _ = create_key(engine, LOCAL_NAME)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def read_local_key(data_dir: Path) -> str | None:
    """The local key `make run` created, for the terminal client (None when there is none)."""
    try:
        return (data_dir / LOCAL_KEY_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _print_keys(keys: list[KeyInfo]) -> None:
    if not keys:
        print("no keys yet: create one with `create --name <integration>`")
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        desks = ",".join(key.desks) or "all desks"
        print(f"{key.key_id}  {key.name:<30}  {desks:<20}  created {key.created_at:%Y-%m-%d %H:%M}  {state}")


def main(argv: Sequence[str] | None = None) -> int:
    from bot.db.engine import make_engine
    from bot.db.migrate import migrate
    from bot.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m bot.channels.keys", description="Manage integration API keys.")
    parser.add_argument("--url", default=None, help="database URL (default FRONTDOOR_DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True, help="the integration, e.g. crm or wechat-adapter")
    create.add_argument("--desk", action="append", default=[], help="a desk it may use (repeat; default: all)")
    commands.add_parser("list", help="list keys (ids, names, desks; never the secrets)")
    revoke = commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", help="the id shown by `list` (the part after fdk_)")
    args = parser.parse_args(argv)
    settings = Settings()
    engine = make_engine(args.url or settings.database_url)
    try:
        migrate(engine)
        if args.command == "create":
            desks = [d.strip() for raw in args.desk for d in raw.replace(",", " ").split() if d.strip()]
            unknown = [d for d in desks if d not in settings.desks]
            if unknown:
                raise KeyProblem(
                    f"unknown desk {', '.join(unknown)}; this deployment serves {', '.join(settings.desks)}"
                )
            key, info = create_key(engine, args.name, desks)
            print(f"Created key {info.key_id} for {info.name!r} ({', '.join(info.desks) or 'all desks'}).")
            print("Give it to the integration now; it is not shown again:")
            print(key)
            print(
                "It sends: Authorization: Bearer <key>. Revoke with: python -m bot.channels.keys revoke " + info.key_id
            )
        elif args.command == "list":
            _print_keys(list_keys(engine))
        else:
            info = revoke_key(engine, args.key_id)
            print(f"Key {info.key_id} ({info.name!r}) is revoked; requests with it now get 401.")
    except KeyProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
