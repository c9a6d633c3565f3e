"""A temperature history as a small inline SVG: no JavaScript, a few kilobytes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH, HEIGHT, PAD = 320, 120, 24
MAX_POINTS = 160  # enough for a phone screen; keeps the page small


def _thin(points: Sequence[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """Down-sample to at most MAX_POINTS, keeping each bucket's extreme (excursions stay)."""
    if len(points) <= MAX_POINTS:
        return list(points)
    size = len(points) / MAX_POINTS
    kept = []
    for i in range(MAX_POINTS):
        bucket = points[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]
        kept.append(max(bucket, key=lambda p: abs(p[1])))
    return kept


def temperature_svg(
    points: Sequence[tuple[datetime, float]],
    *,
    low: float | None = None,
    high: float | None = None,
    title: str = "温度记录",
    spots: Sequence[tuple[datetime, float]] = (),
) -> str:
    """A line of readings with the allowed band's limits as dashed lines; ``spots`` (readings
    taken by hand at handoffs) are dots, red with a ring when outside the band, and every
    logged reading outside the band is marked the same way."""
    if not points:
        return ""
    count = len(points)
    points = _thin(sorted(points))
    values = (
        [v for _, v in points] + [v for _, v in spots] + [x for x in (low, high) if x is not None]
    )
    v_min, v_max = min(values) - 1, max(values) + 1
    times = [t.timestamp() for t, _ in points] + [t.timestamp() for t, _ in spots]
    t0, t1 = min(times), max(times)
    span_t = max(t1 - t0, 1.0)

    def x(t: datetime) -> float:
        return PAD + (t.timestamp() - t0) / span_t * (WIDTH - 2 * PAD)

    def y(v: float) -> float:
        return HEIGHT - PAD - (v - v_min) / (v_max - v_min) * (HEIGHT - 2 * PAD)

    line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f'<text x="{PAD}" y="14" font-size="11">{escape(title)}（℃）</text>',
    ]
    for limit in (low, high):
        if limit is not None:
            parts.append(
                f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" '
                f'stroke="#b3261e" stroke-dasharray="4 3"/>'
                f'<text x="{WIDTH - PAD + 2}" y="{y(limit) + 4:.1f}" '
                f'font-size="10">{limit:g}</text>'
            )
    parts.append(f'<polyline fill="none" stroke="#1b5e20" stroke-width="1.5" points="{line}"/>')

    def outside(v: float) -> bool:
        return (high is not None and v > high) or (low is not None and v < low)

    for t, v in [p for p in points if outside(p[1])]:
        parts.append(
            f'<circle class="out" cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5" fill="#b3261e"/>'
        )
    for t, v in spots:
        colour = "#b3261e" if outside(v) else "#1b5e20"
        ring = ' stroke="#000" stroke-width="1"' if outside(v) else ""
        parts.append(
            f'<circle class="spot{" out" if outside(v) else ""}" cx="{x(t):.1f}" '
            f'cy="{y(v):.1f}" r="4" fill="{colour}"{ring}><title>{v:g} ℃</title></circle>'
        )
    parts.append(
        f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="10">{min(v for _, v in points):.1f}～'
        f"{max(v for _, v in points):.1f} ℃，{count} 个读数</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
