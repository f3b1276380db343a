"""The person's request inside a ticket summary: what lessons teach and what category suggestions rank."""

from __future__ import annotations

from bot.privacy import mask

MAX_EXAMPLE_CHARS = 500
"""Longer requests are cut: the classifier reads a title and the first 300 characters anyway."""
FORM_LINES = ("地点：", "开始时间：", "涉及：", "方便联系的时间：", "（此前在登记：", "（回答前台的关怀询问：")
"""Summary lines added after the request itself: the ticket form's (bot/intake/records.py) and a
crisis ticket's notes (actions/safety.py)."""


def request_text(summary_redacted: str) -> str:
    """The person's request from a ticket summary, masked, without the form's extra lines, cut to size."""
    lines = [line for line in (summary_redacted or "").splitlines() if not line.startswith(FORM_LINES)]
    return mask("\n".join(lines).strip())[:MAX_EXAMPLE_CHARS].strip()
