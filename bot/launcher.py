"""Starts the whole front door on one machine: Rasa server, action server and the app.

Used by `make run` and by the integration tests, so both exercise the same start-up. The app binds to
FRONTDOOR_HOST; Rasa and the action server bind to FRONTDOOR_PRIVATE_HOST (loopback by default, never a
public address without FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST=1: bot/security/binding.py). Rasa's HTTP API
needs a token and the action server a shared secret, both handed over in the environment (readable by
this user only), never on a command line that `ps` shows. Every child runs with umask 077.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.security.binding import check_private_host, connect_host
from bot.security.files import FILE_MODE, PRIVATE_UMASK, open_private_append, private_dir, tighten, write_private
from bot.settings import REPO_ROOT, Settings

SECRET_NAMES = ("FRONTDOOR_RASA_TOKEN", "FRONTDOOR_SECRET_KEY")


def ensure_local_secrets(data_dir: Path) -> list[str]:
    """For a local trial only: generate missing secrets once, keep them in data_dir, and say which."""
    path = data_dir / "local-secrets.env"
    stored: dict[str, str] = {}
    if path.exists():
        tighten(path, FILE_MODE)  # an older run (or a copy) may have left it readable by others
        for line in path.read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                stored[key] = value
    generated = []
    for name in SECRET_NAMES:
        if os.environ.get(name):
            continue
        if name not in stored:
            stored[name] = secrets.token_urlsafe(32)
            generated.append(name)
        os.environ[name] = stored[name]
    if generated:  # created O_EXCL with mode 0600, or tightened to 0600 before it is rewritten
        write_private(path, "".join(f"{k}={v}\n" for k, v in stored.items()))
    return generated


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_thread_env() -> dict[str, str]:
    """One BLAS thread per server process unless the operator says otherwise.

    numpy's OpenBLAS starts a thread per core whose idle workers spin-wait after every small
    matrix product (the safety screen does one per message): under load that spinning took two
    thirds of the app's CPU (34 -> 10 ms per message with one thread) and starved Rasa on the other
    core. The servers handle one message at a time, so one thread loses nothing.
    """
    return {name: os.environ.get(name, "1") for name in BLAS_THREAD_VARIABLES}


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


# Ports for stacks that tests and benchmarks start. Asking the kernel for a free port (bind to port 0)
# and closing it is not enough: the port comes from the ephemeral range, where every outgoing
# connection (health checks, the app calling Rasa) also takes its local port, and nothing stops the
# same port being handed out twice before a child process binds it (Rasa binds only seconds later).
# So ports are reserved: below the ephemeral range, never twice in one process, and locked for the
# life of the process in PORT_LOCK_FILE (one byte per port) against every other process that uses
# this code on the machine (another checkout's tests, a benchmark).
PORT_LOCK_FILE = Path("/tmp/frontdoor-ports.lock")
_reserved: set[int] = set()
_reserve_lock = threading.Lock()
_lock_fd: int | None = None


def _reservable_ports() -> range:
    """Ports no outgoing connection takes: from 20000 up to the start of the ephemeral range."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768  # Linux's default
    return range(20000, ephemeral_low) if ephemeral_low > 21000 else range(20000, 30000)


def _lock_fd_or_none() -> int | None:
    global _lock_fd
    if _lock_fd is None:
        try:
            _lock_fd = os.open(PORT_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            return None  # no machine-wide lock: still never the same port twice in this process
    return _lock_fd


def _take(port: int) -> bool:
    """Reserve one port if nothing listens on it and no process (this one included) holds it."""
    if port in _reserved:
        return False
    fd = _lock_fd_or_none()
    if fd is not None:
        try:  # a POSIX record lock on byte `port`: released only when this process ends
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port, os.SEEK_SET)
        except OSError:
            return False
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False  # taken by something that does not use this code (the lock stays: harmless)
    _reserved.add(port)
    return True


def free_ports(count: int) -> int:
    """A port p with p .. p + count - 1 reserved for this process: Rasa replica i of a Stack listens on
    rasa_port + i. Reserved ports are never handed out again, here or to another process using this
    code, while this process lives; the caller's child process binds them."""
    candidates = _reservable_ports()
    start = candidates.start + os.getpid() * 7919 % len(candidates)  # processes start apart
    with _reserve_lock:
        for i in range(len(candidates)):
            first = candidates.start + (start - candidates.start + i) % len(candidates)
            block = range(first, first + count)
            if block.stop > candidates.stop:
                continue
            taken = []
            for port in block:
                if not _take(port):
                    break
                taken.append(port)
            if len(taken) == count:
                return first
            _reserved.difference_update(taken)
            for port in taken:
                _unlock(port)
    raise RuntimeError(f"no {count} neighbouring free ports in {candidates}")


def _unlock(port: int) -> None:
    if _lock_fd is not None:
        fcntl.lockf(_lock_fd, fcntl.LOCK_UN, 1, port, os.SEEK_SET)


def free_port() -> int:
    """A TCP port reserved for this process (see free_ports); tests and benchmarks start stacks on these."""
    return free_ports(1)


def use_wal(sqlite_file: Path) -> None:
    """Put Rasa's SQLite tracker store in WAL mode (the mode is stored in the file).

    Rasa's SQL tracker store writes synchronously on its event loop after every turn; in SQLite's
    default rollback-journal mode each commit waits on several fsyncs, in WAL mode on one.
    """
    from bot.db import wal

    with contextlib.closing(sqlite3.connect(sqlite_file)) as connection:
        wal.use_wal(connection.execute)


# A Unix socket's path holds at most 107 bytes (108 with the closing NUL), and the action server's
# Sanic process manager (a multiprocessing Manager) puts one at $TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX
# (32 more bytes). Under a deep checkout, <data dir>/tmp is too long for that: the action server exits
# at start with "OSError: AF_UNIX path too long" (a clone in a `mktemp -d` folder runs the e2e tests
# there: <data dir>/tmp is 76 bytes for the shared stack, 80 for the replicas').
LONGEST_TMPDIR = 107 - len("/pymp-XXXXXXXX/listener-XXXXXXXX")


@dataclass
class Stack:
    """The three processes of one front door, with ports chosen by the caller."""

    settings: Settings
    rasa_port: int = 5005
    action_port: int = 5055
    app_port: int = 8000
    rasa_replicas: int = 1
    model_path: Path = REPO_ROOT / "models"
    log_dir: Path | None = None
    services: list[Service] = field(default_factory=list)
    # the processes' TMPDIR: <data dir>/tmp, or a folder of this stack under /tmp when that path is too
    # long for the Unix sockets made in it (LONGEST_TMPDIR); made by start, the latter removed by stop
    tmp_dir: Path | None = None
    # the action server's shared secret: FRONTDOOR_ACTION_TOKEN, or a fresh one per stack (only Rasa needs it)
    action_token: str = ""
    # the local integration key (bot/channels/keys.py), made or reused by start: `make run` prints it,
    # benchmarks and end-to-end tests send it to the REST API
    rest_key: str | None = None

    def _children_tmp(self) -> Path:
        if self.tmp_dir is None:
            tmp = (self.settings.data_dir / "tmp").absolute()
            if len(str(tmp)) > LONGEST_TMPDIR:
                tmp = Path("/tmp") / f"frontdoor-stack-{secrets.token_hex(6)}"
            self.tmp_dir = tmp
        return self.tmp_dir

    def _own_tmp(self) -> bool:
        return self.tmp_dir is not None and self.tmp_dir.name.startswith("frontdoor-stack-")

    def build(self) -> None:
        host = self.settings.host
        private = check_private_host(self.settings.private_host, self.settings.allow_public_private_host)
        self.action_token = self.action_token or self.settings.action_token or secrets.token_urlsafe(32)
        venv_app = REPO_ROOT / ".venv-app" / "bin"
        common = {
            "RASA_TELEMETRY_ENABLED": "false",
            "TMPDIR": str(self._children_tmp()),
            "PYTHONPATH": str(REPO_ROOT),
            **blas_thread_env(),
        }
        one_message_at_a_time = {"FRONTDOOR_TORCH_THREADS": os.environ.get("FRONTDOOR_TORCH_THREADS", "1")}
        action_base = f"http://{connect_host(private)}:{self.action_port}"
        action_url = f"{action_base}/webhook"
        self.services = [
            Service(
                "action server",
                # rasa-sdk's server behind a shared-secret check (rasa-sdk itself has no authentication)
                [
                    str(venv_app / "python"),
                    "-m",
                    "bot.security.action_server",
                    "--actions",
                    "actions",
                    "-p",
                    str(self.action_port),
                ],
                f"{action_base}/health",
                {
                    **common,
                    "SANIC_HOST": private,
                    "FRONTDOOR_ACTION_TOKEN": self.action_token,
                    "FRONTDOOR_WARM_UP": "1",
                },  # the ticket store opens at start (actions/warm_up.py); no model: the gateway decides
            ),
            *(self._rasa_service(replica, common, action_url) for replica in range(self.rasa_replicas)),
            Service(
                "app",
                [
                    str(venv_app / "python"),
                    "-m",
                    "uvicorn",
                    "bot.app:create_app",
                    "--factory",
                    "--host",
                    host,
                    "--port",
                    str(self.app_port),
                    "--log-level",
                    "warning",
                ],
                f"http://{connect_host(host)}:{self.app_port}/healthz",
                {
                    **common,
                    **one_message_at_a_time,
                    "FRONTDOOR_RASA_URL": ",".join(self.rasa_urls),
                    "FRONTDOOR_ACTION_URL": action_url,
                },
            ),
        ]

    @property
    def rasa_urls(self) -> list[str]:
        """Replica i listens on rasa_port + i."""
        private = connect_host(self.settings.private_host)
        return [f"http://{private}:{self.rasa_port + i}" for i in range(self.rasa_replicas)]

    def tracker_db(self, replica: int) -> Path:
        """Each replica keeps its own SQLite tracker store (its conversations are only its own)."""
        return self.settings.data_dir / ("rasa_tracker.db" if replica == 0 else f"rasa_tracker-{replica + 1}.db")

    def _rasa_service(self, replica: int, common: dict[str, str], action_url: str) -> Service:
        port = self.rasa_port + replica
        return Service(
            "rasa" if replica == 0 else f"rasa-{replica + 1}",
            [
                str(REPO_ROOT / ".venv-rasa" / "bin" / "python"),
                "-m",
                "bot.nlu.rasa_server",  # plain `rasa` with a cached action-response validator
                "run",
                "--enable-api",  # its token comes from FRONTDOOR_RASA_TOKEN in the environment (rasa_server.py)
                "-i",
                self.settings.private_host,
                "-p",
                str(port),
                "--model",
                str(self.model_path),
                "--endpoints",
                str(REPO_ROOT / "endpoints.yml"),
                "--credentials",
                str(REPO_ROOT / "credentials.yml"),
            ],
            f"http://{connect_host(self.settings.private_host)}:{port}/",
            {
                **common,
                "FRONTDOOR_RASA_TOKEN": self.settings.rasa_token,
                "FRONTDOOR_ACTION_URL": action_url,
                "FRONTDOOR_ACTION_TOKEN": self.action_token,  # endpoints.yml's action_endpoint token
                "FRONTDOOR_TRACKER_DB": str(self.tracker_db(replica)),
            },
        )

    def migrate(self) -> None:
        """Bring the database schema to the newest revision before any process uses it."""
        subprocess.run(
            [
                str(REPO_ROOT / ".venv-app" / "bin" / "python"),
                "-m",
                "bot.tickets",
                "--url",
                self.settings.database_url,
                "migrate",
            ],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )

    def local_key(self) -> str:
        """The local integration key of this data folder, created on first start (file 0600, exclusive)."""
        from bot.channels.keys import ensure_local_key
        from bot.db.engine import make_engine

        engine = make_engine(self.settings.database_url)
        try:
            return ensure_local_key(engine, self.settings.data_dir)
        finally:
            engine.dispose()

    def start(self, timeout: float = 180.0, progress: bool = True) -> None:
        if not self.services:
            self.build()
        private_dir(self.settings.data_dir)
        private_dir(self.settings.cache_dir)  # embeddings and fitted triage models
        tmp = self._children_tmp()
        if self._own_tmp():
            tmp.mkdir(mode=0o700)  # a fresh name: fails rather than use a folder someone else made
        else:
            private_dir(tmp)
        self.migrate()
        self.rest_key = self.local_key()
        for replica in range(self.rasa_replicas):
            use_wal(self.tracker_db(replica))
        log_dir = self._log_dir()
        for service in self.services:
            self._launch(service, log_dir)
        deadline = time.monotonic() + timeout
        for service in self.services:
            self._wait_healthy(service, deadline, log_dir, progress)

    def _log_dir(self) -> Path:
        return private_dir(self.log_dir or self.settings.data_dir / "logs")

    @staticmethod
    def _launch(service: Service, log_dir: Path) -> None:
        log_fd = open_private_append(log_dir / f"{service.name.replace(' ', '_')}.log")
        try:
            service.process = subprocess.Popen(
                service.command,
                cwd=REPO_ROOT,
                env={**os.environ, **service.env},
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=PRIVATE_UMASK,  # its databases, logs and caches: 0600 files in 0700 folders
            )
        finally:
            os.close(log_fd)  # the child has its own copy

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop one process abruptly (fault tests: the action server dies, the app is killed)."""
        process = self.service(name).process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout=15)

    def restart(self, name: str, timeout: float = 120.0) -> None:
        """Start one service again (after `kill`) and wait until it answers its health check."""
        service = self.service(name)
        self.kill(name, signal.SIGTERM)
        _wait_until_bindable(httpx.URL(service.health_url).port or 80, time.monotonic() + 15)
        log_dir = self._log_dir()
        self._launch(service, log_dir)
        self._wait_healthy(service, time.monotonic() + timeout, log_dir, progress=False)

    def _wait_healthy(self, service: Service, deadline: float, log_dir: Path, progress: bool) -> None:
        started = time.monotonic()
        while time.monotonic() < deadline:
            assert service.process is not None
            if service.process.poll() is not None:
                log = log_dir / (service.name.replace(" ", "_") + ".log")
                raise RuntimeError(
                    f"{service.name} exited with code {service.process.returncode}; the end of {log}:\n" + _tail(log)
                )
            try:
                if httpx.get(service.health_url, timeout=1.0).status_code == 200:
                    if progress:
                        print(f"  {service.name} is up ({time.monotonic() - started:.0f} s)", flush=True)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        log = log_dir / (service.name.replace(" ", "_") + ".log")
        raise TimeoutError(
            f"{service.name} did not answer {service.health_url} in time; the end of {log}:\n" + _tail(log)
        )

    def stop(self) -> None:
        stop_services(self.services)
        if self._own_tmp() and self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)


def _wait_until_bindable(port: int, deadline: float) -> None:
    """Until a server could listen on `port` again. `kill` waits for the process it started, but the
    action server's Sanic worker (its child, holding the listening socket too) may still be exiting."""
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                sock.bind(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.1)


def _tail(log: Path, lines: int = 25) -> str:
    """The last lines of a child's log, for the error that says it died (CI keeps no data folder)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read it: {exc})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start Rasa, the action server and the app; Ctrl-C stops all.")
    parser.parse_args(argv)
    os.umask(PRIVATE_UMASK)  # the secrets file, the data folder and everything below it: owner only
    settings = Settings()
    generated = ensure_local_secrets(settings.data_dir)
    if generated:
        print(f"Local mode: generated {', '.join(generated)} into {settings.data_dir / 'local-secrets.env'}.")
        print("For a real deployment set them in the environment instead.")
    stack = Stack(
        settings,
        rasa_port=settings.rasa_port,
        action_port=settings.action_server_port,
        app_port=settings.port,
        rasa_replicas=settings.rasa_replicas,
    )
    print("Starting the front door (Rasa takes about 20 s to load its model)...", flush=True)
    started = time.monotonic()
    try:
        stack.start()
    except (RuntimeError, TimeoutError) as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    base = f"http://{settings.host}:{settings.port}"
    print(f"\nFront door ready in {time.monotonic() - started:.0f} s.")
    for desk in settings.desks:
        print(f"  Web chat:     {base}/chat/{desk}")
    print(f"  REST:         POST {base}/api/chat/<desk>   desks: {', '.join(settings.desks)}")
    print(f"REST API key: {stack.rest_key}")
    print(
        f"  (local trial key, kept in {settings.data_dir / 'local-rest-key'}; send it as: Authorization: Bearer <key>)"
    )
    telegram = [d for d in settings.desks if settings.telegram_token(d)]
    print(
        f"  Telegram:     {'polling for desk ' + ', '.join(telegram) if telegram else 'off (set FRONTDOOR_TELEGRAM_TOKEN_<desk>)'}"
    )
    wechat = [d for d in settings.desks if settings.wechat_account(d)]  # a half-set one stopped the app already
    callbacks = ", ".join(f"{base}/wechat/{d}" for d in wechat)
    print(f"  WeChat:       {callbacks or 'off (set FRONTDOOR_WECHAT_<desk>_APPID, _SECRET, _TOKEN)'}")
    kf = [d for d in settings.desks if settings.wechat_kf_account(d)]
    if kf:
        print(f"  微信客服:     {', '.join(f'{base}/wechat-kf/{d}' for d in kf)}")
    print(f"  Staff console: {base}/console/   (first account: make admin ADMIN=<name>)")
    print("  Terminal:     make chat DESK=12345   (in another terminal)")
    print(f"  Logs:         {settings.data_dir / 'logs'}")
    print("Press Ctrl-C to stop.", flush=True)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            for service in stack.services:
                if service.process and service.process.poll() is not None:
                    print(f"{service.name} stopped unexpectedly (code {service.process.returncode}); stopping all.")
                    stop = True
            time.sleep(0.5)
    finally:
        print("Stopping...", flush=True)
        stack.stop()
        print("Stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def stop_services(services: Sequence[Service]) -> None:
    """SIGTERM every started service's process group, last started first; SIGKILL what has not exited
    within 15 s. Shared by `make run`'s stack and `make cluster`."""
    for service in reversed(services):
        if service.process and service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGTERM)
    for service in reversed(services):
        if service.process is None:
            continue
        try:
            service.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()
