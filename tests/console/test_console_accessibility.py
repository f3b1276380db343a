"""Accessibility of the main pages without a browser: labels, SVG titles, colour contrast, language, focus style.

(The browser test checks the same labels live, and that keyboard focus is visible.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from console_support import Staff, login
from starlette.testclient import TestClient

from bot.tickets.models import Ticket

CSS = Path(__file__).resolve().parents[2] / "bot" / "console" / "static" / "console.css"
# (text, background) pairs the stylesheet actually uses for text
PAIRS = [
    ("fg", "bg"),
    ("fg", "surface"),
    ("muted", "bg"),
    ("muted", "surface"),
    ("accent", "bg"),
    ("accent", "surface"),
    ("on-accent", "accent"),
    ("danger", "bg"),
    ("on-danger", "danger"),
    ("ok-fg", "ok-bg"),
    ("warn-fg", "warn-bg"),
]


def palette() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS.read_text(encoding="utf-8"))
    assert root
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", root.group(1)))


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_main_colours_have_at_least_4_5_to_1_contrast(text: str, background: str) -> None:
    colours = palette()
    ratio = contrast(colours[text], colours[background])
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}:1"


def test_the_focus_ring_is_visible_against_the_background() -> None:
    colours = palette()
    assert contrast(colours["focus"], colours["bg"]) >= 3.0  # WCAG 1.4.11 for non-text indicators
    assert re.search(r":focus-visible\s*{[^}]*outline:\s*3px solid var\(--focus\)", CSS.read_text(encoding="utf-8"))


def test_chart_colours_are_the_palettes() -> None:
    from bot.console import charts

    colours = palette()
    assert charts.BAR.lower() == colours["accent"].lower() and charts.ALERT.lower() == colours["danger"].lower()
    assert contrast(charts.INK, colours["bg"]) >= 4.5


class FormAudit(HTMLParser):
    """Collects form controls, label targets, svg titles and images from one page."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.wrapped: set[int] = set()
        self.svgs = 0
        self.svg_titles = 0
        self.in_svg = False
        self.images_without_alt = 0
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            if self.open_labels:
                self.wrapped.add(len(self.controls))
            self.controls.append(a)
        if tag == "svg":
            self.svgs += 1
            self.in_svg = True
        if tag == "title" and self.in_svg:
            self.svg_titles += 1
            self.in_svg = False  # count the chart's own title once
        if tag == "img" and not a.get("alt"):
            self.images_without_alt += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1
        if tag == "svg":
            self.in_svg = False


def test_every_control_of_the_main_pages_has_a_label_and_every_chart_a_title(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: object
) -> None:
    ticket = new_ticket()
    store = console.store  # type: ignore[attr-defined]
    store.add_contact(ticket.id, kind="phone", value="13812345678", consent_text="同意")
    store.change_status(ticket.id, "resolved", actor="x")
    store.change_category(ticket.id, category="utilities", category_l1="城乡建设", actor="x")  # an open correction
    login(client, staff.admin)
    pages = [
        "/console/",
        f"/console/tickets/{ticket.id}",
        "/console/analytics",
        "/console/topics",
        "/console/catalogue",
        "/console/catalogue/12345/faq",
        "/console/catalogue/corrections",
        "/console/staff",
        "/console/audit",
        "/console/account",
        "/console/account/password",
        "/console/account/mfa",
    ]
    client.cookies.clear()
    login_page = client.get("/console/login").text
    login(client, staff.admin)
    for path, html in [("/console/login", login_page)] + [(p, client.get(p).text) for p in pages]:
        audit = FormAudit()
        audit.feed(html)
        assert audit.lang == "zh-CN", path
        unlabelled = [
            c.get("name")
            for i, c in enumerate(audit.controls)
            if i not in audit.wrapped and c.get("id") not in audit.label_for and not c.get("aria-label")
        ]
        assert unlabelled == [], (path, unlabelled)
        assert audit.svg_titles == audit.svgs, path
        assert audit.images_without_alt == 0, path
        assert 'class="skip"' in html, path  # a skip link to the main content
