"""Requests with a bearer token take the short middleware path (settings.BEARER_MIDDLEWARE):
the same answers, headers, limits and language as the full path, and never a browser
session, whatever cookie comes with them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from infogerance.accounts.models import ApiToken
from infogerance.core import middleware

pytestmark = pytest.mark.django_db


def test_the_short_path_keeps_the_request_concerns_and_drops_the_browsers() -> None:
    full, short = settings.MIDDLEWARE, settings.BEARER_MIDDLEWARE
    assert full[0] == "infogerance.core.middleware.BearerShortcutMiddleware"
    # In the same order as in the full stack.
    assert [name for name in full if name in short] == short
    for needed in ("RequestContext", "BodySizeLimit", "SecurityHeaders", "locale.Locale"):
        assert any(needed in name for name in short), needed
    for browser in ("sessions", "csrf", "auth.middleware", "otp", "SecondFactor", "messages"):
        assert not any(browser in name for name in short), browser
    assert not any("axes" in name for name in short)


def test_only_bearer_api_requests_take_it(rf: Any) -> None:
    bearer = {"HTTP_AUTHORIZATION": "Bearer x"}
    assert middleware.is_bearer_api(rf.get("/api/v1/me", **bearer))
    assert middleware.is_bearer_api(rf.post("/api/agent/v1/reports", **bearer))
    assert not middleware.is_bearer_api(rf.get("/api/v1/me"))  # a session, maybe
    assert not middleware.is_bearer_api(rf.get("/api/v1/me", HTTP_AUTHORIZATION="Basic eA=="))
    assert not middleware.is_bearer_api(rf.get("/tickets/", **bearer))  # pages: never


def test_same_headers_on_both_paths(world: Any, api_token: Any, login: Any) -> None:
    by_token = Client(headers={"Authorization": f"Bearer {api_token(world.user('p_admin'))}"})
    token_answer = by_token.get("/api/v1/me")
    session_answer = login(world.user("p_admin")).get("/api/v1/me")
    assert token_answer.status_code == session_answer.status_code == 200
    assert token_answer.json() == session_answer.json()
    for header in (
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "Content-Language",
        "Permissions-Policy",
    ):
        assert token_answer.headers.get(header) == session_answer.headers.get(header), header
    assert len(token_answer.headers["X-Request-ID"]) == 32
    # Nothing of a session on the token's path: no cookie set, no answer varying with one.
    assert "sessionid" not in token_answer.cookies
    assert "Cookie" not in token_answer.headers.get("Vary", "")


def test_a_bearer_request_never_uses_the_session_that_comes_with_it(world: Any, login: Any) -> None:
    """A logged-in browser that sends a malformed bearer header is not authenticated by its
    cookie on the API: the header says the caller authenticates by token."""
    client = login(world.user("p_admin"))
    assert client.get("/api/v1/me").status_code == 200  # the session alone: fine
    refused = client.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "x"}),
        content_type="application/json",
        headers={"Authorization": "Bearer ", "Accept-Language": "en"},
    )
    assert refused.status_code == 401
    assert not ApiToken.objects.exists()


def test_limits_and_language_on_the_short_path(world: Any, api_token: Any, settings: Any) -> None:
    client = Client(headers={"Authorization": f"Bearer {api_token(world.user('p_admin'))}"})
    settings.MAX_REQUEST_BODY_BYTES = 2048
    too_big = client.post(
        "/api/v1/organizations",
        data=json.dumps({"provider_id": world.provider.pk, "name": "x" * 5000}),
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert too_big.status_code == 413
    assert "too large" in too_big.json()["detail"]
    french = client.get("/api/v1/tickets/999999", headers={"Accept-Language": "fr"})
    english = client.get("/api/v1/tickets/999999", headers={"Accept-Language": "en"})
    assert french.status_code == english.status_code == 404
    assert french.headers["Content-Language"] == "fr"
    assert english.headers["Content-Language"] == "en"
    assert french.json()["detail"] != english.json()["detail"]
