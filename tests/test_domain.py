"""domain.yml's responses: the youth desk is spoken to as 你, never as the formal 您."""

from __future__ import annotations

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
