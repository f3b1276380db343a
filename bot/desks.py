"""Desk profiles: each desk's title, phone number and audience, read from data, not code.

The gateway's messages, the desk's voice (你/您, 老师/工作人员), the crisis wording, the web chat
page, the console and the actions all ask this module, so a third desk is a data change
(`bot/data/desks.yml`, or `<FRONTDOOR_DATA_DIR>/catalogue/desks.yml` on top of it) plus its
catalogue. An unknown desk still gets a usable profile (its id as title and phone, the public
voice): a message must never fail to go out because a profile is missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parent / "data" / "desks.yml"
AUDIENCES = ("public", "youth")


class DeskProfileError(ValueError):
    """A desk profile file that cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class DeskProfile:
    desk: str
    title: str
    phone: str
    audience: str = "public"

    @property
    def youth(self) -> bool:
        """A youth desk: speaks as 你 to young people, its staff are 老师."""
        return self.audience == "youth"


def parse_profiles(data: Any, source: str) -> dict[str, DeskProfile]:
    """Profiles from the YAML mapping `desk -> {title, phone, audience}`; DeskProfileError when malformed."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise DeskProfileError(f"{source}: expected a mapping of desk -> profile")
    profiles: dict[str, DeskProfile] = {}
    for desk, fields in data.items():
        desk = str(desk)
        if not isinstance(fields, Mapping):
            raise DeskProfileError(f"{source}: desk {desk}: expected title, phone and audience")
        unknown = sorted(set(map(str, fields)) - {"title", "phone", "audience"})
        if unknown:
            raise DeskProfileError(f"{source}: desk {desk}: unknown field(s) {', '.join(unknown)}")
        title, phone = str(fields.get("title") or "").strip(), str(fields.get("phone") or "").strip()
        audience = str(fields.get("audience") or "public").strip()
        if not title or not phone:
            raise DeskProfileError(f"{source}: desk {desk}: title and phone are required")
        if audience not in AUDIENCES:
            raise DeskProfileError(f"{source}: desk {desk}: audience must be one of {', '.join(AUDIENCES)}")
        profiles[desk] = DeskProfile(desk, title, phone, audience)
    return profiles


def load_profiles(*paths: Path) -> dict[str, DeskProfile]:
    """The profiles of every file that exists, later files overriding earlier ones desk by desk."""
    profiles: dict[str, DeskProfile] = {}
    for path in paths:
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise DeskProfileError(f"{path}: not valid YAML ({exc})") from None
            profiles.update(parse_profiles(data, str(path)))
    return profiles


_lock = threading.Lock()
_profiles: dict[str, DeskProfile] | None = None


def _default_paths() -> tuple[Path, ...]:
    from bot.settings import Settings

    return SHIPPED, Settings().data_dir / "catalogue" / "desks.yml"


def profiles() -> dict[str, DeskProfile]:
    """Every known profile (shipped, then the deployment's), loaded once per process."""
    global _profiles
    with _lock:
        if _profiles is None:
            try:
                _profiles = load_profiles(*_default_paths())
            except DeskProfileError as exc:  # a broken deployment file must not silence the bot
                log.error("%s; using the shipped desk profiles only", exc)
                _profiles = load_profiles(SHIPPED)
        return _profiles


def use_profiles(loaded: dict[str, DeskProfile] | None) -> None:
    """Replace the process's profiles (tests, a reload after an edit); None reads the files again."""
    global _profiles
    with _lock:
        _profiles = loaded


def profile(desk: str) -> DeskProfile:
    """The desk's profile; an unknown desk gets its id as title and phone and the public voice."""
    return profiles().get(desk) or DeskProfile(desk, desk, desk)


def shipped_desks() -> tuple[str, ...]:
    """The desks this release ships profiles for."""
    return tuple(load_profiles(SHIPPED))
