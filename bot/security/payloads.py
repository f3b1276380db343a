"""A leading "/" from a person is words, unless it is a button the bot offered (issue 18, item 4).

Rasa reads a message that starts with "/" as an intent with entities ('/affirm', '/inform{"x": 1}'),
skipping NLU. Buttons rely on that: their payloads are such strings, and the web chat, Telegram and
integrations send the payload back as the message. Anything else a person types with a leading "/"
(guessing '/stop', '/restart', '/inform{...}') must reach Rasa as text, like the safety intents
already do (gateway.service._RESERVED_PAYLOAD). So a "/" message passes as a payload only when it is
exactly one of the payloads of the buttons recently sent in that same conversation (gw_outbound).
"""

from __future__ import annotations

from collections.abc import Collection

OFFERED_WINDOW = 20
"""How many of the conversation's latest messages with buttons count as 'offered' (a person may press an
older button still on screen)."""


def looks_like_payload(text: str) -> bool:
    return text.lstrip().startswith("/")


def as_person_text(text: str, offered: Collection[str]) -> str:
    """`text` unchanged when it is an offered payload or has no leading "/"; otherwise without the slashes."""
    stripped = text.strip()
    if not stripped.startswith("/") or stripped in offered:
        return text
    return stripped.lstrip("/").lstrip()
