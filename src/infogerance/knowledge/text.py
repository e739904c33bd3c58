"""Article text: folding for search, a safe Markdown-like rendering, search excerpts.

Nothing here trusts the text: every character of an article is escaped before any markup is
added, so a ``<script>`` in an article is shown as text.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_TERMS = 8
MAX_TERM = 100


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize(text: str) -> str:
    """Text folded for search: case-folded, accents removed, whitespace collapsed.

    Folding is done in Python when an article is written and when a query is read, so that
    "Imprimante", "IMPRIMANTE" and "imprimanté" match on SQLite and PostgreSQL alike.
    """
    return " ".join(_fold(text).split())


def search_terms(query: str) -> list[str]:
    """The folded words of a query, at most MAX_TERMS, each at most MAX_TERM characters."""
    terms: list[str] = []
    for word in normalize(query[:1000]).split():
        word = word[:MAX_TERM]
        if word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


# --- Rendering -------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,3})\s+(.+)$")
_BULLET = re.compile(r"^\s*[-*]\s+(.+)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+(.+)$")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_FENCE = "```"


def _inline(text: str) -> str:
    """One line: ``code`` spans and **bold**; the rest escaped."""
    parts: list[str] = []
    position = 0
    for match in _INLINE_CODE.finditer(text):
        parts.append(_BOLD.sub(r"<strong>\1</strong>", escape(text[position : match.start()])))
        parts.append(f"<code>{escape(match.group(1))}</code>")
        position = match.end()
    parts.append(_BOLD.sub(r"<strong>\1</strong>", escape(text[position:])))
    return "".join(parts)


def render_body(text: str) -> SafeString:
    """A Markdown-like subset, always escaped.

    ``#``, ``##``, ``###`` headings (shown one level under the page's own headings); ``-`` or
    ``*`` bullets; ``1.`` numbered items; a line of three backquotes opens and closes a code
    block; inline `code` and **bold**; an empty line separates paragraphs and other line
    breaks are kept. No links, images or raw HTML.
    """
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    code: list[str] | None = None

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            out.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()
        if items:
            out.append(f"<{list_tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
            list_tag = ""

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        if code is not None:
            if stripped.startswith(_FENCE):
                out.append("<pre><code>" + escape("\n".join(code)) + "</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        if stripped.startswith(_FENCE):
            flush()
            code = []
            continue
        if not stripped:
            flush()
            continue
        heading = _HEADING.match(stripped)
        if heading:
            flush()
            level = len(heading.group(1)) + 2
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            continue
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        item = bullet or numbered
        if item:
            tag = "ul" if bullet else "ol"
            if paragraph or (list_tag and list_tag != tag):
                flush()
            list_tag = tag
            items.append(_inline(item.group(1).strip()))
            continue
        if items:
            flush()
        paragraph.append(_inline(stripped))
    if code is not None:  # an unclosed block runs to the end
        out.append("<pre><code>" + escape("\n".join(code)) + "</code></pre>")
    flush()
    # Every piece of the text went through escape() above; only our own tags are added.
    return mark_safe("\n".join(out))  # noqa: S308


# --- Excerpts --------------------------------------------------------------------------------


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` folded character by character, and for each folded character the index of
    the original character it comes from."""
    folded: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = _fold(char)
        folded.append(piece)
        offsets.extend([index] * len(piece))
    return "".join(folded), offsets


def _matches(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping ranges of ``text`` (original indexes) where a term matches."""
    folded, offsets = _folded_with_offsets(text)
    found: list[tuple[int, int]] = []
    for term in terms:
        start = folded.find(term)
        while start != -1:
            found.append((offsets[start], offsets[start + len(term) - 1] + 1))
            start = folded.find(term, start + len(term))
    found.sort()
    kept: list[tuple[int, int]] = []
    for begin, end in found:
        if not kept or begin >= kept[-1][1]:
            kept.append((begin, end))
    return kept


def excerpt(text: str, query: str, width: int = 240) -> SafeString:
    """A piece of ``text`` around the first word of ``query`` it holds, with the words
    marked; escaped."""
    terms = search_terms(query)
    flat = re.sub(r"\s", " ", text)  # one character for one: indexes are kept
    matches = _matches(flat, terms) if terms else []
    start = max(0, matches[0][0] - width // 3) if matches else 0
    end = min(len(flat), start + width)
    piece = flat[start:end]
    parts: list[str] = ["…" if start > 0 else ""]
    position = 0
    for begin, stop in _matches(piece, terms) if terms else []:
        parts.append(escape(piece[position:begin]))
        parts.append(f"<mark>{escape(piece[begin:stop])}</mark>")
        position = stop
    parts.append(escape(piece[position:]))
    parts.append("…" if end < len(flat) else "")
    return mark_safe("".join(parts))  # noqa: S308  (escaped above)
