"""Schema validation of the shipped catalogue files: parsed YAML -> the dataclasses of `model`.

Every check reports the file and line of the offending value (`Reader`), so a broken edit is refused
with a message staff can act on instead of taking the bot down: duplicate ids, unknown channel codes,
patterns that do not compile, fields of the wrong type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.triage.catalogue.lines import CatalogueError, LineDict, LineList
from bot.triage.catalogue.model import (
    Category,
    Channel,
    Conversation,
    Decline,
    DeskCatalogue,
    EmergencySection,
    Faq,
    Referral,
    SafetyConfig,
)
from bot.triage.vocabulary import EMERGENCY_CHANNELS

FORM_FIELDS = ("what", "where", "since", "who", "contact")
PRIORITIES = ("normal", "urgent")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class Reader:
    """Reads one parsed file and reports schema errors at the right line."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def fail(self, line: int | None, message: str) -> CatalogueError:
        return CatalogueError(self.path, line, message)

    @staticmethod
    def line_of(container: Any, key: Any = None) -> int | None:
        if key is not None:
            if isinstance(container, LineDict):
                return container.key_lines.get(key, container.line)
            if isinstance(container, LineList) and isinstance(key, int) and key < len(container.item_lines):
                return container.item_lines[key]
        return getattr(container, "line", None) or None

    def mapping(self, parent: Any, key: Any, what: str) -> LineDict:
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

    def optional_text(self, entry: Mapping[str, Any], key: str, what: str) -> str:
        """An optional text field (the English ones): absent is fine, present must be non-empty text."""
        if key not in entry or entry.get(key) is None:
            return ""
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(self.line_of(entry, key), f"{what}: '{key}' must be non-empty text when present")
        return value.strip()

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

    def entries(self, doc: Mapping[str, Any], key: str, required: bool) -> Iterator[tuple[LineDict, str]]:
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


def _check_unique(reader: Reader, seen: dict[str, str], entry: LineDict, entry_id: str, section: str) -> None:
    if entry_id in seen:
        raise reader.fail(reader.line_of(entry, "id"), f"duplicate id {entry_id!r} (already used in {seen[entry_id]})")
    seen[entry_id] = section


def parse_channels(doc: Any, path: str | Path) -> dict[str, Channel]:
    """`channels.yml` -> {code: Channel}."""
    r = Reader(path)
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
    r = Reader(path)
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
        sensitive = entry.get("sensitive", False)
        if not isinstance(sensitive, bool):
            raise r.fail(r.line_of(entry, "sensitive"), f"{what}: sensitive must be true or false")
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
                sensitive=sensitive,
                name_en=r.optional_text(entry, "name_en", what),
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
                reply_en=r.optional_text(entry, "reply_en", what),
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
                reply_en=r.optional_text(entry, "reply_en", what),
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
    r = Reader(path)
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
                answer_en=r.optional_text(entry, "answer_en", what),
            )
        )
    return desk, tuple(faqs)


def parse_safety(doc: Any, path: str | Path, channels: Mapping[str, Channel]) -> SafetyConfig:
    """`safety.yml` -> SafetyConfig (patterns must compile; emergency keys must be emergency channels)."""
    r = Reader(path)
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
        check_in_entries=r.texts(crisis, "check_in_entries", "crisis", required=False),
    )


def _check_patterns(r: Reader, section: Mapping[str, Any], patterns: Sequence[str], what: str) -> None:
    for i, source in enumerate(patterns):
        try:
            re.compile(source)
        except re.error as exc:
            raise r.fail(r.line_of(section.get("patterns"), i), f"{what}: bad pattern {source!r}: {exc}") from exc


def parse_conversation(doc: Any, path: str | Path) -> Conversation:
    """`conversation.yml` -> Conversation."""
    r = Reader(path)
    if not isinstance(doc, Mapping):
        raise r.fail(1, "expected a mapping with 'smalltalk' and 'clarify'")
    extra = {k: v for k, v in doc.items() if k not in ("smalltalk", "clarify")}
    return Conversation(
        smalltalk=r.texts(doc, "smalltalk", "conversation"),
        clarify=r.texts(doc, "clarify", "conversation"),
        extra=extra,
    )
