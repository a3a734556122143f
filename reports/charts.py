"""Server-rendered SVG charts for the report pages: a line chart over periods and a
horizontal bar chart per group.

No script and no colours in the markup: series are classes (``s0``, ``s1`` …) coloured by
CSS variables and text uses ``currentColor``, so the light and dark themes both read well.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reports.registry import Chart
from reports.table import Table

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 44, 14, 40
MAX_BARS = 20
LABEL_WIDTH = 190


def number(value: Any) -> float:
    """A cell as a number to plot: durations in hours, nothing as zero."""
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds() / 3600
    return float(value)


def nice_ceiling(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.1f}"


def _label(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value if value is not None else "—")


def render(chart: Chart, table: Table, title: str) -> SafeString:
    """The chart as an accessible SVG figure with an HTML legend."""
    rows = list(table.rows)
    names = {c.key: c.label for c in table.columns}
    x = table.column(chart.x)
    series = [(names[key], table.column(key)) for key in chart.series]
    if chart.kind == "line":
        svg = _line(rows, x, series, title)
    else:
        svg = _bars(rows[:MAX_BARS], x, series, title)
    legend = "".join(
        f'<li><span class="swatch s{n}"></span>{escape(label)}</li>'
        for n, (label, _) in enumerate(series)
    )
    return mark_safe(  # noqa: S308 - every value above is escaped or a number
        f'<figure class="chart" data-chart="{chart.kind}">{svg}'
        f'<ul class="legend">{legend}</ul></figure>'
    )


def _open(title: str, height: int) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )


def _line(rows: list[tuple[Any, ...]], x: int, series: list[tuple[str, int]], title: str) -> str:
    top = nice_ceiling(max((number(r[i]) for r in rows for _, i in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(rows) - 1, 1)
    parts = [_open(title, HEIGHT)]
    for n in range(5):
        value = top * n / 4
        y = TOP + plot_h - plot_h * n / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_fmt(value)}</text>'
        )
    every = max(1, math.ceil(len(rows) / 8))
    for n, row in enumerate(rows):
        if n % every == 0:
            parts.append(
                f'<text class="axis" x="{LEFT + n * step:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                f'text-anchor="middle">{escape(_label(row[x]))}</text>'
            )
    for s, (label, i) in enumerate(series):
        points = [
            (LEFT + n * step, TOP + plot_h - plot_h * number(row[i]) / top)
            for n, row in enumerate(rows)
        ]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(
            f'<polyline class="line s{s}" points="{path}"><title>{escape(label)}</title></polyline>'
        )
        if len(points) <= 62:
            for (px, py), row in zip(points, rows, strict=True):
                tip = f"{label}, {_label(row[x])}: {_fmt(number(row[i]))}"
                parts.append(
                    f'<circle class="dot s{s}" cx="{px:.1f}" cy="{py:.1f}" r="3">'
                    f"<title>{escape(tip)}</title></circle>"
                )
    parts.append("</svg>")
    return "".join(parts)


def _bars(rows: list[tuple[Any, ...]], x: int, series: list[tuple[str, int]], title: str) -> str:
    bar, gap = 12, 10
    group = bar * len(series) + gap
    height = TOP + BOTTOM // 2 + max(len(rows), 1) * group
    top = nice_ceiling(max((number(r[i]) for r in rows for _, i in series), default=0))
    plot_w = WIDTH - LABEL_WIDTH - RIGHT - 50
    parts = [_open(title, height)]
    for n, row in enumerate(rows):
        y0 = TOP + n * group
        name = _label(row[x])
        short = name if len(name) <= 28 else name[:27] + "…"
        parts.append(
            f'<text class="axis" x="{LABEL_WIDTH - 8}" y="{y0 + group / 2 - 1:.1f}" '
            f'text-anchor="end"><title>{escape(name)}</title>{escape(short)}</text>'
        )
        for s, (label, i) in enumerate(series):
            value = number(row[i])
            w = plot_w * value / top
            y = y0 + s * bar
            parts.append(
                f'<rect class="bar s{s}" x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" '
                f'height="{bar - 2}"><title>{escape(f"{label}: {_fmt(value)}")}</title></rect>'
                f'<text class="value" x="{LABEL_WIDTH + w + 4:.1f}" '
                f'y="{y + bar - 3}">{_fmt(value)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
