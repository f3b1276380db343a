"""Starts a local cluster on loopback and stops it on Ctrl-C (`make cluster`).

PostgreSQL (scripts/postgres.sh), Redis and HAProxy from Debian packages (installed with apt when
missing and we are root), one action server, M Rasa replicas sharing the tracker store on
PostgreSQL and the RedisLockStore, and N app instances sharing the database and Redis behind
HAProxy. Data, logs and generated configuration live under <data dir>/cluster. The processes are
the ones of bot/launcher.py's Stack (same commands, umask and secrets handling); only their
environment differs. Benchmarks (benchmarks/soak_bench.py) start the same Cluster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from bot.cluster.config import Ports, endpoints_yml, haproxy_cfg, redis_args
from bot.launcher import Service, Stack, blas_thread_env, ensure_local_secrets, free_ports, stop_services
from bot.security.files import PRIVATE_UMASK, private_dir, write_private
from bot.settings import REPO_ROOT, Settings

APT_PACKAGES = {"redis-server": "redis-server", "haproxy": "haproxy"}
"""Command -> Debian package."""


def ensure_packages() -> None:
    """Install Redis and HAProxy from Debian when missing (as root only; otherwise say what to run)."""
    missing = [pkg for command, pkg in APT_PACKAGES.items() if shutil.which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"missing {', '.join(missing)}: run  sudo apt-get install -y {' '.join(missing)}")
    print(f"Installing {', '.join(missing)} from Debian...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


@dataclass
class Cluster:
    """One local cluster. `start` brings everything up and waits for every health check."""

    settings: Settings
    apps: int = 2
    rasa_replicas: int = 2
    ports: Ports | None = None
    model_path: Path = REPO_ROOT / "models"
    extra_env: dict[str, str] = field(default_factory=dict)  # for every app instance (benchmarks: limits)
    services: list[Service] = field(default_factory=list)
    postgres_url: str = ""
    rest_key: str | None = None
    _stack: Stack | None = None

    @property
    def root(self) -> Path:
        return self.settings.data_dir / "cluster"

    @property
    def redis_url(self) -> str:
        assert self.ports is not None
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    @property
    def balancer_url(self) -> str:
        assert self.ports is not None
        return f"http://127.0.0.1:{self.ports.balancer}"

    def app_urls(self) -> list[str]:
        assert self.ports is not None
        return [f"http://127.0.0.1:{self.ports.app + i}" for i in range(self.apps)]

    def rasa_urls(self) -> list[str]:
        assert self.ports is not None
        return [f"http://127.0.0.1:{self.ports.rasa + i}" for i in range(self.rasa_replicas)]

    def _pick_ports(self) -> Ports:
        first = free_ports(5 + self.apps + self.rasa_replicas)
        return Ports(
            balancer=first,
            stats=first + 1,
            redis=first + 2,
            action=first + 3,
            app=first + 4,
            rasa=first + 4 + self.apps,
        )

    # --- configuration ---------------------------------------------------------------------
    def build(self) -> None:
        """Every service, with its command and environment (after PostgreSQL gave its URL)."""
        self.ports = self.ports or self._pick_ports()
        ports = self.ports
        private_dir(self.root)
        endpoints = self.root / "endpoints.yml"
        write_private(endpoints, endpoints_yml(self.postgres_url, "127.0.0.1", ports.redis))
        haproxy = self.root / "haproxy.cfg"
        write_private(haproxy, haproxy_cfg(ports, self.apps, host=self.settings.host))
        redis_dir = private_dir(self.root / "redis")
        # Stack makes the action server's and Rasa's commands; the cluster only changes their environment
        stack = Stack(
            replace(self.settings, database_url=self.postgres_url),  # migrate and local_key use it
            rasa_port=ports.rasa,
            action_port=ports.action,
            app_port=ports.app,
            rasa_replicas=self.rasa_replicas,
            model_path=self.model_path,
            log_dir=self.root / "logs",
        )
        stack.build()
        self._stack = stack
        shared_db = {"FRONTDOOR_DATABASE_URL": self.postgres_url}
        action = stack.service("action server")
        action.env.update(shared_db)
        rasa = [s for s in stack.services if s.name.startswith("rasa")]
        for replica in rasa:
            replica.command[replica.command.index("--endpoints") + 1] = str(endpoints)
            replica.env.pop("FRONTDOOR_TRACKER_DB", None)
            replica.env["TICKET_LOCK_LIFETIME"] = os.environ.get("TICKET_LOCK_LIFETIME", "60")
        app_template = stack.service("app")
        apps = []
        for i in range(self.apps):
            command = list(app_template.command)
            command[command.index("--port") + 1] = str(ports.app + i)
            apps.append(
                Service(
                    f"app-{i + 1}",
                    command,
                    f"http://127.0.0.1:{ports.app + i}/healthz",
                    {
                        **app_template.env,
                        **shared_db,
                        "FRONTDOOR_REDIS_URL": self.redis_url,
                        "FRONTDOOR_RASA_URL": ",".join(self.rasa_urls()),
                        "FRONTDOOR_RASA_FAILOVER": "1",
                        "FRONTDOOR_TRUSTED_PROXIES": "127.0.0.1/32",  # HAProxy's X-Forwarded-For
                        "FRONTDOOR_PORT": str(ports.app + i),
                        # stable across restarts: a restarted instance reclaims its own in-flight rows at once
                        "FRONTDOOR_INSTANCE_ID": f"app-{i + 1}",
                        **self.extra_env,
                    },
                )
            )
        self.services = [
            Service(
                "redis",
                [shutil.which("redis-server") or "redis-server", *redis_args(ports.redis, str(redis_dir))],
                "",
                {},
            ),
            action,
            *rasa,
            *apps,
            Service(
                "haproxy",
                [shutil.which("haproxy") or "haproxy", "-f", str(haproxy), "-db"],
                f"http://127.0.0.1:{ports.stats}/",
                {},
            ),
        ]

    # --- processes -------------------------------------------------------------------------
    def start(self, timeout: float = 300.0, progress: bool = True) -> None:
        ensure_packages()
        private_dir(self.settings.data_dir)
        private_dir(self.root)
        if not self.postgres_url:
            self.postgres_url = self._start_postgres()
        self.build()
        assert self._stack is not None
        private_dir(self._stack._children_tmp())
        self._stack.migrate()
        self.rest_key = self._stack.local_key()
        log_dir = private_dir(self.root / "logs")
        for service in self.services:
            Stack._launch(service, log_dir)
            if service.name == "redis":
                self._wait_redis(time.monotonic() + 30)
        deadline = time.monotonic() + timeout
        for service in self.services:
            if service.health_url:
                self._stack._wait_healthy(service, deadline, log_dir, progress)
        self._wait_balanced(deadline)

    def _start_postgres(self) -> str:
        pg_dir = self.root / "postgres"
        if (pg_dir / "cluster").exists():  # a cluster of an earlier run that was not stopped
            subprocess.run(["bash", str(REPO_ROOT / "scripts" / "postgres.sh"), "stop", str(pg_dir)], check=False)
        result = subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "postgres.sh"), "start", str(pg_dir)],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        return result.stdout.strip().splitlines()[-1]

    def _wait_redis(self, deadline: float) -> None:
        import socket

        assert self.ports is not None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.ports.redis), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("redis-server did not answer PING")

    def _wait_balanced(self, deadline: float) -> None:
        """Until HAProxy's health checks have marked an instance up and it answers through it."""
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.balancer_url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError("HAProxy did not answer /healthz through an app instance")

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def pid(self, name: str) -> int | None:
        process = self.service(name).process
        return process.pid if process is not None and process.poll() is None else None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.service(name).process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout=15)

    def launch(self, name: str) -> None:
        """Start one service again (after `kill`), without waiting for it."""
        Stack._launch(self.service(name), private_dir(self.root / "logs"))
        if name == "redis":
            self._wait_redis(time.monotonic() + 30)

    def stop(self) -> None:
        stop_services(self.services)
        if self._stack is not None and self._stack._own_tmp() and self._stack.tmp_dir is not None:
            shutil.rmtree(self._stack.tmp_dir, ignore_errors=True)
        pg_dir = self.root / "postgres"
        if (pg_dir / "cluster").exists():
            subprocess.run(
                ["bash", str(REPO_ROOT / "scripts" / "postgres.sh"), "stop", str(pg_dir)],
                check=False,
                stderr=subprocess.DEVNULL,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local cluster on loopback; Ctrl-C stops it all.")
    parser.add_argument("--apps", type=int, default=int(os.environ.get("APPS", "2")), help="app instances (2)")
    parser.add_argument("--rasa", type=int, default=int(os.environ.get("RASA", "2")), help="Rasa replicas (2)")
    args = parser.parse_args(argv)
    os.umask(PRIVATE_UMASK)
    settings = Settings()
    ensure_local_secrets(settings.data_dir)
    os.environ.update(blas_thread_env())
    cluster = Cluster(settings, apps=args.apps, rasa_replicas=args.rasa)
    print(f"Starting a cluster: {args.apps} app instance(s), {args.rasa} Rasa replica(s)...", flush=True)
    started = time.monotonic()
    try:
        cluster.start()
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        cluster.stop()
        return 1
    assert cluster.ports is not None
    print(f"\nCluster ready in {time.monotonic() - started:.0f} s.")
    print(f"  Front door (HAProxy): {cluster.balancer_url}   web chat: {cluster.balancer_url}/chat/<desk>")
    print(f"  HAProxy stats:        http://127.0.0.1:{cluster.ports.stats}/")
    for url in cluster.app_urls():
        print(f"  app instance:         {url}")
    for url in cluster.rasa_urls():
        print(f"  Rasa replica:         {url}")
    print(f"  action server:        http://127.0.0.1:{cluster.ports.action}")
    print(f"  PostgreSQL:           {cluster.postgres_url}")
    print(f"  Redis:                {cluster.redis_url}")
    print(f"REST API key: {cluster.rest_key}")
    print(f"  Logs and configuration: {cluster.root}")
    print("Press Ctrl-C to stop.", flush=True)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            time.sleep(0.5)
            for service in cluster.services:
                if service.process and service.process.poll() is not None:
                    print(f"{service.name} exited (code {service.process.returncode}); the others go on.")
                    service.process = None
    finally:
        print("Stopping...", flush=True)
        cluster.stop()
        print("Stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
