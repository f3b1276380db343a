"""How a triage output is scored against a hand-labelled row (shared by eval and the tuning scripts)."""

from __future__ import annotations

from typing import Any

SAFETY_ROUTES = ("crisis", "emergency")


def route_correct(row: dict[str, Any], output: dict[str, Any]) -> bool:
    """The spec's route accuracy: the output route is one of the row's accepted answers."""
    accept = row.get("accept") or [row["route"]]
    return output.get("route") in accept


def channel_correct(row: dict[str, Any], output: dict[str, Any]) -> bool | None:
    """For refer/emergency rows whose route was right: is the channel the labelled one? None if n/a."""
    if row.get("route") not in ("refer", "emergency") or not row.get("channel"):
        return None
    if output.get("route") != row["route"]:
        return None
    return output.get("channel") == row["channel"]


def flagged(output: dict[str, Any]) -> bool:
    """Routed to crisis or emergency (what safety recall and false alarms count)."""
    return output.get("route") in SAFETY_ROUTES
