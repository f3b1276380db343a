"""The local cluster's generated configuration: checked by the real HAProxy and by Rasa's own loader."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.cluster.config import RASA_LOCK_DB, RASA_TRACKER_DB, Ports, endpoints_yml, haproxy_cfg
from bot.cluster.launcher import Cluster
from bot.settings import REPO_ROOT, Settings
from tests.cluster_run.conftest import RedisServer

PG = "postgresql+psycopg://postgres@127.0.0.1:5544/frontdoor"
PORTS = Ports(balancer=24000, stats=24001, redis=24002, action=24003, app=24004, rasa=24006)


def test_rasa_uses_postgres_for_trackers_and_redis_for_locks() -> None:
    config = yaml.safe_load(endpoints_yml(PG, "127.0.0.1", 24002))
    assert config["tracker_store"] == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "127.0.0.1",
        "port": 5544,
        "username": "postgres",
        "db": RASA_TRACKER_DB,
        "login_db": "frontdoor",
    }
    assert config["lock_store"] == {
        "type": "redis",
        "url": "127.0.0.1",
        "port": 24002,
        "db": RASA_LOCK_DB,
        "key_prefix": "frontdoor",
    }
    assert config["action_endpoint"]["url"] == "${FRONTDOOR_ACTION_URL}"


def test_haproxy_accepts_its_configuration(tmp_path: Path) -> None:
    binary = shutil.which("haproxy")
    if binary is None:
        pytest.fail("haproxy is not installed: apt-get install haproxy (.ci/run does it)")
    text = haproxy_cfg(PORTS, apps=3)
    assert text.count("check inter 1000ms fall 2 rise 2") == 6 and "option httpchk GET /healthz" in text
    # Telegram's webhook: one healthy instance at a time (a chat's updates in order), any instance can
    assert "use_backend telegram if { path_beg /telegram/ }" in text and "balance first" in text
    assert "127.0.0.1:24004" in text and "127.0.0.1:24006" in text  # apps on app .. app + 2
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    check = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_cluster_gives_every_app_instance_the_shared_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_TOKEN", "t" * 20)
    cluster = Cluster(Settings(), apps=2, rasa_replicas=3, ports=PORTS, postgres_url=PG)
    cluster.build()
    names = [s.name for s in cluster.services]
    assert names == ["redis", "action server", "rasa", "rasa-2", "rasa-3", "app-1", "app-2", "haproxy"]
    apps = [cluster.service("app-1"), cluster.service("app-2")]
    assert [a.env["FRONTDOOR_PORT"] for a in apps] == ["24004", "24005"]
    assert [a.env["FRONTDOOR_INSTANCE_ID"] for a in apps] == ["app-1", "app-2"]  # stable: reclaims its rows
    assert [a.command[a.command.index("--port") + 1] for a in apps] == ["24004", "24005"]
    for app in apps:
        assert app.env["FRONTDOOR_DATABASE_URL"] == PG
        assert app.env["FRONTDOOR_REDIS_URL"] == "redis://127.0.0.1:24002/0"
        assert app.env["FRONTDOOR_RASA_URL"].split(",") == [f"http://127.0.0.1:{24006 + i}" for i in range(3)]
        assert app.env["FRONTDOOR_RASA_FAILOVER"] == "1"
    endpoints = tmp_path / "cluster" / "endpoints.yml"
    for replica in (cluster.service(n) for n in ("rasa", "rasa-2", "rasa-3")):
        assert replica.command[replica.command.index("--endpoints") + 1] == str(endpoints)
        assert "FRONTDOOR_TRACKER_DB" not in replica.env and replica.env["TICKET_LOCK_LIFETIME"] == "60"
    assert cluster.service("action server").env["FRONTDOOR_DATABASE_URL"] == PG
    assert oct(endpoints.stat().st_mode & 0o777) == "0o600"


def test_rasa_s_own_loader_makes_a_redis_lock_store_from_it(tmp_path: Path, redis_server: RedisServer) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text(endpoints_yml(PG, "127.0.0.1", redis_server.port))
    script = (
        "import sys\n"
        "from rasa.utils.endpoints import read_endpoint_config\n"
        "from rasa.core.lock_store import LockStore\n"
        "store = LockStore.create(read_endpoint_config(sys.argv[1], 'lock_store'))\n"
        "print(type(store).__name__, store.issue_ticket('12345:web:someone'))\n"
    )
    env = {**os.environ, "FRONTDOOR_ACTION_URL": "http://127.0.0.1:1/webhook", "FRONTDOOR_ACTION_TOKEN": "x"}
    env["RASA_TELEMETRY_ENABLED"] = "false"
    result = subprocess.run(
        [str(REPO_ROOT / ".venv-rasa" / "bin" / "python"), "-c", script, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["RedisLockStore", "0"]  # a ticket issued in our Redis
