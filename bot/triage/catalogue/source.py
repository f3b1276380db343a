"""Where a catalogue comes from: the `CatalogueSource` protocol and the YAML files that make one.

`YamlCatalogueSource` reads the files shipped under `bot/data/`, lets a file of the same name in the
console's override folder (staff edits, <FRONTDOOR_DATA_DIR>/catalogue/) replace a shipped one, adds
the staff lessons (`lessons`) and the imported history (`history`), and validates the lot (`schema`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol

from bot.triage.catalogue.history import CATEGORY_HISTORY, history_examples, parse_history
from bot.triage.catalogue.lessons import (
    CATEGORY_LESSONS,
    SAFETY_LESSONS,
    parse_category_lessons,
    parse_safety_lessons,
    with_category_lessons,
    with_safety_lessons,
)
from bot.triage.catalogue.lines import CatalogueError, parse_yaml
from bot.triage.catalogue.model import Catalogue, DeskCatalogue
from bot.triage.catalogue.schema import parse_channels, parse_conversation, parse_desk, parse_faq, parse_safety
from bot.triage.catalogue.writers import WRITERS, parse_writer_batch, with_writer_batches, with_writer_crisis

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"


class CatalogueSource(Protocol):
    """Where a catalogue comes from (YAML files today, a database tomorrow)."""

    def fingerprint(self) -> str:
        """Cheap token that changes whenever `load()` could return something new."""

    def load(self) -> Catalogue:
        """Read and validate everything; raise CatalogueError when anything is broken."""


def console_override_dir() -> Path:
    """Where the staff console writes accepted catalogue and FAQ edits (see bot/console/overrides.py)."""
    from bot.settings import Settings

    return Settings().data_dir / "catalogue"


class YamlCatalogueSource:
    """The YAML files under `bot/data/` (desks/*.yml, faq/*.yml, channels, safety, conversation)."""

    def __init__(self, data_dir: str | Path = DEFAULT_DATA_DIR, override_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        # Staff edits from the console (<FRONTDOOR_DATA_DIR>/catalogue/): a file there replaces the
        # bundled file of the same relative name, so an edit is live without touching the package.
        self.override_dir = Path(override_dir) if override_dir is not None else None

    def _path(self, relative: str) -> Path:
        """The override file when staff have saved one, else the bundled file."""
        if self.override_dir is not None and (self.override_dir / relative).is_file():
            return self.override_dir / relative
        return self.data_dir / relative

    def _folder(self, name: str) -> list[Path]:
        names = {p.name for p in (self.data_dir / name).glob("*.yml")}
        if self.override_dir is not None:
            names |= {p.name for p in (self.override_dir / name).glob("*.yml")}
        return [self._path(f"{name}/{n}") for n in sorted(names)]

    def files(self) -> list[Path]:
        """Every file that makes up the catalogue (missing ones are reported by `load`)."""
        fixed = [self._path("channels.yml"), self._path("safety.yml"), self._path("conversation.yml")]
        safety_lessons = self._path(SAFETY_LESSONS)
        lessons = [safety_lessons] if safety_lessons.is_file() else []
        desks = self._folder("desks") + self._folder("faq")
        layers = self._folder(CATEGORY_LESSONS) + self._folder(CATEGORY_HISTORY) + self._folder(WRITERS)
        return fixed + lessons + desks + layers

    def fingerprint(self) -> str:
        parts = []
        for path in self.files():
            try:
                st = path.stat()
                parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
            except FileNotFoundError:
                parts.append(f"{path}:missing")
        return hashlib.sha1("|".join(parts).encode()).hexdigest()

    def _read(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CatalogueError(path, None, "file is missing") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogueError(path, None, f"cannot read: {exc}") from exc
        return parse_yaml(text, path)

    def load(self) -> Catalogue:
        d = self.data_dir
        channels_path, safety_path = self._path("channels.yml"), self._path("safety.yml")
        conversation_path = self._path("conversation.yml")
        channels = parse_channels(self._read(channels_path), channels_path)
        safety = parse_safety(self._read(safety_path), safety_path, channels)
        batches = [parse_writer_batch(self._read(path), path) for path in self._folder(WRITERS)]
        safety = with_writer_crisis(safety, batches)  # shipped; staff lessons come on top of it
        lessons_path = self._path(SAFETY_LESSONS)
        if lessons_path.is_file():
            safety = with_safety_lessons(safety, *parse_safety_lessons(self._read(lessons_path), lessons_path))
        conversation = parse_conversation(self._read(conversation_path), conversation_path)
        desks: dict[str, DeskCatalogue] = {}
        desk_files = self._folder("desks")
        if not desk_files:
            raise CatalogueError(d / "desks", None, "no desk catalogue (desks/<desk>.yml)")
        for path in desk_files:
            desk = parse_desk(self._read(path), path, channels)
            if desk.desk != path.stem:
                raise CatalogueError(path, 1, f"desk {desk.desk!r} does not match the file name {path.name}")
            desk = with_writer_batches(desk, batches)
            lessons_path = self._path(f"{CATEGORY_LESSONS}/{desk.desk}.yml")
            if lessons_path.is_file():
                desk = with_category_lessons(
                    desk, parse_category_lessons(self._read(lessons_path), lessons_path, desk.desk)
                )
            history_path = self._path(f"{CATEGORY_HISTORY}/{desk.desk}.yml")
            if history_path.is_file():
                history_batches = parse_history(self._read(history_path), history_path, desk.desk)
                desk = with_category_lessons(desk, history_examples(history_batches), "history")
            desks[desk.desk] = desk
        for path in self._folder("faq"):
            desk_code, faqs = parse_faq(self._read(path), path)
            if desk_code not in desks:
                raise CatalogueError(path, 1, f"FAQ for unknown desk {desk_code!r}")
            desk = desks[desk_code]
            desk_ids = {c.id for c in desk.categories} | {e.id for e in desk.referrals} | {e.id for e in desk.declines}
            clash = {f.id for f in faqs} & desk_ids
            if clash:
                raise CatalogueError(path, 1, f"FAQ ids also used in the desk catalogue: {sorted(clash)}")
            desks[desk_code] = DeskCatalogue(
                desk.desk, desk.name, desk.categories, desk.referrals, desk.declines, faqs, desk.extra
            )
        return Catalogue(channels, desks, safety, conversation, source=str(d))
