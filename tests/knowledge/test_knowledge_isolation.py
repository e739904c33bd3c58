"""The isolation walker over the knowledge pages and API operations only (the full walk in
tests/test_isolation.py covers them too once they are wired there)."""

from __future__ import annotations

from typing import Any

import pytest

from infogerance.accounts.services import create_token
from infogerance.core.testing import isolation
from tests import test_isolation as registrations
from tests.conftest import MARKER
from tests.knowledge.walker import victim_article_id

isolation.register("article_id", victim_article_id)
outsiders = registrations.outsiders

pytestmark = pytest.mark.django_db


def test_knowledge_pages_hide_the_victim(world: Any, outsiders: dict[str, Any]) -> None:
    result = isolation.walk_urls(
        world, outsiders, marker=MARKER, skip=lambda r: not r.pattern.startswith("knowledge/")
    )
    assert not result.findings, "\n".join(map(str, result.findings))
    assert len(result.covered) == 8


def test_knowledge_api_hides_the_victim(world: Any, outsiders: dict[str, Any]) -> None:
    from infogerance.api import api

    tokens = {
        who: create_token(actor=user, name="walker", scope="write")[1]
        for who, user in outsiders.items()
    }
    schema = api.get_openapi_schema()
    schema["paths"] = {p: ops for p, ops in schema["paths"].items() if "/articles" in p}
    result = isolation.walk_api(world, tokens, marker=MARKER, schema=schema)
    assert not result.findings, "\n".join(map(str, result.findings))
    assert len(result.covered) == 9
