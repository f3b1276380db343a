"""The launcher's plan of processes (no process is started here; tests/e2e start real stacks)."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bot.launcher import BLAS_THREAD_VARIABLES, Service, Stack, free_port, free_ports, use_wal
from bot.settings import REPO_ROOT, Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_TOKEN", "test-token-123")
    return Settings()


def test_two_replicas_get_their_own_port_and_tracker_store_and_the_app_knows_both(settings: Settings) -> None:
    stack = Stack(settings, rasa_port=6100, action_port=6200, app_port=6300, rasa_replicas=2)
    stack.build()
    assert [s.name for s in stack.services] == ["action server", "rasa", "rasa-2", "app"]
    first, second = stack.service("rasa"), stack.service("rasa-2")
    assert (first.health_url, second.health_url) == ("http://127.0.0.1:6100/", "http://127.0.0.1:6101/")
    assert (
        first.command[first.command.index("-p") + 1] == "6100"
        and second.command[second.command.index("-p") + 1] == "6101"
    )
    assert first.env["FRONTDOOR_TRACKER_DB"] != second.env["FRONTDOOR_TRACKER_DB"]
    assert stack.service("app").env["FRONTDOOR_RASA_URL"] == "http://127.0.0.1:6100,http://127.0.0.1:6101"
    # Rasa starts through the wrapper that keeps its action-response validator cached
    assert first.command[1:3] == ["-m", "bot.nlu.rasa_server"] and "--auth-token=test-token-123" in first.command


def test_a_token_that_starts_with_a_dash_reaches_rasa_as_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """secrets.token_urlsafe starts with "-" one time in 64; `--auth-token -x...` then made rasa exit
    with "expected one argument" (seen once in CI). Checked with Rasa's own argument parser."""
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_TOKEN", "-Ab3_dash-first")
    stack = Stack(Settings())
    stack.build()
    args = stack.service("rasa").command[3:]  # after `python -m bot.nlu.rasa_server`
    parse = (
        "import sys; from rasa.__main__ import create_argument_parser; "
        "print(create_argument_parser().parse_args(sys.argv[1:]).auth_token)"
    )
    result = subprocess.run(
        [str(REPO_ROOT / ".venv-rasa" / "bin" / "python"), "-c", parse, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip().splitlines()[-1] == "-Ab3_dash-first"


def test_one_replica_is_the_default(settings: Settings) -> None:
    stack = Stack(settings)
    stack.build()
    assert [s.name for s in stack.services] == ["action server", "rasa", "app"]
    assert stack.service("rasa").env["FRONTDOOR_TRACKER_DB"].endswith("rasa_tracker.db")


def test_the_tracker_store_file_is_put_in_wal_mode(tmp_path: Path) -> None:
    database = tmp_path / "tracker.db"
    use_wal(database)
    use_wal(database)  # again on an existing file: harmless
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("value", ["0", "9", "two", ""])
def test_a_bad_replica_count_says_what_is_allowed(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_RASA_REPLICAS", value)
    with pytest.raises(ValueError, match="FRONTDOOR_RASA_REPLICAS must be"):
        Settings()


def test_the_replica_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_RASA_REPLICAS", " 2 ")
    assert Settings().rasa_replicas == 2


@pytest.mark.parametrize("tmp_length", [75, 76, 80, 120])
def test_the_servers_temp_folder_is_short_enough_for_their_unix_sockets(
    tmp_length: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action server's Sanic starts a multiprocessing Manager, whose Unix socket is made in TMPDIR. In a
    clone inside a `mktemp -d` folder <data dir>/tmp was 76 bytes (80 for the replica stack), too long for
    a socket path, and the e2e tests' action servers exited at start with "OSError: AF_UNIX path too long"."""
    base = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    data_dir = base / ("d" * (tmp_length - len(str(base)) - len("//tmp")))
    assert len(str(data_dir / "tmp")) == tmp_length
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRONTDOOR_RASA_TOKEN", "test-token-123")
    stack = Stack(Settings())
    stack.build()
    env = stack.service("action server").env
    Path(env["TMPDIR"]).mkdir(parents=True, exist_ok=True)
    try:
        manager = "from multiprocessing import Manager; Manager().shutdown(); print('ok')"
        done = subprocess.run(
            [sys.executable, "-c", manager], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and done.stdout.strip() == "ok", [
            e for e in done.stderr.splitlines() if "Error" in e
        ]
        if tmp_length <= 75:  # short enough: the data folder's own tmp, as for `make run` in a short path
            assert env["TMPDIR"] == str(data_dir / "tmp")
    finally:
        stack.stop()
        shutil.rmtree(base)


def _ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_ports_are_reserved_below_the_ephemeral_range_and_never_handed_out_twice() -> None:
    """The replica stack's action server once died on "a port in use": a port found free, released, and
    bound seconds later by the child is open to outgoing connections (their local ports come from the
    ephemeral range) and to the next free_port() call, which may hand out the same port again."""
    block = free_ports(3)
    ports = [block, block + 1, block + 2, *(free_port() for _ in range(200))]
    assert len(set(ports)) == len(ports)
    assert all(1024 < port < _ephemeral_low() for port in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # raises if taken


def test_a_port_this_process_holds_is_refused_to_another_process() -> None:
    """Two test runs on one machine (two checkouts, or CI beside a developer) never share a port."""
    port = free_port()
    probe = (
        f"from bot import launcher; print(launcher._take({port}), {port} in [launcher.free_port() for _ in range(20)])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60, cwd=REPO_ROOT
    )
    assert done.stdout.split() == ["False", "False"]


def test_a_service_that_dies_at_start_shows_the_end_of_its_log(settings: Settings, tmp_path: Path) -> None:
    stack = Stack(settings)
    stack.services = [
        Service(
            "action server",
            [sys.executable, "-c", "import sys; print('OSError: [Errno 98] address already in use'); sys.exit(1)"],
            f"http://127.0.0.1:{free_port()}/health",
        )
    ]
    try:
        with pytest.raises(RuntimeError, match=r"(?s)exited with code 1; the end of .*action_server.log.*Errno 98"):
            stack.start(timeout=60, progress=False)
    finally:
        stack.stop()


def _blas_threads(python: Path, env: dict[str, str]) -> int:
    """How many threads numpy's BLAS runs with in a fresh interpreter started with `env`."""
    probe = "import numpy, threadpoolctl; print(max(p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas'))"
    done = subprocess.run([str(python), "-c", probe], env=env, capture_output=True, text=True, check=True, timeout=120)
    return int(done.stdout.strip())


def test_every_server_runs_numpy_with_one_blas_thread(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    stack = Stack(settings, rasa_replicas=2)
    stack.build()
    for service in stack.services:
        assert all(service.env[name] == "1" for name in BLAS_THREAD_VARIABLES), service.name
    app_env = {**os.environ, **stack.service("app").env}
    assert _blas_threads(REPO_ROOT / ".venv-app" / "bin" / "python", app_env) == 1
    # without the setting OpenBLAS takes a thread per core (2 on the CI machine): the test can fail
    unlimited = {k: v for k, v in app_env.items() if k not in BLAS_THREAD_VARIABLES}
    assert _blas_threads(REPO_ROOT / ".venv-app" / "bin" / "python", unlimited) == (os.cpu_count() or 1)


def test_an_operator_can_give_the_servers_more_blas_threads(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    stack = Stack(settings)
    stack.build()
    assert (
        stack.service("rasa").env["OPENBLAS_NUM_THREADS"] == "2"
        and stack.service("app").env["OPENBLAS_NUM_THREADS"] == "2"
    )


def test_the_local_rest_key_is_made_on_first_start_and_kept(settings: Settings) -> None:
    from bot.channels.keys import LOCAL_KEY_FILE, authenticate
    from bot.db.engine import make_engine

    stack = Stack(settings)
    stack.migrate()
    key = stack.local_key()
    assert key.startswith("fdk_") and (settings.data_dir / LOCAL_KEY_FILE).stat().st_mode & 0o077 == 0
    assert Stack(settings).local_key() == key  # the next `make run` prints the same key
    engine = make_engine(settings.database_url)
    info = authenticate(engine, key)
    engine.dispose()
    assert info is not None and info.name == "local"
