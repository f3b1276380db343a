"""A terminal chat against the running front door (`make chat DESK=12355`).

It talks to the app's REST channel, so it goes through the same gateway as every other channel. It
proves who it is like any client (bot/channels/identity.py): with the local integration key `make run`
keeps in the data folder (or `--key`), as a full-length random person id; without one, it asks for a
web chat token, like the web page.
Type a button's number to press it; an empty line is sent as an empty message; Ctrl-D quits.
"""

from __future__ import annotations

import argparse
import sys
import uuid

import httpx

from bot.channels.keys import read_local_key
from bot.settings import Settings


def credentials(client: httpx.Client, base: str, desk: str, key: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, extra body fields) for every message: a key and a random sender, else a web token."""
    if key:
        return {"Authorization": f"Bearer {key}"}, {"sender": f"terminal-{uuid.uuid4().hex}"}
    response = client.post(f"{base}/api/chat/{desk}/session")
    response.raise_for_status()
    return {"X-Chat-Token": response.json()["token"]}, {}


def render(replies: list[dict[str, object]]) -> list[dict[str, str]]:
    """Print the replies and return the buttons offered last, so a number can press one."""
    buttons: list[dict[str, str]] = []
    for reply in replies:
        print(f"机器人> {reply.get('text', '')}")
        offered = reply.get("buttons") or []
        assert isinstance(offered, list)
        buttons = offered
        for index, button in enumerate(buttons, 1):
            print(f"   [{index}] {button['title']}")
    return buttons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the running front door in the terminal.")
    parser.add_argument("--desk", default="12345", help="12345 or 12355")
    parser.add_argument("--url", default=None, help="app base URL (default from FRONTDOOR_HOST/PORT)")
    parser.add_argument("--key", default=None, help="an integration key (default: the local key of `make run`)")
    args = parser.parse_args(argv)
    settings = Settings()
    base = args.url or f"http://{settings.host}:{settings.port}"
    print(f"Desk {args.desk} - type your message (Ctrl-D to quit).")
    buttons: list[dict[str, str]] = []
    with httpx.Client(timeout=60) as client:
        try:
            headers, fields = credentials(client, base, args.desk, args.key or read_local_key(settings.data_dir))
        except httpx.HTTPError as exc:
            print(f"(cannot reach the front door at {base}: {exc}. Is `make run` running?)", file=sys.stderr)
            return 1
        while True:
            try:
                line = input("你> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if line.strip().isdigit() and 0 < int(line.strip()) <= len(buttons):
                line = buttons[int(line.strip()) - 1]["payload"]
            try:
                response = client.post(f"{base}/api/chat/{args.desk}", json={**fields, "text": line}, headers=headers)
            except httpx.HTTPError as exc:
                print(f"(cannot reach the front door at {base}: {exc}. Is `make run` running?)", file=sys.stderr)
                continue
            if response.status_code != 200:
                print(f"(error {response.status_code}: {response.text})", file=sys.stderr)
                continue
            buttons = render(response.json()["replies"])


if __name__ == "__main__":
    raise SystemExit(main())
