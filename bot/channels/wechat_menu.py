"""A desk's WeChat menu (bot/data/wechat_menu.yml), checked against WeChat's limits and published.

    python -m bot.channels.wechat_menu 12345          # publish desk 12345's menu
    python -m bot.channels.wechat_menu 12345 --check  # only check it

Publishing uses the same shared access_token as the running app (the database's), so it does not
invalidate the token the app holds. A click arrives as a CLICK event whose key the channel sends
through the gateway as the person's words (bot/channels/wechat.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.channels.wechat_api import TokenHolder, TokenStore, WeChatApi, WeChatError
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.settings import Settings

MENU_FILE = Path(__file__).resolve().parent.parent / "data" / "wechat_menu.yml"
TOP, SUB = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES = 16, 60, 128


class MenuError(ValueError):
    """A menu WeChat would refuse; the message says which button and what to change."""


def _button(item: Any, where: str, name_bytes: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not str(item.get("name") or "").strip():
        raise MenuError(f"{where}: every button needs a name")
    name = str(item["name"]).strip()
    if len(name.encode("utf-8")) > name_bytes:
        raise MenuError(f"{where} {name!r}: a name here may have at most {name_bytes} bytes; shorten it")
    subs = item.get("sub_button")
    if subs:
        if name_bytes == SUB_NAME_BYTES:
            raise MenuError(f"{where} {name!r}: sub-buttons cannot have sub-buttons")
        if not isinstance(subs, list) or len(subs) > SUB:
            raise MenuError(f"{where} {name!r}: at most {SUB} sub-buttons")
        return {"name": name, "sub_button": [_button(s, f"{where} {name!r}", SUB_NAME_BYTES) for s in subs]}
    key = str(item.get("key") or "").strip()
    if not key or len(key.encode("utf-8")) > KEY_BYTES:
        raise MenuError(f"{where} {name!r}: needs a key of 1 to {KEY_BYTES} bytes (what a click sends)")
    return {"type": "click", "name": name, "key": key}


def load_menu(desk: str, path: Path = MENU_FILE) -> dict[str, Any]:
    """The desk's menu as WeChat's `menu/create` body; MenuError when WeChat would refuse it."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get(desk)
    if not isinstance(items, list) or not items:
        raise MenuError(f"{path.name} has no menu for desk {desk}")
    if len(items) > TOP:
        raise MenuError(f"desk {desk}: at most {TOP} top-level buttons, not {len(items)}")
    return {"button": [_button(item, f"desk {desk}", TOP_NAME_BYTES) for item in items]}


async def publish(settings: Settings, desk: str, path: Path = MENU_FILE) -> dict[str, Any]:
    account = settings.wechat_account(desk)
    if account is None:
        raise MenuError(f"desk {desk} has no WeChat account: set FRONTDOOR_WECHAT_{desk}_APPID, _SECRET and _TOKEN")
    menu = load_menu(desk, path)
    engine = make_engine(settings.database_url)
    try:
        await asyncio.to_thread(migrate, engine)
        async with httpx.AsyncClient(timeout=10.0) as http:
            holder = TokenHolder(TokenStore(engine), account.app_id, account.secret, http, settings.wechat_api_base)
            await WeChatApi(holder).create_menu(menu)
    finally:
        engine.dispose()
    return menu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check and publish a desk's WeChat menu")
    parser.add_argument("desk")
    parser.add_argument("--check", action="store_true", help="only check the menu, publish nothing")
    args = parser.parse_args(argv)
    try:
        menu = load_menu(args.desk) if args.check else asyncio.run(publish(Settings(), args.desk))
    except (MenuError, WeChatError) as exc:
        print(f"menu not published: {exc}", file=sys.stderr)
        return 1
    names = " / ".join(b["name"] for b in menu["button"])
    print(f"menu of desk {args.desk} {'is valid' if args.check else 'published'}: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
