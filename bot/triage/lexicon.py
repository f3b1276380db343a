"""The word-and-pattern half of the safety screen.

Pure Python on purpose (stdlib `re`, `yaml`, `bot.text`): the Rasa server runs in a Python 3.10
environment without torch or scikit-learn, and its NLU component calls `SafetyLexicon.match` on every
message to force the `crisis` intent even in the middle of a form. The triage engine uses the same
class, so the live bot and the benchmarks cannot disagree about a word.

Matching reads `bot.text.normalise(text)` (Simplified, half-width, lower case). Plain lexicon terms
are also looked up in a "squeezed" copy where spaces and the symbols people put between characters
to dodge filters (``自 杀``, ``自*杀``, ``想.死``) are removed; sentence punctuation is kept so that
"我不想。活着真好" does not become "不想活".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.text import normalise

DEFAULT_SAFETY_PATH = Path(__file__).resolve().parent.parent / "data" / "safety.yml"

CRISIS_CHANNEL = "12356"
"""The channel reported with a crisis hit (psychological assistance); kept in sync with vocabulary."""

EMERGENCY_ORDER: tuple[str, ...] = ("119", "120", "110", "122")
"""When one message fits several emergency channels, life comes first: fire and rescue, ambulance,
police, then traffic police (a crash with injuries is a 120 call before it is a 122 one)."""

_SQUEEZE = re.compile(r"[\s*_\-~·•/\\|.^+=`'\"#@]+")
_ASCII_WORD = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class LexiconHit:
    """One lexicon term or pattern that fired.

    Attributes:
        kind: "crisis" or "emergency".
        channel: 12356 for crisis; 110/119/120/122 for emergency.
        term: the lexicon entry or the regular expression's source that matched.
        is_pattern: True when `term` is a regular expression.
        matched: the text span that matched (normalised form), for staff.
    """

    kind: str
    channel: str
    term: str
    is_pattern: bool = False
    matched: str = ""

    @property
    def signal(self) -> str:
        """How the hit is shown among a decision's signals: "lexicon:不想活" or "pattern:想\\s*si"."""
        return f"{'pattern' if self.is_pattern else 'lexicon'}:{self.term}"


@dataclass(frozen=True)
class LexiconSection:
    """Terms and patterns of one kind/channel (crisis, or one emergency channel)."""

    kind: str
    channel: str
    terms: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    _squeezed_terms: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def build(cls, kind: str, channel: str, terms: Iterable[str], patterns: Iterable[str]) -> LexiconSection:
        """Normalise terms the way messages are normalised and compile patterns (ValueError if broken)."""
        clean_terms: list[str] = []
        for term in terms:
            norm = normalise(str(term))
            if norm:
                clean_terms.append(norm)
        compiled: list[re.Pattern[str]] = []
        for source in patterns:
            try:
                compiled.append(re.compile(str(source)))
            except re.error as exc:
                raise ValueError(f"{kind} {channel}: bad pattern {source!r}: {exc}") from exc
        squeezed = tuple((t, _squeeze(t)) for t in clean_terms if not _ASCII_WORD.search(t))
        return cls(kind, channel, tuple(clean_terms), tuple(compiled), squeezed)

    def find(self, norm: str, squeezed: str) -> list[LexiconHit]:
        """All hits of this section in an already normalised (and squeezed) text."""
        hits: list[LexiconHit] = []
        for term in self.terms:
            if _ASCII_WORD.search(term):
                if _ascii_term_in(term, norm):
                    hits.append(LexiconHit(self.kind, self.channel, term, False, term))
            elif term in norm:
                hits.append(LexiconHit(self.kind, self.channel, term, False, term))
        seen = {h.term for h in hits}
        for term, sq in self._squeezed_terms:
            if term not in seen and sq and sq in squeezed:
                hits.append(LexiconHit(self.kind, self.channel, term, False, sq))
        for pattern in self.patterns:
            m = pattern.search(norm) or pattern.search(squeezed)
            if m:
                hits.append(LexiconHit(self.kind, self.channel, pattern.pattern, True, m.group(0)))
        return hits


def _squeeze(norm: str) -> str:
    return _SQUEEZE.sub("", norm)


def _ascii_term_in(term: str, norm: str) -> bool:
    """English terms match on word boundaries, so "skill myself" does not contain "kill myself"."""
    spaced = re.sub(r"\s+", " ", norm)
    return re.search(r"(?<![a-z0-9])" + re.escape(term) + r"(?![a-z0-9])", spaced) is not None


class SafetyLexicon:
    """Crisis and emergency words and patterns of `safety.yml`, matched on normalised text."""

    def __init__(self, crisis: LexiconSection, emergency: Mapping[str, LexiconSection]) -> None:
        self.crisis = crisis
        order = [c for c in EMERGENCY_ORDER if c in emergency] + sorted(set(emergency) - set(EMERGENCY_ORDER))
        self.emergency: dict[str, LexiconSection] = {c: emergency[c] for c in order}

    @classmethod
    def load(cls, path: str | Path = DEFAULT_SAFETY_PATH) -> SafetyLexicon:
        """Read `safety.yml` (raises OSError, yaml.YAMLError or ValueError when it is unusable)."""
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with 'crisis' and 'emergency'")
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SafetyLexicon:
        """Build from the parsed YAML structure (also used by the catalogue loader and tests)."""
        crisis_data = data.get("crisis") or {}
        crisis = LexiconSection.build(
            "crisis", CRISIS_CHANNEL, crisis_data.get("lexicon") or (), crisis_data.get("patterns") or ()
        )
        emergency: dict[str, LexiconSection] = {}
        for channel, section in (data.get("emergency") or {}).items():
            if str(channel) == "negatives" or not isinstance(section, Mapping):
                continue
            emergency[str(channel)] = LexiconSection.build(
                "emergency", str(channel), section.get("lexicon") or (), section.get("patterns") or ()
            )
        return cls(crisis, emergency)

    @classmethod
    def from_terms(
        cls,
        crisis_terms: Sequence[str],
        crisis_patterns: Sequence[str] = (),
        emergency: Mapping[str, tuple[Sequence[str], Sequence[str]]] | None = None,
    ) -> SafetyLexicon:
        """Build from plain lists: `emergency` maps a channel to (terms, patterns)."""
        crisis = LexiconSection.build("crisis", CRISIS_CHANNEL, crisis_terms, crisis_patterns)
        sections = {
            ch: LexiconSection.build("emergency", ch, terms, patterns)
            for ch, (terms, patterns) in (emergency or {}).items()
        }
        return cls(crisis, sections)

    def match_all(self, text: str | None) -> list[LexiconHit]:
        """Every hit, crisis first, then emergency channels in `EMERGENCY_ORDER`."""
        norm = normalise(text)
        if not norm:
            return []
        squeezed = _squeeze(norm)
        hits = self.crisis.find(norm, squeezed)
        for section in self.emergency.values():
            hits.extend(section.find(norm, squeezed))
        return hits

    def match(self, text: str | None) -> LexiconHit | None:
        """The hit that decides the route (crisis beats emergency), or None when nothing fired."""
        hits = self.match_all(text)
        return hits[0] if hits else None

    def match_crisis(self, text: str | None) -> LexiconHit | None:
        """The first crisis hit only (the NLU component's question: "force the crisis intent?")."""
        norm = normalise(text)
        if not norm:
            return None
        hits = self.crisis.find(norm, _squeeze(norm))
        return hits[0] if hits else None
