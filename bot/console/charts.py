"""Small inline SVG charts: no CDN, no JavaScript, readable by screen readers (title + desc + table).

Colours are presentation attributes (the console's CSP allows no inline style), taken from the
console palette; every chart also has a data table next to it in the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR = "#0b5cad"
ALERT = "#b00020"
INK = "#1a1a1a"
GRID = "#767676"
_ids = itertools.count(1)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(
    points: Sequence[tuple[str, float]],
    title: str,
    *,
    width: int = 720,
    height: int = 200,
    highlight: set[str] | None = None,
) -> Markup:
    """Vertical bars (e.g. tickets per day); `highlight` labels are drawn in the alert colour."""
    uid = f"chart{next(_ids)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{uid}-t {uid}-d">',
        f'<title id="{uid}-t">{escape(title)}</title>',
    ]
    if not points:
        parts.append(f'<desc id="{uid}-d">没有数据</desc>')
        parts.append(f'<text x="10" y="{height // 2}" fill="{INK}" font-size="14">没有数据</text></svg>')
        return Markup("".join(parts))
    peak = max(v for _, v in points) or 1
    total = sum(v for _, v in points)
    parts.append(f'<desc id="{uid}-d">{len(points)}项，合计{_fmt(total)}，最高{_fmt(peak)}</desc>')
    left, right, bottom, top = 36, 24, 22, 10
    plot_h = height - bottom - top
    step = (width - left - right) / len(points)
    bar_w = max(1.0, step * 0.8)
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{GRID}"/>')
    parts.append(
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" fill="{INK}" font-size="11">{_fmt(peak)}</text>'
    )
    parts.append(f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="{INK}" font-size="11">0</text>')
    label_every = max(1, len(points) // 8)
    for i, (label, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * step + (step - bar_w) / 2
        colour = ALERT if highlight and label in highlight else BAR
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{escape(label)}：{_fmt(value)}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="{INK}" '
                f'font-size="11">{escape(label[-5:])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(points: Sequence[tuple[str, float]], title: str, *, width: int = 720, row: int = 22) -> Markup:
    """Horizontal bars with their labels (categories, reasons): long Chinese labels stay readable."""
    uid = f"chart{next(_ids)}"
    height = max(row * len(points) + 8, 30)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{uid}-t {uid}-d">',
        f'<title id="{uid}-t">{escape(title)}</title>',
    ]
    if not points:
        parts.append(f'<desc id="{uid}-d">没有数据</desc>')
        parts.append(f'<text x="10" y="20" fill="{INK}" font-size="14">没有数据</text></svg>')
        return Markup("".join(parts))
    peak = max(v for _, v in points) or 1
    parts.append(f'<desc id="{uid}-d">{len(points)}项，最高{_fmt(peak)}</desc>')
    label_w, value_w = 200, 50
    plot_w = width - label_w - value_w
    for i, (label, value) in enumerate(points):
        y = 4 + i * row
        w = plot_w * value / peak
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" fill="{INK}" font-size="12">'
            f"{escape(short)}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 6}" fill="{BAR}">'
            f"<title>{escape(label)}：{_fmt(value)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{y + row * 0.65:.1f}" fill="{INK}" font-size="12">{_fmt(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
