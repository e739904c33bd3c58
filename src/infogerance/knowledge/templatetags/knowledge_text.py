from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from infogerance.knowledge.text import excerpt, render_body

register = template.Library()


@register.filter
def article_body(text: str) -> SafeString:
    """An article's text as safe HTML (escaped, with a Markdown-like subset)."""
    return render_body(str(text))


@register.filter
def search_excerpt(text: str, query: str) -> SafeString:
    """A piece of the text around the searched words, the words marked."""
    return excerpt(str(text), str(query or ""))
