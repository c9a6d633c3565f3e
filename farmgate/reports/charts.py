"""The dashboard's charts as small inline SVGs: no JavaScript, no fonts or files to fetch.

Drawn 360 units wide (a phone's width; the stylesheet's ``.chart`` lets them grow to 480
px), every value also written as text, so they read without colour, print as they are, and a
screen reader gets the ``<title>`` and a ``<desc>`` listing the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

WIDTH = 360
FONT = 13
INK, MUTED, GRID = "#222", "#666", "#ddd"
BAR = "#b3261e"
PALETTE = ("#b3261e", "#1b5e20", "#f9a825", "#1565c0", "#6a1b9a", "#00838f", "#8d6e63", "#9e9e9e")

Format = Callable[[float], str]
Items = Sequence[tuple[str, float]]


def plain(value: float) -> str:
    """A count with thousands separators (one decimal if it is not whole)."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _short(label: str, size: int) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def _listing(items: Items, fmt: Format) -> str:
    return "；".join(f"{label}：{fmt(value)}" for label, value in items) or "暂无数据"


def _open(ident: str, title: str, height: float, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'class="chart" role="img" aria-labelledby="{ident}-t {ident}-d" '
        f'font-family="system-ui,sans-serif" font-size="{FONT}">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
        f'<text x="4" y="16" font-weight="bold" fill="{INK}">{escape(title)}</text>',
    ]


def _empty(parts: list[str], y: float) -> str:
    parts.append(
        f'<text x="{WIDTH / 2}" y="{y}" text-anchor="middle" fill="{MUTED}">暂无数据</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(items: Items, *, title: str, ident: str, fmt: Format = plain, limit: int = 10) -> str:
    """Horizontal bars, biggest first as given: a label, a bar and the value on each row."""
    items = list(items)[:limit]
    row, top, label_w, value_w = 24, 30, 112, 80
    height = top + max(1, len(items)) * row + 6
    parts = _open(ident, title, height, _listing(items, fmt))
    if not items:
        return _empty(parts, top + 14)
    peak = max((v for _, v in items), default=0) or 1
    span = WIDTH - label_w - value_w
    for i, (label, value) in enumerate(items):
        y = top + i * row
        width = max(0.0, value) / peak * span if peak > 0 else 0
        parts.append(
            f'<text x="4" y="{y + 16}" fill="{INK}">{escape(_short(label, 8))}'
            f"<title>{escape(label)}</title></text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{BAR}"/>'
            f'<text x="{label_w + width + 4:.1f}" y="{y + 16}" fill="{INK}">'
            f"{escape(fmt(value))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(items: Items, *, title: str, ident: str, fmt: Format = plain) -> str:
    """Values over time: columns for up to 31 periods, a line for more."""
    items = list(items)
    height, top, left, bottom = 190, 30, 8, 34
    high = max((v for _, v in items), default=0)
    low = min((v for _, v in items), default=0)
    if len(items) <= 62:
        desc = _listing(items, fmt)
    else:  # too many periods to read out: the span, the extremes and the total
        peak = max(items, key=lambda item: item[1])
        desc = (
            f"{items[0][0]} 至 {items[-1][0]}，共 {len(items)} 个时间段；最高 {peak[0]}："
            f"{fmt(peak[1])}；合计 {fmt(sum(v for _, v in items))}"
        )
    parts = _open(ident, title, height, desc)
    if not items or not any(v for _, v in items):
        return _empty(parts, 100)
    high, low = max(high, 0), min(low, 0)
    span_y = (high - low) or 1
    plot_w, plot_h = WIDTH - 2 * left, height - top - bottom

    def y(v: float) -> float:
        return top + (high - v) / span_y * plot_h

    parts.append(
        f'<line x1="{left}" x2="{WIDTH - left}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="{GRID}"/>'
        f'<text x="{WIDTH - left}" y="{top - 2}" text-anchor="end" fill="{MUTED}">'
        f"最高 {escape(fmt(high))}</text>"
    )
    step = plot_w / len(items)
    if len(items) <= 31:
        for i, (label, value) in enumerate(items):
            y0, y1 = sorted((y(0), y(value)))
            parts.append(
                f'<rect x="{left + i * step + step * 0.15:.1f}" y="{y0:.1f}" '
                f'width="{step * 0.7:.1f}" height="{max(y1 - y0, 0.5):.1f}" fill="{BAR}">'
                f"<title>{escape(label)}：{escape(fmt(value))}</title></rect>"
            )
    else:
        points = " ".join(
            f"{left + (i + 0.5) * step:.1f},{y(v):.1f}" for i, (_, v) in enumerate(items)
        )
        parts.append(f'<polyline fill="none" stroke="{BAR}" stroke-width="1.5" points="{points}"/>')
    base = height - bottom + 16
    first, last = items[0][0], items[-1][0]
    parts.append(
        f'<text x="{left}" y="{base}" fill="{MUTED}">{escape(first)}</text>'
        f'<text x="{WIDTH - left}" y="{base}" text-anchor="end" fill="{MUTED}">'
        f"{escape(last)}</text>"
        f'<text x="{left}" y="{base + 14}" fill="{MUTED}">共 {len(items)} 个时间段，'
        f"合计 {escape(fmt(sum(v for _, v in items)))}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def donut_chart(
    items: Items, *, title: str, ident: str, fmt: Format = plain, limit: int = 6
) -> str:
    """Shares of a whole: a ring, and a legend giving each part's value and percentage."""
    items = [(label, value) for label, value in items if value > 0]
    if len(items) > limit:
        rest = sum(v for _, v in items[limit - 1 :])
        items = [*items[: limit - 1], ("其他", rest)]
    row, top = 20, 28
    height = max(140, top + len(items) * row + 10)
    parts = _open(ident, title, height, _listing(items, fmt))
    total = sum(v for _, v in items)
    if total <= 0:
        return _empty(parts, 80)
    cx, cy, r = 64, top + 52, 44
    circumference = 2 * math.pi * r
    offset = 0.0
    for i, (label, value) in enumerate(items):
        length = value / total * circumference
        parts.append(
            f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{PALETTE[i % len(PALETTE)]}" '
            f'stroke-width="22" stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
            f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {cx} {cy})">'
            f"<title>{escape(label)}</title></circle>"
        )
        offset += length
        y = top + i * row
        share = value / total * 100
        parts.append(
            f'<rect x="132" y="{y + 4}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="148" y="{y + 14}" fill="{INK}">{escape(_short(label, 7))} '
            f"{escape(fmt(value))}（{share:.1f}%）</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
