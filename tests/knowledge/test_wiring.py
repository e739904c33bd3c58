"""The knowledge app is installed, its pages are routed and its API operations mounted."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def test_the_knowledge_app_is_wired() -> None:
    from infogerance.api import api

    assert "infogerance.knowledge" in settings.INSTALLED_APPS

    assert reverse("knowledge:articles") == "/knowledge/"
    paths = api.get_openapi_schema()["paths"]
    assert {"/api/v1/articles", "/api/v1/articles/{article_id}/revise"} <= set(paths)
