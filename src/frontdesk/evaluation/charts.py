"""Inline SVG charts for the offline report (no scripts, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bars(items: Sequence[tuple[str, float]], *, width: int = 560, unit: str = "%") -> str:
    """Horizontal bars for rates in [0, 1]."""
    row, label_w = 24, 200
    height = row * len(items) + 10
    parts = [f'<svg class="chart" width="{width}" height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = max(0.0, min(1.0, value)) * (width - label_w - 60)
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="16" fill="#3b6fb6"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{value * 100:.1f}{unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: Sequence[float], *, label: str, bins: int = 12, width: int = 560) -> str:
    """A distribution of ``values`` (e.g. milliseconds) in equal-width bins."""
    if not values:
        return f"<p>no {escape(label)} values</p>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    height, top = 140, max(counts)
    bw = (width - 40) / bins
    parts = [f'<svg class="chart" width="{width}" height="{height + 30}" role="img">']
    for i, c in enumerate(counts):
        h = c / top * height
        x = 20 + i * bw
        parts.append(
            f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" '
            f'fill="#6a9e4f"><title>{c}</title></rect>'
        )
    parts.append(
        f'<text x="20" y="{height + 16}" font-size="11">{lo:,.0f}</text>'
        f'<text x="{width - 80}" y="{height + 16}" font-size="11">{hi:,.0f}</text>'
        f'<text x="{width / 2 - 60:.0f}" y="{height + 28}" font-size="11">{escape(label)}</text>'
        "</svg>"
    )
    return "".join(parts)
