"""domain.yml's responses: the youth desk is spoken to as 你, never as the formal 您."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DOMAIN = Path(__file__).resolve().parent.parent / "domain.yml"


def _for_desk(variant: dict[str, Any], desk: str) -> bool:
    return any(c.get("name") == "desk" and str(c.get("value")) == desk for c in variant.get("condition") or [])


def test_every_formal_response_has_a_youth_variant_that_says_ni() -> None:
    """Rasa picks the 12355 variant when the conversation's desk slot says so; a response with only
    the formal default would greet a teenager as 您 in the middle of a warm conversation."""
    responses: dict[str, list[dict[str, Any]]] = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"]
    missing, formal = [], []
    for name, variants in responses.items():
        default = [v for v in variants if not v.get("condition")]
        youth = [v for v in variants if _for_desk(v, "12355")]
        if any("您" in str(v.get("text") or "") for v in default) and not youth:
            missing.append(name)
        formal += [name for v in youth if "您" in str(v.get("text") or "")]
    assert not missing, f"responses with 您 and no 12355 variant: {missing}"
    assert not formal, f"12355 variants that say 您: {formal}"


# -- languages -------------------------------------------------------------------------------------

DESKS = ("12345", "12355")
LANGUAGES = ("zh", "en")


def _responses() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"]


def _condition(variant: dict[str, Any], name: str) -> str | None:
    values = [str(c.get("value")) for c in variant.get("condition") or [] if c.get("name") == name]
    return values[0] if values else None


def _rasa_choices(variants: list[dict[str, Any]], slots: dict[str, str]) -> list[dict[str, Any]]:
    """Rasa 3.6's rule (rasa.core.nlg.generator.responses_for_utter_action, no channel): every
    conditional variation whose conditions all match, else the unconditional ones; it then picks one
    of them at random."""
    conditional = [
        v
        for v in variants
        if v.get("condition")
        and all(str(slots.get(c["name"])).casefold() == str(c["value"]).casefold() for c in v["condition"])
    ]
    return conditional or [v for v in variants if not v.get("condition")]


def _intended(variants: list[dict[str, Any]], desk: str, language: str) -> list[dict[str, Any]]:
    """What should be said: the language's variations for this desk, else the language's general ones."""
    in_language = [v for v in variants if (_condition(v, "language") or "zh") == language]
    for_desk = [v for v in in_language if _condition(v, "desk") == desk]
    return for_desk or [v for v in in_language if _condition(v, "desk") is None]


def _has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_every_response_and_desk_and_language_matches_exactly_the_right_variations() -> None:
    """Rasa chooses at random among all matching conditional variations: a Chinese desk variation that
    also matched an English conversation would answer an English speaker in Chinese half the time."""
    wrong = []
    for name, variants in _responses().items():
        for desk in DESKS:
            for language in LANGUAGES:
                chosen = _rasa_choices(variants, {"desk": desk, "language": language})
                intended = _intended(variants, desk, language)
                if not intended or chosen != intended:
                    wrong.append((name, desk, language))
                texts = [str(v.get("text") or "") for v in chosen]
                if language == "en" and any(_has_han(t) for t in texts):
                    wrong.append((name, desk, language, "Chinese in English"))
                if language == "zh" and not all(_has_han(t) for t in texts):
                    wrong.append((name, desk, language, "not Chinese"))
    assert wrong == []


def test_english_variations_keep_the_placeholders_and_button_payloads() -> None:
    wrong = []
    for name, variants in _responses().items():
        for desk in DESKS:
            zh = _rasa_choices(variants, {"desk": desk, "language": "zh"})
            en = _rasa_choices(variants, {"desk": desk, "language": "en"})
            for zh_v, en_v in zip(zh, en, strict=True):
                slots = set(re.findall(r"\{\w+\}", zh_v["text"]))
                if slots != set(re.findall(r"\{\w+\}", en_v["text"])):
                    wrong.append((name, desk, "placeholders"))
                payloads = [b["payload"] for b in zh_v.get("buttons") or []]
                if payloads != [b["payload"] for b in en_v.get("buttons") or []]:
                    wrong.append((name, desk, "buttons"))
    assert wrong == []


def test_english_safety_answers_keep_every_number() -> None:
    responses = _responses()
    for name in ("utter_crisis", "utter_crisis_stay", "utter_follow_up_not_better"):
        for desk in DESKS:
            for variant in _rasa_choices(responses[name], {"desk": desk, "language": "en"}):
                text = variant["text"]
                numbers = ("110", "120", "12356", "12355") if desk == "12355" else ("110", "120", "12356")
                assert all(n in text for n in numbers), (name, desk, text)
    crisis = _rasa_choices(responses["utter_crisis"], {"desk": "12345", "language": "en"})[0]["text"]
    assert "psychological assistance hotline" in crisis and "staff on duty" in crisis


def test_the_language_slot_is_filled_on_every_message_by_its_custom_action() -> None:
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    slot = domain["slots"]["language"]
    assert (slot["type"], slot["values"], slot["initial_value"], slot["influence_conversation"]) == (
        "categorical",
        ["zh", "en"],
        "zh",
        False,
    )
    assert slot["mappings"] == [{"type": "custom", "action": "action_extract_language"}]
    assert "action_extract_language" in domain["actions"]
