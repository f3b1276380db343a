"""The triage knowledge (desks, FAQ, channels, safety, conversation) as validated dataclasses.

Staff edit YAML under `bot/data/` (later: a console backed by a database). A typo must never take the
bot down, so:

* every file is validated before it is used, and a broken one is refused with a `CatalogueError`
  that names the file and the line (yaml's own mark for syntax errors; a line-tracking loader for
  schema errors such as a duplicate id or an unknown channel code);
* `CatalogueStore` re-reads the files when they change (at most every ~2 s) and keeps serving the
  last good catalogue while the new one is broken, exposing the error for the console.

The dataclasses are the interface: `YamlCatalogueSource` is one `CatalogueSource`; a database-backed
source only has to produce the same `Catalogue`. Pure Python (yaml + stdlib), no model here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot.triage.vocabulary import EMERGENCY_CHANNELS

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FORM_FIELDS = ("what", "where", "since", "who", "contact")
PRIORITIES = ("normal", "urgent")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; `str()` reads "path:line: message"."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------------------------------
# dataclasses


@dataclass(frozen=True)
class Channel:
    """A service a person can be sent to (spec's channel table; local numbers and hours live here)."""

    code: str
    name: str
    name_en: str = ""
    handles: str = ""
    hours: str = ""
    how: str = ""
    emergency: bool = False


@dataclass(frozen=True)
class Category:
    """An in-scope ticket category of a desk (route `ticket`)."""

    id: str
    name: str
    description: str
    examples: tuple[str, ...]
    category_l1: str | None = None
    priority: str = "normal"
    sla_hours: int | None = None
    form: tuple[str, ...] = ()


@dataclass(frozen=True)
class Referral:
    """A legitimate matter another body handles (route `refer`)."""

    id: str
    channel: str
    reason: str
    reply: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Decline:
    """Not a public-service request (route `decline`); `id` is the analytics reason code."""

    id: str
    reason: str
    reply: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Faq:
    """A question the knowledge base answers (route `faq`)."""

    id: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str

    @property
    def examples(self) -> tuple[str, ...]:
        """Every way of asking it: the question first, then the paraphrases."""
        return (self.question, *self.paraphrases)


@dataclass(frozen=True)
class DeskCatalogue:
    """One desk's scope: what becomes a ticket, a referral, a decline, an FAQ answer."""

    desk: str
    name: str
    categories: tuple[Category, ...]
    referrals: tuple[Referral, ...] = ()
    declines: tuple[Decline, ...] = ()
    faqs: tuple[Faq, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def category(self, entry_id: str) -> Category | None:
        """The category with this id, if any."""
        return next((c for c in self.categories if c.id == entry_id), None)


@dataclass(frozen=True)
class EmergencySection:
    """Words, patterns and example sentences of one emergency channel (110/119/120/122)."""

    channel: str
    lexicon: tuple[str, ...]
    patterns: tuple[str, ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class SafetyConfig:
    """`safety.yml`: the crisis and emergency screen of all desks."""

    crisis_lexicon: tuple[str, ...]
    crisis_patterns: tuple[str, ...]
    crisis_examples: tuple[str, ...]
    crisis_negatives: tuple[str, ...]
    emergency: Mapping[str, EmergencySection]
    emergency_negatives: tuple[str, ...] = ()

    def as_mapping(self) -> dict[str, Any]:
        """The YAML shape, for `SafetyLexicon.from_mapping`."""
        return {
            "crisis": {"lexicon": list(self.crisis_lexicon), "patterns": list(self.crisis_patterns)},
            "emergency": {
                ch: {"lexicon": list(s.lexicon), "patterns": list(s.patterns)} for ch, s in self.emergency.items()
            },
        }


@dataclass(frozen=True)
class Conversation:
    """`conversation.yml`: smalltalk and too-vague messages (all desks)."""

    smalltalk: tuple[str, ...]
    clarify: tuple[str, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    """Everything triage knows; immutable, so a reload swaps it atomically."""

    channels: Mapping[str, Channel]
    desks: Mapping[str, DeskCatalogue]
    safety: SafetyConfig
    conversation: Conversation
    source: str = ""

    @property
    def content_hash(self) -> str:
        """Stable hash of the content (not of file times): the key of fitted-model caches."""
        payload = {
            "channels": {k: asdict(v) for k, v in sorted(self.channels.items())},
            "desks": {k: _desk_payload(v) for k, v in sorted(self.desks.items())},
            "safety": asdict(self.safety),
            "conversation": [list(self.conversation.smalltalk), list(self.conversation.clarify)],
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def desk(self, desk: str) -> DeskCatalogue:
        """The catalogue of `desk` (KeyError names the known desks)."""
        try:
            return self.desks[desk]
        except KeyError:
            raise KeyError(f"unknown desk {desk!r}; known: {', '.join(sorted(self.desks))}") from None


def _desk_payload(desk: DeskCatalogue) -> dict[str, Any]:
    d = asdict(desk)
    d.pop("extra", None)
    return d


# --------------------------------------------------------------------------------------------------
# a YAML loader that remembers lines


class _LineDict(dict[Any, Any]):
    """A mapping that knows the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class _LineList(list[Any]):
    """A sequence that knows the line of itself and of each item (1-based)."""

    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry the lines they came from."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise CatalogueError(loader.name, key_node.start_mark.line + 1, f"duplicate key {key!r}")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _LineList:
    result = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, path: str | Path) -> Any:
    """Parse YAML, turning a syntax error into a CatalogueError at yaml's mark."""
    loader = _LineLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise CatalogueError(path, line, f"YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(path, None, f"YAML error: {exc}") from exc
    finally:
        loader.dispose()


# --------------------------------------------------------------------------------------------------
# schema checks


class _Reader:
    """Reads one parsed file and reports schema errors at the right line."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def fail(self, line: int | None, message: str) -> CatalogueError:
        return CatalogueError(self.path, line, message)

    @staticmethod
    def line_of(container: Any, key: Any = None) -> int | None:
        if key is not None:
            if isinstance(container, _LineDict):
                return container.key_lines.get(key, container.line)
            if isinstance(container, _LineList) and isinstance(key, int) and key < len(container.item_lines):
                return container.item_lines[key]
        return getattr(container, "line", None) or None

    def mapping(self, parent: Any, key: Any, what: str) -> _LineDict:
        value = parent.get(key) if isinstance(parent, Mapping) else None
        if not isinstance(value, Mapping):
            raise self.fail(self.line_of(parent, key), f"{what}: expected a mapping")
        return value  # type: ignore[return-value]

    def text(self, entry: Mapping[str, Any], key: str, what: str, required: bool = True) -> str:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(self.line_of(entry), f"{what}: missing field '{key}'")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(self.line_of(entry, key), f"{what}: '{key}' must be text")
        return str(value).strip()

    def texts(self, entry: Mapping[str, Any], key: str, what: str, required: bool = True) -> tuple[str, ...]:
        value = entry.get(key)
        if value is None:
            if required:
                raise self.fail(self.line_of(entry), f"{what}: missing field '{key}'")
            return ()
        if not isinstance(value, list):
            raise self.fail(self.line_of(entry, key), f"{what}: '{key}' must be a list")
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str | int | float) or isinstance(item, bool) or not str(item).strip():
                raise self.fail(self.line_of(value, i), f"{what}: '{key}' item {i + 1} must be non-empty text")
            out.append(str(item).strip())
        if required and not out:
            raise self.fail(self.line_of(entry, key), f"{what}: '{key}' must not be empty")
        return tuple(out)

    def entries(self, doc: Mapping[str, Any], key: str, required: bool) -> Iterator[tuple[_LineDict, str]]:
        """Yield (entry, id) for a list of entries, refusing duplicates and bad ids."""
        value = doc.get(key)
        if value is None:
            if required:
                raise self.fail(self.line_of(doc), f"missing section '{key}'")
            return
        if not isinstance(value, list) or (required and not value):
            raise self.fail(self.line_of(doc, key), f"'{key}' must be a non-empty list")
        for i, entry in enumerate(value):
            if not isinstance(entry, Mapping):
                raise self.fail(self.line_of(value, i), f"{key} item {i + 1}: expected a mapping")
            entry_id = entry.get("id")
            if not isinstance(entry_id, str) or not _ID.match(entry_id):
                raise self.fail(
                    self.line_of(entry, "id") if "id" in entry else self.line_of(entry),
                    f"{key} item {i + 1}: 'id' must be snake_case text, got {entry_id!r}",
                )
            yield entry, entry_id  # type: ignore[misc]


def _check_unique(reader: _Reader, seen: dict[str, str], entry: _LineDict, entry_id: str, section: str) -> None:
    if entry_id in seen:
        raise reader.fail(reader.line_of(entry, "id"), f"duplicate id {entry_id!r} (already used in {seen[entry_id]})")
    seen[entry_id] = section


def parse_channels(doc: Any, path: str | Path) -> dict[str, Channel]:
    """`channels.yml` -> {code: Channel}."""
    r = _Reader(path)
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'channels'")
    section = r.mapping(doc, "channels", "channels")
    channels: dict[str, Channel] = {}
    for code, entry in section.items():
        what = f"channel {code}"
        if not isinstance(entry, Mapping):
            raise r.fail(r.line_of(section, code), f"{what}: expected a mapping")
        emergency = entry.get("emergency", False)
        if not isinstance(emergency, bool):
            raise r.fail(r.line_of(entry, "emergency"), f"{what}: 'emergency' must be true or false")
        if emergency and str(code) not in EMERGENCY_CHANNELS:
            raise r.fail(r.line_of(entry, "emergency"), f"{what}: only 110/119/120/122 are emergency channels")
        channels[str(code)] = Channel(
            code=str(code),
            name=r.text(entry, "name", what),
            name_en=r.text(entry, "name_en", what, required=False),
            handles=r.text(entry, "handles", what, required=False),
            hours=r.text(entry, "hours", what, required=False),
            how=r.text(entry, "how", what, required=False),
            emergency=emergency,
        )
    return channels


def parse_desk(doc: Any, path: str | Path, channels: Mapping[str, Channel]) -> DeskCatalogue:
    """`desks/<desk>.yml` -> DeskCatalogue (ids unique across categories, referrals and declines)."""
    r = _Reader(path)
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'desk' and 'categories'")
    desk = r.text(doc, "desk", "desk file")
    seen: dict[str, str] = {}
    categories: list[Category] = []
    for entry, entry_id in r.entries(doc, "categories", required=True):
        what = f"category {entry_id}"
        _check_unique(r, seen, entry, entry_id, "categories")
        priority = r.text(entry, "priority", what, required=False) or "normal"
        if priority not in PRIORITIES:
            raise r.fail(r.line_of(entry, "priority"), f"{what}: priority must be one of {', '.join(PRIORITIES)}")
        sla = entry.get("sla_hours")
        if sla is not None and (not isinstance(sla, int | float) or isinstance(sla, bool) or sla <= 0):
            raise r.fail(r.line_of(entry, "sla_hours"), f"{what}: sla_hours must be a positive number")
        form = r.texts(entry, "form", what, required=False)
        bad = [f for f in form if f not in FORM_FIELDS]
        if bad:
            raise r.fail(r.line_of(entry, "form"), f"{what}: unknown form fields {bad}; use {', '.join(FORM_FIELDS)}")
        l1 = r.text(entry, "category_l1", what, required=desk == "12345") or None
        categories.append(
            Category(
                id=entry_id,
                name=r.text(entry, "name", what),
                description=r.text(entry, "description", what, required=False),
                examples=r.texts(entry, "examples", what),
                category_l1=l1,
                priority=priority,
                sla_hours=int(sla) if sla is not None else None,
                form=form,
            )
        )
    referrals: list[Referral] = []
    for entry, entry_id in r.entries(doc, "referrals", required=False):
        what = f"referral {entry_id}"
        _check_unique(r, seen, entry, entry_id, "referrals")
        channel = r.text(entry, "channel", what)
        if channel not in channels:
            raise r.fail(r.line_of(entry, "channel"), f"{what}: unknown channel code {channel!r} (not in channels.yml)")
        referrals.append(
            Referral(
                id=entry_id,
                channel=channel,
                reason=r.text(entry, "reason", what, required=False),
                reply=r.text(entry, "reply", what),
                examples=r.texts(entry, "examples", what),
            )
        )
    declines: list[Decline] = []
    for entry, entry_id in r.entries(doc, "declines", required=False):
        what = f"decline {entry_id}"
        _check_unique(r, seen, entry, entry_id, "declines")
        declines.append(
            Decline(
                id=entry_id,
                reason=r.text(entry, "reason", what, required=False),
                reply=r.text(entry, "reply", what),
                examples=r.texts(entry, "examples", what),
            )
        )
    known = {"desk", "name", "categories", "referrals", "declines"}
    extra = {k: v for k, v in doc.items() if k not in known}
    return DeskCatalogue(
        desk,
        r.text(doc, "name", "desk file", required=False) or desk,
        tuple(categories),
        tuple(referrals),
        tuple(declines),
        (),
        extra,
    )


def parse_faq(doc: Any, path: str | Path) -> tuple[str, tuple[Faq, ...]]:
    """`faq/<desk>.yml` -> (desk, faqs)."""
    r = _Reader(path)
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'desk' and 'faqs'")
    desk = r.text(doc, "desk", "faq file")
    seen: dict[str, str] = {}
    faqs: list[Faq] = []
    for entry, entry_id in r.entries(doc, "faqs", required=True):
        what = f"faq {entry_id}"
        _check_unique(r, seen, entry, entry_id, "faqs")
        faqs.append(
            Faq(
                id=entry_id,
                question=r.text(entry, "question", what),
                paraphrases=r.texts(entry, "paraphrases", what),
                answer=r.text(entry, "answer", what),
            )
        )
    return desk, tuple(faqs)


def parse_safety(doc: Any, path: str | Path, channels: Mapping[str, Channel]) -> SafetyConfig:
    """`safety.yml` -> SafetyConfig (patterns must compile; emergency keys must be emergency channels)."""
    r = _Reader(path)
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'crisis' and 'emergency'")
    crisis = r.mapping(doc, "crisis", "crisis")
    crisis_patterns = r.texts(crisis, "patterns", "crisis", required=False)
    _check_patterns(r, crisis, crisis_patterns, "crisis")
    emergency_doc = r.mapping(doc, "emergency", "emergency")
    sections: dict[str, EmergencySection] = {}
    for code, section in emergency_doc.items():
        if code == "negatives":
            continue
        what = f"emergency {code}"
        if str(code) not in EMERGENCY_CHANNELS or (channels and str(code) not in channels):
            raise r.fail(r.line_of(emergency_doc, code), f"{what}: not an emergency channel code (110/119/120/122)")
        if not isinstance(section, Mapping):
            raise r.fail(r.line_of(emergency_doc, code), f"{what}: expected a mapping")
        patterns = r.texts(section, "patterns", what, required=False)
        _check_patterns(r, section, patterns, what)
        sections[str(code)] = EmergencySection(
            channel=str(code),
            lexicon=r.texts(section, "lexicon", what, required=False),
            patterns=patterns,
            examples=r.texts(section, "examples", what),
        )
    return SafetyConfig(
        crisis_lexicon=r.texts(crisis, "lexicon", "crisis"),
        crisis_patterns=crisis_patterns,
        crisis_examples=r.texts(crisis, "examples", "crisis"),
        crisis_negatives=r.texts(crisis, "negatives", "crisis"),
        emergency=sections,
        emergency_negatives=r.texts(emergency_doc, "negatives", "emergency", required=False),
    )


SAFETY_LESSONS = "safety-lessons.yml"
"""Staff additions to the safety screen (console: 纠正与学习), kept apart from `safety.yml` so that a
new release's word list and patterns still apply on a deployment that has taught its screen."""


def parse_safety_lessons(doc: Any, path: str | Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`safety-lessons.yml` -> (crisis examples, crisis negatives) to add; both lists optional."""
    r = _Reader(path)
    if doc is None:
        return (), ()
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'crisis'")
    crisis = r.mapping(doc, "crisis", "crisis")
    return (
        r.texts(crisis, "examples", "crisis", required=False),
        r.texts(crisis, "negatives", "crisis", required=False),
    )


CATEGORY_LESSONS = "lessons"
"""Folder of staff-taught category examples, one file per desk (`lessons/<desk>.yml`), read on top of
the desk catalogue, so that a new release's catalogue still applies where staff have taught it."""


def parse_category_lessons(doc: Any, path: str | Path, desk: str) -> dict[str, tuple[str, ...]]:
    """`lessons/<desk>.yml` -> category id -> examples to add."""
    r = _Reader(path)
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'desk' and 'examples'")
    if str(doc.get("desk", "")) != desk:
        raise r.fail(r.line_of(doc, "desk"), f"desk must be {desk!r} (the file name)")
    examples = doc.get("examples") or {}
    if not isinstance(examples, Mapping):
        raise r.fail(r.line_of(doc, "examples"), "'examples' must map category ids to lists")
    return {str(cid): r.texts(examples, cid, f"lessons of {cid}") for cid in examples}


def with_category_lessons(desk: DeskCatalogue, lessons: Mapping[str, Sequence[str]]) -> DeskCatalogue:
    """The desk with staff-taught examples added to its categories (duplicates dropped).

    A lesson for a category that is no longer in the catalogue is skipped with a warning: a renamed
    category must not take the whole catalogue down.
    """
    known = {c.id for c in desk.categories}
    for cid in sorted(set(lessons) - known):
        log.warning("lessons for unknown category %r of desk %s skipped", cid, desk.desk)
    categories = tuple(
        replace(c, examples=tuple(dict.fromkeys((*c.examples, *lessons.get(c.id, ()))))) for c in desk.categories
    )
    return replace(desk, categories=categories)


def with_safety_lessons(safety: SafetyConfig, examples: Sequence[str], negatives: Sequence[str]) -> SafetyConfig:
    """The screen with staff-taught crisis examples and negatives added (duplicates dropped)."""
    return replace(
        safety,
        crisis_examples=tuple(dict.fromkeys((*safety.crisis_examples, *examples))),
        crisis_negatives=tuple(dict.fromkeys((*safety.crisis_negatives, *negatives))),
    )


def _check_patterns(r: _Reader, section: Mapping[str, Any], patterns: Sequence[str], what: str) -> None:
    for i, source in enumerate(patterns):
        try:
            re.compile(source)
        except re.error as exc:
            raise r.fail(r.line_of(section.get("patterns"), i), f"{what}: bad pattern {source!r}: {exc}") from exc


def parse_conversation(doc: Any, path: str | Path) -> Conversation:
    """`conversation.yml` -> Conversation."""
    r = _Reader(path)
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'smalltalk' and 'clarify'")
    extra = {k: v for k, v in doc.items() if k not in ("smalltalk", "clarify")}
    return Conversation(
        smalltalk=r.texts(doc, "smalltalk", "conversation"),
        clarify=r.texts(doc, "clarify", "conversation"),
        extra=extra,
    )


# --------------------------------------------------------------------------------------------------
# sources and the reloading store


class CatalogueSource(Protocol):
    """Where a catalogue comes from (YAML files today, a database tomorrow)."""

    def fingerprint(self) -> str:
        """Cheap token that changes whenever `load()` could return something new."""

    def load(self) -> Catalogue:
        """Read and validate everything; raise CatalogueError when anything is broken."""


def _console_override_dir() -> Path:
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
        return fixed + lessons + self._folder("desks") + self._folder("faq") + self._folder(CATEGORY_LESSONS)

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
            lessons_path = self._path(f"{CATEGORY_LESSONS}/{desk.desk}.yml")
            if lessons_path.is_file():
                desk = with_category_lessons(
                    desk, parse_category_lessons(self._read(lessons_path), lessons_path, desk.desk)
                )
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


class CatalogueStore:
    """Serves the current good catalogue; re-reads its source when it changes, keeps the last good one.

    `get()` is cheap and thread-safe: it looks at the source's fingerprint at most every
    `min_interval` seconds. A failed reload is logged and kept in `last_error`; the previous
    catalogue keeps serving. `version` grows on every successful reload, so users (the engine)
    can refit only when it moved.
    """

    def __init__(
        self,
        source: CatalogueSource | None = None,
        min_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source: CatalogueSource = source or YamlCatalogueSource(override_dir=_console_override_dir())
        self.min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._fingerprint: str | None = None
        self._checked_at = float("-inf")
        self.version = 0
        self.last_error: CatalogueError | None = None

    def get(self) -> Catalogue:
        """The catalogue to use now (raises CatalogueError only if no good one was ever loaded)."""
        now = self._clock()
        if self._catalogue is not None and now - self._checked_at < self.min_interval:
            return self._catalogue
        with self._lock:
            if self._catalogue is None or now - self._checked_at >= self.min_interval:
                self._refresh(now)
            if self._catalogue is None:
                assert self.last_error is not None
                raise self.last_error
            return self._catalogue

    def reload(self) -> Catalogue:
        """Check the source now, whatever the interval (tests, the console's "apply" button)."""
        with self._lock:
            self._checked_at = float("-inf")
        return self.get()

    def _refresh(self, now: float) -> None:
        self._checked_at = now
        fingerprint = self.source.fingerprint()
        if fingerprint == self._fingerprint:
            return
        try:
            catalogue = self.source.load()
        except CatalogueError as exc:
            if self.last_error is None or str(exc) != str(self.last_error):
                log.error(
                    "catalogue refused, %s: %s",
                    "keeping the last good one" if self._catalogue else "no catalogue to serve",
                    exc,
                )
            self.last_error = exc
            self._fingerprint = fingerprint
            return
        self._catalogue = catalogue
        self._fingerprint = fingerprint
        self.last_error = None
        self.version += 1
        log.info(
            "catalogue loaded from %s (version %d, %s)",
            catalogue.source,
            self.version,
            catalogue.content_hash,
        )
