"""Rasa and the action server stay private (issue 18, item 3): where they bind, who may call them.

The plan-level tests read the launcher's process plan; the last ones start a real stack (Rasa, the
action server behind its secret, the app) and probe it from this machine's non-loopback address.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.launcher import Stack
from bot.nlu.rasa_server import with_auth_token
from bot.security.binding import PublicBindError, check_private_host, connect_host, is_private_address
from bot.settings import Settings
from tests.e2e.conftest import started_stack

LISTEN = "0A"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_TOKEN", "rasa-token-xyz")
    for name in ("FRONTDOOR_HOST", "FRONTDOOR_PRIVATE_HOST", "FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "10.1.2.3", "172.20.0.4", "192.168.1.9", "fd00::5", "localhost"])
def test_loopback_and_private_addresses_are_allowed(host: str) -> None:
    assert check_private_host(host, allow_public=False) == host


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "8.8.8.8", "172.32.0.1", "100.64.0.1", "2001:db8::1"])
def test_public_and_wildcard_addresses_are_refused_with_what_to_set(host: str) -> None:
    with pytest.raises(PublicBindError) as refused:
        check_private_host(host, allow_public=False)
    message = str(refused.value)
    assert "FRONTDOOR_PRIVATE_HOST=127.0.0.1" in message and "FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST=1" in message
    assert check_private_host(host, allow_public=True) == host  # the explicit override


def test_wildcards_are_reached_on_loopback_and_ipv6_is_bracketed() -> None:
    assert (connect_host("0.0.0.0"), connect_host("::"), connect_host("fd00::5")) == ("127.0.0.1", "[::1]", "[fd00::5]")
    assert not is_private_address(ipaddress.ip_address("0.0.0.0"))


def test_a_public_app_address_leaves_rasa_and_the_action_server_on_loopback(env: pytest.MonkeyPatch) -> None:
    env.setenv("FRONTDOOR_HOST", "0.0.0.0")
    stack = Stack(Settings())
    stack.build()
    rasa, actions, app = stack.service("rasa"), stack.service("action server"), stack.service("app")
    assert rasa.command[rasa.command.index("-i") + 1] == "127.0.0.1"
    assert actions.env["SANIC_HOST"] == "127.0.0.1"
    assert app.command[app.command.index("--host") + 1] == "0.0.0.0"
    assert actions.command[1:3] == ["-m", "bot.security.action_server"]  # the entry point that checks the secret
    assert rasa.env["FRONTDOOR_ACTION_TOKEN"] == actions.env["FRONTDOOR_ACTION_TOKEN"] and len(stack.action_token) >= 32
    # no secret on any command line (ps shows command lines to every user)
    for service in stack.services:
        assert not any("rasa-token-xyz" in part or stack.action_token in part for part in service.command)


def test_a_public_private_host_stops_the_launcher_unless_overridden(env: pytest.MonkeyPatch) -> None:
    env.setenv("FRONTDOOR_PRIVATE_HOST", "0.0.0.0")
    with pytest.raises(PublicBindError, match="FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST=1"):
        Stack(Settings()).build()
    env.setenv("FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST", "1")
    stack = Stack(Settings())
    stack.build()
    assert stack.service("action server").env["SANIC_HOST"] == "0.0.0.0"


def test_the_rasa_token_is_added_inside_the_process_only_for_rasa_run() -> None:
    env = {"FRONTDOOR_RASA_TOKEN": "-dash-first"}
    assert with_auth_token(["rasa", "run", "-p", "1"], env) == ["rasa", "run", "-p", "1", "--auth-token=-dash-first"]
    assert with_auth_token(["rasa", "train"], env) == ["rasa", "train"]
    assert with_auth_token(["rasa", "run"], {}) == ["rasa", "run"]


# --- a real stack ----------------------------------------------------------------------------------
def non_loopback_address() -> str:
    """An IPv4 address of this machine other than loopback (the source address of a UDP 'connect')."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent by a UDP connect
            address = str(probe.getsockname()[0])
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout.split()
        address = next((a for a in found if "." in a and not a.startswith("127.")), "")
    return address


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} writes them) that listen on `port`."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                address, port_hex = fields[1].rsplit(":", 1)
                if fields[3] == LISTEN and int(port_hex, 16) == port:
                    found.add(address)
    return found


LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("private-binding")) as running:
        yield running


def test_rasa_and_the_action_server_listen_on_loopback_only(stack: Stack) -> None:
    for port in (stack.rasa_port, stack.action_port):
        addresses = listening_addresses(port)
        assert addresses and addresses <= LOOPBACK_HEX, (port, addresses)


def test_they_cannot_be_reached_on_a_non_loopback_address(stack: Stack) -> None:
    address = non_loopback_address()
    if not address:  # only loopback here: the listening sockets above are the whole proof
        assert listening_addresses(stack.rasa_port) <= LOOPBACK_HEX
        return
    for port in (stack.rasa_port, stack.action_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{address}:{port}/", timeout=5)
    # while on loopback they answer (so the refusal above is about the address, not a dead server)
    assert httpx.get(f"http://127.0.0.1:{stack.action_port}/health", timeout=5).status_code == 200


def test_an_action_call_without_the_secret_is_refused(stack: Stack) -> None:
    call = {
        "next_action": "action_check_status",
        "sender_id": "someone",
        "tracker": {"sender_id": "someone", "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
        "version": "3.6.21",
    }
    base = f"http://127.0.0.1:{stack.action_port}"
    assert httpx.post(f"{base}/webhook", json=call, timeout=10).status_code == 401
    assert httpx.post(f"{base}/webhook", params={"token": "wrong"}, json=call, timeout=10).status_code == 401
    assert httpx.get(f"{base}/actions", timeout=10).status_code == 401
    # with the secret the same call passes the check (whatever the action then makes of this tracker)
    listed = httpx.get(f"{base}/actions", params={"token": stack.action_token}, timeout=10)
    assert listed.status_code == 200 and any(a["name"] == "action_check_status" for a in listed.json())


def test_rasa_still_reaches_its_actions_with_the_secret(stack: Stack) -> None:
    """A whole turn through the app runs a custom action: Rasa sends the token from endpoints.yml."""
    body = {"sender": "binding-" + os.urandom(4).hex(), "text": "我要查询工单进度"}
    key = {"Authorization": f"Bearer {stack.rest_key}"}  # the local integration key the launcher made
    url = f"http://127.0.0.1:{stack.app_port}/api/chat/12345"
    replies = httpx.post(url, json=body, headers=key, timeout=60).json()["replies"]
    assert replies and all(r["text"] for r in replies)
    log = (stack.settings.data_dir / "logs" / "rasa.log").read_text(errors="replace")
    # what Rasa 3.6 logs when the action server refuses it (a 401 raises "Failed to execute custom
    # action", logged by the processor) or cannot be reached; a bare "401" also matches timestamps
    refused = ("Failed to run custom action", "Failed to execute custom action", "exception while running action")
    assert not [line for line in log.splitlines() if any(words in line for words in refused)]
