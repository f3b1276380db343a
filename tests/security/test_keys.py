"""Integration keys: created and shown once, stored as a digest, listed without secrets, revoked (bot/channels/keys.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.channels import keys
from bot.db.engine import make_engine
from bot.db.migrate import migrate


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(made)
    yield made
    made.dispose()


def test_a_key_has_the_fixed_shape_and_only_its_digest_is_stored(engine: Engine) -> None:
    key, info = keys.create_key(engine, "crm", ["12345"])
    prefix, key_id, secret = key.split("_")
    assert (prefix, key_id) == ("fdk", info.key_id) and len(key_id) == 16 and len(secret) == 64
    with engine.connect() as connection:
        row = connection.execute(text("SELECT key_id, name, secret_sha256, desks FROM gw_integration_keys")).one()
    assert row[:2] == (key_id, "crm") and row[3] == "12345" and secret not in row[2]
    assert keys.authenticate(engine, key) == info and info.serves("12345") and not info.serves("12355")
    assert keys.authenticate(engine, key[:-1] + ("0" if key[-1] != "0" else "1")) is None
    assert keys.authenticate(engine, None) is None and keys.authenticate(engine, "fdk_x_y") is None


@pytest.mark.parametrize("name", ["", "CRM", "a:b", "with space", "x" * 31, "-lead"])
def test_a_bad_name_is_refused_with_what_to_use(engine: Engine, name: str) -> None:
    with pytest.raises(keys.KeyProblem, match="lower-case"):
        keys.create_key(engine, name)


def test_one_active_key_per_name_and_a_revoked_name_can_be_given_a_new_key(engine: Engine) -> None:
    old, info = keys.create_key(engine, "crm")
    with pytest.raises(keys.KeyProblem, match="revoke it first"):
        keys.create_key(engine, "crm")
    keys.revoke_key(engine, info.key_id)
    assert keys.authenticate(engine, old) is None
    new, _ = keys.create_key(engine, "crm")  # same name: the same conversations ("crm:<sender>")
    assert keys.authenticate(engine, new) is not None and new != old
    with pytest.raises(keys.KeyProblem, match="no key"):
        keys.revoke_key(engine, "0000000000000000")


def test_the_cli_prints_the_key_once_lists_without_secrets_and_revokes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert keys.main(["--url", url, "create", "--name", "crm", "--desk", "12345"]) == 0
    created = capsys.readouterr().out
    [key] = [line for line in created.splitlines() if line.startswith("fdk_")]
    key_id = key.split("_")[1]
    assert keys.main(["--url", url, "list"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "crm" in listed and "12345" in listed and "active" in listed
    assert key.split("_")[2] not in listed
    assert keys.main(["--url", url, "revoke", key_id]) == 0
    assert "revoked" in capsys.readouterr().out
    keys.main(["--url", url, "list"])
    assert "revoked" in capsys.readouterr().out
    assert keys.main(["--url", url, "create", "--name", "x", "--desk", "99999"]) == 2
    assert "unknown desk 99999" in capsys.readouterr().err
    engine = make_engine(url)
    assert keys.authenticate(engine, key) is None
    engine.dispose()


def test_the_local_key_is_kept_0600_reused_and_replaced_when_the_database_forgets_it(
    engine: Engine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    first = keys.ensure_local_key(engine, data)
    path = data / keys.LOCAL_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text().strip() == first
    assert keys.ensure_local_key(engine, data) == first and keys.read_local_key(data) == first
    info = keys.authenticate(engine, first)
    assert info is not None and info.name == "local" and info.desks == ()

    keys.revoke_key(engine, info.key_id)  # revoked (or a fresh database): a new key replaces it
    second = keys.ensure_local_key(engine, data)
    assert second != first and keys.authenticate(engine, second) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    path.unlink()  # the file is lost: the old key is revoked, since nobody can show it again
    third = keys.ensure_local_key(engine, data)
    assert keys.authenticate(engine, second) is None and keys.authenticate(engine, third) is not None
    assert [k.name for k in keys.list_keys(engine) if k.revoked_at is None] == ["local"]


def test_the_local_key_file_is_never_written_through_a_link(engine: Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = tmp_path / "elsewhere"
    os.symlink(target, data / keys.LOCAL_KEY_FILE)  # dangling: exists() is false, the create must refuse it
    with pytest.raises(FileExistsError):
        keys.ensure_local_key(engine, data)
    assert not target.exists()


def test_bearer_reads_only_fdk_keys() -> None:
    assert keys.bearer("Bearer fdk_abc") == "fdk_abc" and keys.bearer("bearer  fdk_abc ") == "fdk_abc"
    assert keys.bearer("Bearer staff-token") is None and keys.bearer(None) is None and keys.bearer("fdk_abc") is None
