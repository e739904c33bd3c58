"""Shared by the benchmark scripts: record a section of figures in docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nFigures written by the scripts in `benchmarks/`.\n\n"


def write_section(heading_prefix: str, lines: list[str]) -> None:
    """Replace the section whose heading starts with ``heading_prefix`` (``### …``) by
    ``lines``, keeping every other section."""
    text = TARGET.read_text(encoding="utf-8") if TARGET.exists() else HEADER
    kept = [
        block
        for block in text.split("\n### ")
        if not ("### " + block).startswith(heading_prefix)
        and not block.startswith(heading_prefix[4:])
    ]
    text = "\n### ".join(kept).rstrip() + "\n\n" + "\n".join(lines)
    TARGET.write_text(text, encoding="utf-8")
