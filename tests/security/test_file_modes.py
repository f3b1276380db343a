"""Secrets, data, logs and caches are the owner's only (bot/security/files.py, bot/launcher.py)."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from bot.launcher import Service, Stack, ensure_local_secrets
from bot.security.files import private_dir, write_private
from bot.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def loose_umask() -> object:
    """Run each test under the most permissive umask, so only our code can make anything private."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_a_new_secrets_file_is_created_0600_in_a_0700_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FRONTDOOR_RASA_TOKEN", "FRONTDOOR_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    generated = ensure_local_secrets(data)
    assert generated and mode(data / "local-secrets.env") == 0o600 and mode(data) == 0o700


def test_an_existing_loose_secrets_file_is_tightened_even_when_nothing_is_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "local-secrets.env"
    path.write_text("FRONTDOOR_RASA_TOKEN=a\nFRONTDOOR_SECRET_KEY=b\n")
    path.chmod(0o644)
    for name in ("FRONTDOOR_RASA_TOKEN", "FRONTDOOR_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert ensure_local_secrets(tmp_path) == []
    assert mode(path) == 0o600 and os.environ["FRONTDOOR_SECRET_KEY"] == "b"


def test_write_private_tightens_before_rewriting_and_does_not_follow_a_planted_link(tmp_path: Path) -> None:
    existing = tmp_path / "s.env"
    existing.write_text("old")
    existing.chmod(0o666)
    write_private(existing, "new")
    assert existing.read_text() == "new" and mode(existing) == 0o600
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    link = tmp_path / "link.env"
    link.symlink_to(target)
    with pytest.raises(OSError):
        write_private(link, "secret")
    assert target.read_text() == "untouched"


def test_private_dir_creates_0700_and_tightens_a_loose_one(tmp_path: Path) -> None:
    fresh = private_dir(tmp_path / "a" / "b")
    assert mode(fresh) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    loose.chmod(0o755)
    private_dir(loose)
    assert mode(loose) == 0o700


def test_children_run_with_umask_077_and_their_logs_are_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A started process creates 0600 files and 0700 folders whatever umask the caller had (0 here)."""
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "data"))
    stack = Stack(Settings())
    made = tmp_path / "made"
    script = f"import os; os.mkdir({str(made)!r}); open(os.path.join({str(made)!r}, 'f'), 'w').write('x'); print('ok')"
    service = Service("probe", [sys.executable, "-c", script], "http://127.0.0.1:9/")
    log_dir = stack._log_dir()
    Stack._launch(service, log_dir)
    assert service.process is not None and service.process.wait(timeout=30) == 0
    deadline = time.monotonic() + 5
    while not (log_dir / "probe.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mode(made) == 0o700 and mode(made / "f") == 0o600
    assert mode(log_dir) == 0o700 and mode(log_dir / "probe.log") == 0o600
    assert (log_dir / "probe.log").read_text().strip() == "ok"
