"""Line charts as inline SVG, drawn on the server: no chart library in the page, nothing to download."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 560, 220, 36
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def line_chart(title: str, series: dict[str, list[tuple[float, float]]], y_label: str = "") -> str:
    """An SVG with one polyline per series (x = step), axes labelled with their ranges."""
    points = [p for pts in series.values() for p in pts if p[1] is not None]
    if not points:
        return f'<p class="muted">{escape(title)}: no data yet</p>'
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(0.0, min(ys)), max(ys) if max(ys) > min(0.0, min(ys)) else 1.0

    def sx(x):
        return PAD + (x - x0) / (x1 - x0) * (WIDTH - 2 * PAD)

    def sy(y):
        return HEIGHT - PAD - (y - y0) / (y1 - y0) * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD}" y="16" class="title">{escape(title)}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        f'<text x="{PAD}" y="{HEIGHT - 8}" class="tick">step {x0:g}</text>',
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" class="tick" text-anchor="end">{x1:g}</text>',
        f'<text x="4" y="{HEIGHT - PAD}" class="tick">{y0:.3g}</text>',
        f'<text x="4" y="{PAD}" class="tick">{y1:.3g}</text>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" class="tick" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts if y is not None)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
        parts.append(
            f'<text x="{WIDTH - PAD}" y="{PAD + 12 * i}" text-anchor="end" class="legend" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
