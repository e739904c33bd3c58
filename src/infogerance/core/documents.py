"""Printable documents: the chart drawn in reports, and HTML laid out as PDF by WeasyPrint.

Documents fetch nothing: every resource is inside the document, and the URL fetcher refuses
anything else (a link in a contract's text, a remote font), so rendering never touches the
network. Used by the monthly service report (sla) and the technical audit (inventory).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

TREND_WIDTH, TREND_HEIGHT, TREND_PAD = 120, 32, 3
TARGET_COLOUR, LINE_COLOUR = "#b91c1c", "#1d4ed8"
PRINT_CSS = Path(__file__).resolve().parent / "static" / "infogerance" / "css" / "report-print.css"

Number = Decimal | float | int


# --- Charts -------------------------------------------------------------------------


def _coordinate(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros: 36, 20.5, 7.33."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _plain(value: Number) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return _coordinate(float(value))


def trend_svg(
    points: Sequence[tuple[str, Number | None]],
    target: Number | None,
    *,
    title: str = "",
    width: int = TREND_WIDTH,
    height: int = TREND_HEIGHT,
    pad: int = TREND_PAD,
) -> str:
    """A small line chart of ``points`` (label, value or ``None`` for a month without data),
    oldest first, evenly spaced, with a dashed horizontal line at ``target``.

    The vertical scale runs from the lowest to the highest of the values and the target
    (one unit either side when they are all equal), inside ``pad`` pixels of margin:
    ``x(i) = pad + i × (width − 2·pad) / (n − 1)``, ``y(v) = pad + (high − v) / (high − low)
    × (height − 2·pad)``. Consecutive known values are joined; a month without data breaks
    the line. Every text is escaped: the result can go into a page as it is.
    """
    known = [(i, float(v)) for i, (_label, v) in enumerate(points) if v is not None]
    scale = [v for _i, v in known] + ([float(target)] if target is not None else [])
    low, high = (min(scale), max(scale)) if scale else (0.0, 1.0)
    if high == low:
        low, high = low - 1, high + 1
    count = len(points)
    span_x, span_y = width - 2 * pad, height - 2 * pad

    def x(index: int) -> str:
        return _coordinate(pad + (span_x * index / (count - 1) if count > 1 else span_x / 2))

    def y(value: float) -> str:
        return _coordinate(pad + (high - value) / (high - low) * span_y)

    if not title:
        listed = [f"{name}: {_plain(v)}" for name, v in points if v is not None]
        if target is not None:
            listed.append(f"→ {_plain(target)}")
        title = "; ".join(listed)
    name = html.escape(title, quote=True)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{name}">',
        f"<title>{name}</title>",
    ]
    if target is not None:
        level = y(float(target))
        parts.append(
            f'<line class="trend-target" x1="{pad}" y1="{level}" x2="{width - pad}" '
            f'y2="{level}" stroke="{TARGET_COLOUR}" stroke-width="1" stroke-dasharray="3 2"/>'
        )
    runs: list[list[tuple[int, float]]] = []
    for index, value in known:
        if runs and runs[-1][-1][0] == index - 1:
            runs[-1].append((index, value))
        else:
            runs.append([(index, value)])
    for run in runs:
        if len(run) > 1:
            line = " ".join(f"{x(i)},{y(v)}" for i, v in run)
            parts.append(
                f'<polyline class="trend-line" points="{line}" fill="none" '
                f'stroke="{LINE_COLOUR}" stroke-width="1.5"/>'
            )
    for index, value in known:
        radius = "2.5" if index == count - 1 else "1.5"
        raw = points[index][1]
        tip = html.escape(
            f"{points[index][0]}: {_plain(value if raw is None else raw)}", quote=True
        )
        parts.append(
            f'<circle class="trend-point" cx="{x(index)}" cy="{y(value)}" r="{radius}" '
            f'fill="{LINE_COLOUR}"><title>{tip}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- PDF ---


def refuse_fetch(url: str) -> Any:
    """WeasyPrint's URL fetcher for documents: every resource is in the document; anything
    else (a URL in a contract's text, a remote font) is refused, never fetched."""
    raise ValueError(f"the document fetches nothing: {url[:200]}")


def no_network_fetcher() -> Any:
    import weasyprint  # type: ignore[import-untyped]

    if not hasattr(weasyprint, "URLFetcher"):  # WeasyPrint < 66: a plain function
        return refuse_fetch

    class NoNetwork(weasyprint.URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            return refuse_fetch(url)

    return NoNetwork()


def render_document(context: dict[str, Any], language: str, template: str) -> Any:
    """The print ``template`` of ``context`` laid out in pages (a WeasyPrint ``Document``)."""
    import weasyprint

    with translation.override(language):
        text = render_to_string(template, {**context, "language": language, "print": True})
    fetcher = no_network_fetcher()
    # The base is a directory that holds nothing the template refers to: relative URLs
    # resolve somewhere harmless, and the fetcher refuses them anyway.
    base = PRINT_CSS.parent.as_uri() + "/"
    stylesheet = weasyprint.CSS(
        string=PRINT_CSS.read_text(encoding="utf-8"), base_url=base, url_fetcher=fetcher
    )
    return weasyprint.HTML(string=text, base_url=base, url_fetcher=fetcher).render(
        stylesheets=[stylesheet]
    )


def render_pdf(context: dict[str, Any], language: str, template: str) -> bytes:
    """``template`` rendered with ``context`` in ``language``, as a PDF (A4)."""
    pdf: bytes = render_document(context, language, template).write_pdf()
    return pdf
