"""Try a desk on WeChat without an account, with one command: `make wechat-try DESK=12345 [KF=1]`.

It starts the fake WeChat (tools/fake_wechat.py) on 127.0.0.1, then the whole front door (Rasa, the
action server and the app, as `make run` does) with the desk's WeChat channel pointed at the fake,
then a simulator: each line typed is sent as a WeChat user's message, signed and encrypted as
WeChat does, and what the person would see comes back (the passive reply and the customer-service
messages; with KF=1 the 微信客服 channel: the callback, the pull and `kf/send_msg`). The first
message gets the desk's privacy notice and its greeting. `/follow` follows the Official Account.
Ctrl-D or an empty `/quit` ends it and stops everything.

The trial's settings are only set in this process and the ones it starts (nothing is written);
its data goes to var/ like `make run`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from tests.support.servers import ThreadedServer, serve_in_thread
from tools.fake_wechat import FakeWeChat, random_aes_key

TRIAL_USER = "o_trial_user_0001"
TRIAL_KF_USER = "wm_trial_user_0001"
SETTLE = 0.3  # seconds to wait for customer-service messages after the HTTP answer
PATIENCE = 20.0  # seconds to wait for the first of them when the passive reply said nothing


def trial_env(fake: FakeWeChat, api_url: str, desk: str, kf: bool) -> dict[str, str]:
    """The settings that point the desk's WeChat channel (or its 微信客服) at the fake."""
    if kf:
        return {
            "FRONTDOOR_WECHAT_KF_API_BASE": api_url,
            f"FRONTDOOR_WECHAT_KF_{desk}_CORPID": fake.corp_id,
            f"FRONTDOOR_WECHAT_KF_{desk}_SECRET": fake.kf_secret,
            f"FRONTDOOR_WECHAT_KF_{desk}_OPEN_KFID": fake.open_kfid,
            f"FRONTDOOR_WECHAT_KF_{desk}_TOKEN": fake.kf_token,
            f"FRONTDOOR_WECHAT_KF_{desk}_AES_KEY": fake.kf_aes_key,
        }
    return {
        "FRONTDOOR_WECHAT_API_BASE": api_url,
        f"FRONTDOOR_WECHAT_{desk}_APPID": fake.app_id,
        f"FRONTDOOR_WECHAT_{desk}_SECRET": fake.secret,
        f"FRONTDOOR_WECHAT_{desk}_TOKEN": fake.token,
        f"FRONTDOOR_WECHAT_{desk}_AES_KEY": fake.aes_key or "",
    }


@dataclass
class Simulator:
    """A WeChat user typing to the desk through the fake: returns what the person would see."""

    fake: FakeWeChat
    kf: bool = False
    settle: float = SETTLE
    patience: float = PATIENCE
    _seen: int = field(default=0, init=False)

    def _pushed(self) -> list[str]:
        sent = self.fake.kf_sent if self.kf else self.fake.sent
        return [m["text"]["content"] for m in sent]

    def say(self, line: str) -> list[str]:
        """Send one line as the person; the messages they get back, in order (passive reply first)."""
        shown: list[str] = []
        if self.kf:
            self.fake.kf_send(TRIAL_KF_USER, line)
        else:
            delivery = (
                self.fake.event(TRIAL_USER, "subscribe") if line == "/follow" else self.fake.text(TRIAL_USER, line)
            )
            if delivery.text:
                shown.append(delivery.text)
        deadline = time.monotonic() + (self.settle if shown else self.patience)
        while time.monotonic() < deadline and len(self._pushed()) == self._seen:
            time.sleep(0.1)
        time.sleep(self.settle)  # the rest of a cut answer, the answer after a notice
        pushed = self._pushed()
        shown += pushed[self._seen :]
        self._seen = len(pushed)
        return shown

    def run(self, lines: Iterable[str], show: Callable[[str], None]) -> None:
        for line in lines:
            line = line.strip()
            if line == "/quit":
                return
            if line:
                for text in self.say(line):
                    show(f"bot> {text}")


@contextmanager
def fake_wechat(desk: str, kf: bool) -> Iterator[tuple[FakeWeChat, ThreadedServer, dict[str, str]]]:
    """The fake on a loopback port, and the settings that point the desk at it."""
    fake = FakeWeChat(aes_key=random_aes_key())
    server = serve_in_thread(fake.app())
    fake.port = server.port
    try:
        yield fake, server, trial_env(fake, server.url, desk, kf)
    finally:
        server.stop(timeout=5)


def point_at_app(fake: FakeWeChat, app_url: str, desk: str, kf: bool) -> None:
    if kf:
        fake.kf_callback_url = f"{app_url}/wechat-kf/{desk}"
    else:
        fake.callback_url = f"{app_url}/wechat/{desk}"


@contextmanager
def front_door() -> Iterator[str]:
    """The whole front door as `make run` starts it (Rasa, action server, app); yields the app's URL."""
    from bot.launcher import Stack, ensure_local_secrets
    from bot.security.binding import connect_host
    from bot.security.files import PRIVATE_UMASK
    from bot.settings import Settings

    os.umask(PRIVATE_UMASK)  # as `make run`: the secrets file and the data folder are the owner's only
    settings = Settings()
    ensure_local_secrets(settings.data_dir)
    stack = Stack(
        settings,
        rasa_port=settings.rasa_port,
        action_port=settings.action_server_port,
        app_port=settings.port,
        rasa_replicas=settings.rasa_replicas,
    )
    print("Starting the front door (Rasa takes about 20 s to load its model)...", flush=True)
    try:
        stack.start()
        yield f"http://{connect_host(settings.host)}:{settings.port}"
    finally:
        stack.stop()


def trial(
    desk: str,
    kf: bool,
    lines: Iterable[str],
    show: Callable[[str], None] = print,
    door: Callable[[], AbstractContextManager[str]] = front_door,
) -> None:
    """The fake, the front door with the desk pointed at it (settings in this process's environment,
    and so in the processes it starts, put back afterwards), the simulator."""
    with fake_wechat(desk, kf) as (fake, _, env), trial_settings(env), door() as app_url:
        point_at_app(fake, app_url, desk, kf)
        check = fake.verify_kf_url() if kf else fake.verify_url()
        url = fake.kf_callback_url if kf else fake.callback_url
        passed = check.text == ("kf-echo-42" if kf else "echo-123")
        show(f"WeChat's URL check of {url}: {'passed' if passed else 'FAILED'}")
        channel = "微信客服 (WeCom)" if kf else "Official Account (公众号, safe mode)"
        show(f"You are a WeChat user writing to desk {desk}'s {channel}. Type a message (Ctrl-D ends):")
        Simulator(fake, kf).run(lines, show)


@contextmanager
def trial_settings(env: dict[str, str]) -> Iterator[None]:
    """Set the trial's variables in this process's environment; put the old values back after."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _typed() -> Iterator[str]:
    while True:
        try:
            yield input("you> ")
        except EOFError:
            return


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - interactive; trial() is tested
    parser = argparse.ArgumentParser(description="Try a desk on WeChat: fake WeChat, the front door, a simulator")
    parser.add_argument("--desk", default="12345")
    parser.add_argument(
        "--kf", action="store_true", help="the 微信客服 (WeCom) channel instead of the Official Account"
    )
    args = parser.parse_args(argv)
    try:
        trial(args.desk, args.kf, _typed())
    except (RuntimeError, TimeoutError) as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
