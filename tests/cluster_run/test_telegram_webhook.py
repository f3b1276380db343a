"""Telegram's webhook behind HAProxy (the generated configuration) in front of two app instances on
one PostgreSQL database: every update is answered once, and when the instance that takes the
webhook is killed, the other takes it (HAProxy's health check), with nothing lost."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cluster.config import Ports, haproxy_cfg
from bot.launcher import free_ports
from tests.channels.fake_telegram import FakeTelegram
from tests.cluster.conftest import wait_until

pytestmark = pytest.mark.integration
SECRET = "cluster-webhook-secret-1"


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[Any]:
    """start(app_ports) -> HAProxy's base URL; stopped after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(app_ports: list[int]) -> str:
        first = free_ports(2)
        ports = Ports(balancer=first, stats=first + 1, redis=0, action=0, app=app_ports[0], rasa=0)
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_cfg(ports, len(app_ports), check_seconds=0.3, app_ports=app_ports))
        binary = shutil.which("haproxy")
        if binary is None:
            pytest.fail("haproxy is not installed: apt-get install haproxy (.ci/run does it)")
        processes.append(subprocess.Popen([binary, "-f", str(config), "-db"], stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{ports.balancer}"

        def up() -> bool:
            try:
                return httpx.get(url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 30, "HAProxy answers through an instance")
        return url

    yield start
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def test_the_webhook_works_on_any_instance_behind_the_balancer(
    start_instance: Any, telegram: FakeTelegram, balancer: Any
) -> None:
    webhook = {
        "FRONTDOOR_TELEGRAM_WEBHOOK_URL": "https://frontdoor.example.org",
        "FRONTDOOR_TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    instances = [start_instance(name, telegram_bot=True, **webhook) for name in ("a", "b")]
    url = balancer([i.port for i in instances])
    # both registered the same webhook (the balancer's public URL); neither polls
    assert [w["url"] for w in telegram.webhooks] == ["https://frontdoor.example.org/telegram/12345"] * 2
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    def deliver(chat: int, text: str) -> dict[str, Any]:
        update = telegram.update(telegram.user_sends(chat, text))
        assert httpx.post(f"{url}/telegram/12345", json=update, headers=headers, timeout=10).status_code == 200
        return update

    first = deliver(901, "路灯坏了")
    deliver(902, "井盖丢了")
    wait_until(lambda: telegram.texts_to(901) and telegram.texts_to(902), 30, "both are answered")
    # Telegram delivers an update again when it did not see the 200: still answered once
    assert httpx.post(f"{url}/telegram/12345", json=first, headers=headers, timeout=10).status_code == 200

    instances[0].kill()  # the instance `balance first` sends the webhook to
    # its listening socket was made by this test process (tests/cluster's Instance): close it, so the
    # port refuses connections as a dead server's does, instead of accepting and never answering
    instances[0]._sock.close()
    deliver(901, "还有，垃圾没人收")
    wait_until(lambda: len(telegram.texts_to(901)) == 2, 30, "the other instance answers")
    assert telegram.texts_to(901) == ["回声：路灯坏了", "回声：还有，垃圾没人收"]
    assert telegram.texts_to(902) == ["回声：井盖丢了"]
