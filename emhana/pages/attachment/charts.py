"""Charts of the Fund's dashboard drawn on the server as inline SVG: no script, no library, no CDN.

Every label is escaped here; the result is safe markup for the templates. Each chart carries a
<title> and role="img" so that screen readers announce it; the pages repeat the figures in a table.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR = "#0b6e69"
ACCENT = "#c9862b"
INK = "#1c2b33"
MUTED = "#56666f"
GRID = "#d8e0e4"


def _nice_max(value: int) -> int:
    """Return a round axis maximum at or above a value (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def column_chart(points: Sequence[tuple[str, int]], *, title: str, width: int = 720, height: int = 240) -> Markup:
    """Draw vertical bars, one per labelled point (for example applications per day)."""
    left, right, top, bottom = 44, 10, 12, 34
    inner_w, inner_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((n for _, n in points), default=0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    ticks = top_value if top_value <= 5 else 5
    for i in range(ticks + 1):
        value = top_value * i // ticks
        y = top + inner_h - inner_h * i / ticks
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}">{value}</text>'
        )
    count = max(1, len(points))
    slot = inner_w / count
    bar_w = max(2.0, min(36.0, slot * 0.7))
    every = max(1, round(count / 12))
    for i, (label, n) in enumerate(points):
        h = inner_h * n / top_value
        x = left + slot * i + (slot - bar_w) / 2
        y = top + inner_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="{BAR}" rx="2"><title>{escape(label)}: {n}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="11" fill="{INK}">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{top + inner_h}" x2="{width - right}" y2="{top + inner_h}" stroke="{MUTED}"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 -- every label above went through html.escape


# A label's glyphs are about this wide at 12px (DejaVu/Liberation Sans, Cyrillic capitals included): long labels
# wrap to the next line at this estimate, so no label runs out of the drawing however the names are spelled.
GLYPH_WIDTH = 7.6
LINE_HEIGHT = 15


def wrap_label(label: str, width: int) -> list[str]:
    """Split a label into lines that fit a chart's width (at a space where one is; a long word is cut)."""
    per_line = max(10, int(width / GLYPH_WIDTH))
    return textwrap.wrap(label, per_line, break_on_hyphens=False) or [""]


def bar_chart(rows: Sequence[tuple[str, int]], *, title: str, width: int = 720, accent: bool = False) -> Markup:
    """Draw horizontal bars, each under its label (for example flows or refusal reasons), largest first; a long
    label wraps onto more lines and is never cut."""
    top = 4
    top_value = max((n for _, n in rows), default=0) or 1
    inner_w = width - 60
    color = ACCENT if accent else BAR
    body: list[str] = []
    y = top
    for label, n in rows:
        lines = wrap_label(label, width)
        w = max(2.0, inner_w * n / top_value)
        spans = "".join(
            f'<tspan x="0" dy="{0 if i == 0 else LINE_HEIGHT}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        bar_y = y + 6 + LINE_HEIGHT * len(lines)
        body.append(
            f'<text class="label" x="0" y="{y + 14}" font-size="12" fill="{INK}">{spans}</text>'
            f'<rect class="bar" x="0" y="{bar_y}" width="{w:.1f}" height="16" fill="{color}" rx="2">'
            f"<title>{escape(label)}: {n}</title></rect>"
            f'<text x="{w + 6:.1f}" y="{bar_y + 13}" font-size="12" font-weight="600" fill="{INK}">{n}</text>'
        )
        y = bar_y + 16 + 10
    height = max(y, 46) + top
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 -- every label above went through html.escape
