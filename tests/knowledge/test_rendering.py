"""An article's text is shown as text: every character escaped, then a small Markdown-like
subset (headings, lists, code, bold) added. No HTML gets through."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from infogerance.knowledge.models import Visibility
from infogerance.knowledge.text import render_body

ATTACK = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.mark.django_db
def test_a_script_in_an_article_is_shown_as_text(world: Any, write: Any, login: Any) -> None:
    article = write(
        world.victim,
        f"Titre {ATTACK}",
        f"Avant\n{ATTACK}\n```\n{ATTACK}\n```\n- **{ATTACK}**\n`{ATTACK}`",
        visibility=Visibility.CLIENT,
    )
    for url in (
        reverse("knowledge:article", kwargs={"article_id": article.pk}),
        reverse("knowledge:article_version", kwargs={"article_id": article.pk, "number": 1}),
        reverse("knowledge:articles") + "?q=script",
    ):
        body = login(world.user("a_user")).get(url).content.decode()
        assert "<script>alert" not in body, url
        assert "<img src=x" not in body, url
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body, url


def test_the_markdown_like_subset() -> None:
    text = (
        "# Procédure\n"
        "Première ligne\nseconde ligne\n\n"
        "- un\n* deux\n"
        "1. premier\n2) second\n"
        "```\n<b>code</b>  garde   les espaces\n```\n"
        "Un `<tag>` et du **gras <i>**."
    )
    assert render_body(text) == (
        "<h3>Procédure</h3>\n"
        "<p>Première ligne<br>seconde ligne</p>\n"
        "<ul><li>un</li><li>deux</li></ul>\n"
        "<ol><li>premier</li><li>second</li></ol>\n"
        "<pre><code>&lt;b&gt;code&lt;/b&gt;  garde   les espaces</code></pre>\n"
        "<p>Un <code>&lt;tag&gt;</code> et du <strong>gras &lt;i&gt;</strong>.</p>"
    )


def test_an_unclosed_code_block_runs_to_the_end() -> None:
    assert render_body("avant\n```\n<x>") == "<p>avant</p>\n<pre><code>&lt;x&gt;</code></pre>"


def test_no_link_and_no_attribute_survives() -> None:
    html = render_body('[x](javascript:alert(1)) <a href="javascript:alert(1)">y</a> "q" \'s\'')
    assert "<a" not in html
    assert "&lt;a href=&quot;javascript:alert(1)&quot;&gt;" in html
    assert "&#x27;s&#x27;" in html
