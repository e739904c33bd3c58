"""The user API: authentication, errors that name the field, nothing changed on bad input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from infogerance.accounts.models import ApiToken
from infogerance.core.testing.audit import audit_expected, no_audit
from infogerance.tenancy.models import Membership, Organization

pytestmark = pytest.mark.django_db

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "api" / "openapi.json"


def bearer(token: str) -> Client:
    # Messages follow Accept-Language (French by default); these tests read English ones.
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_committed_schema_is_current() -> None:
    """Every API change is deliberate: refresh docs/api/openapi.json with `make openapi`."""
    from infogerance.api import api

    current = json.dumps(api.get_openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False)
    assert SCHEMA_FILE.exists(), "run `make openapi` to write docs/api/openapi.json"
    assert SCHEMA_FILE.read_text(encoding="utf-8").strip() == current.strip(), (
        "the API changed: review the difference, then run `make openapi`"
    )


def test_schema_is_served(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Infogérance API"


def test_me_with_a_token(world: Any, api_token: Any) -> None:
    response = bearer(api_token(world.user("a_manager"))).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == world.user("a_manager").email
    assert [m["role"] for m in body["memberships"]] == ["client_manager"]


def test_anonymous_gets_401(client: Client) -> None:
    response = client.get("/api/v1/organizations", headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert "Authentication required" in response.json()["detail"]


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_expired_or_revoked_token(world: Any, api_token: Any, state: str) -> None:
    user = world.user("p_admin")
    secret = api_token(user)
    token = ApiToken.objects.get(user=user)
    if state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    else:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    with audit_expected("auth.token_rejected") as seen:
        response = bearer(secret).get("/api/v1/organizations")
    assert response.status_code == 401
    assert state in response.json()["detail"]
    assert seen.event.after == {"reason": state}
    # Filed under the owner's organisation, so its administrators see the attempt.
    assert seen.event.organization_id == world.provider.pk
    assert seen.event.target_id == str(token.pk)


def test_garbage_token_is_refused_without_flooding_the_trail(world: Any) -> None:
    with no_audit("auth.token_rejected"):
        response = bearer("ifg_0123456789ab_forged").get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is not valid."


def test_a_read_only_token_cannot_write(world: Any, api_token: Any) -> None:
    token = api_token(world.user("p_admin"), scope="read")
    count = Organization.objects.count()
    with audit_expected("access.denied"):
        response = post(
            bearer(token),
            "/api/v1/organizations",
            {"provider_id": world.provider.pk, "name": "Nope"},
        )
    assert response.status_code == 403
    assert response.json()["detail"] == "This token is read-only."
    assert Organization.objects.count() == count


def test_create_client_through_the_api(world: Any, api_token: Any) -> None:
    token = api_token(world.user("p_admin"))
    with audit_expected("organization.create"):
        response = post(
            bearer(token),
            "/api/v1/organizations",
            {
                "provider_id": world.provider.pk,
                "name": "Client C",
                "registration_id": "123 456 789",
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["provider_id"] == world.provider.pk
    assert body["kind"] == "client"
    assert body["registration_id"] == "123456789"


def test_malformed_body_names_the_fields(world: Any, api_token: Any) -> None:
    token = api_token(world.user("p_admin"))
    count = Organization.objects.count()
    response = post(
        bearer(token), "/api/v1/organizations", {"provider_id": "abc", "name": "", "colour": "blue"}
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {"provider_id", "name", "colour"} <= set(errors)
    assert Organization.objects.count() == count


def test_invalid_json_is_a_clear_error(world: Any, api_token: Any) -> None:
    response = bearer(api_token(world.user("p_admin"))).post(
        "/api/v1/organizations", data="{not json", content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert "detail" in response.json()


def test_service_validation_names_the_field(world: Any, api_token: Any) -> None:
    token = api_token(world.user("p_admin"))
    response = post(
        bearer(token),
        "/api/v1/organizations",
        {"provider_id": world.provider.pk, "name": "Client D", "country": "F1"},
    )
    assert response.status_code == 400
    assert "country" in response.json()["errors"]
    assert not Organization.objects.filter(name="Client D").exists()


def test_oversized_body_is_refused(world: Any, api_token: Any, settings: Any) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 2048
    token = api_token(world.user("p_admin"))
    response = post(
        bearer(token),
        "/api/v1/organizations",
        {"provider_id": world.provider.pk, "name": "x" * 5000},
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_permission_denied_is_403_and_audited(world: Any, api_token: Any) -> None:
    token = api_token(world.user("p_engineer"))
    with audit_expected("access.denied", actor_id=world.user("p_engineer").pk):
        response = post(
            bearer(token),
            "/api/v1/organizations",
            {"provider_id": world.provider.pk, "name": "Client E"},
        )
    assert response.status_code == 403


def test_cursor_pagination_walks_every_row_once(world: Any, api_token: Any) -> None:
    token = api_token(world.user("p_admin"))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        url = "/api/v1/memberships?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = bearer(token).get(url).json()
        seen += [m["id"] for m in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    # Provider P's tree: 3 provider staff + 3 in client A + 2 in client B = 8 memberships.
    expected = Membership.objects.exclude(organization=world.other_provider).count()
    assert expected == 8
    assert len(seen) == len(set(seen)) == expected
    assert pages == 4  # 8 rows, 2 per page; the 4th page reports no next cursor


def test_bad_cursor_and_limit(world: Any, api_token: Any) -> None:
    client = bearer(api_token(world.user("p_admin")))
    assert client.get("/api/v1/memberships?cursor=%%%").json()["errors"].keys() == {"cursor"}
    assert client.get("/api/v1/memberships?limit=0").json()["errors"].keys() == {"limit"}


def test_tokens_shown_once_and_revocable(world: Any, api_token: Any) -> None:
    client = bearer(api_token(world.user("a_manager")))
    created = post(client, "/api/v1/tokens", {"name": "backup script", "scope": "read"})
    assert created.status_code == 201
    secret = created.json()["token"]
    listed = client.get("/api/v1/tokens").json()["items"]
    assert all("token" not in item for item in listed)
    row = ApiToken.objects.get(pk=created.json()["id"])
    assert secret not in row.token_hash
    assert row.matches(secret)
    assert bearer(secret).get("/api/v1/me").status_code == 200
    assert client.delete(f"/api/v1/tokens/{row.pk}").status_code == 204
    assert bearer(secret).get("/api/v1/me").status_code == 401


def test_invite_member_through_the_api(
    world: Any, api_token: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = bearer(api_token(world.user("a_manager")))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            "/api/v1/memberships",
            {
                "organization_id": world.victim.pk,
                "email": "New.Person@A.example",
                "full_name": "New Person",
                "role": "client_user",
            },
        )
    assert response.status_code == 201, response.content
    assert response.json()["user_email"] == "new.person@a.example"
    assert len(mailoutbox) == 1
    assert "new.person@a.example" in mailoutbox[0].to
    assert "/accounts/password/reset/" in mailoutbox[0].body


def test_session_auth_requires_csrf(world: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("p_admin"))
    assert client.get("/api/v1/me").status_code == 200
    response = post(client, "/api/v1/tokens", {"name": "x"})
    assert response.status_code in (401, 403)
    assert not ApiToken.objects.exists()


def test_absurd_ids_are_refused_cleanly(world: Any, api_token: Any, login: Any) -> None:
    """An id beyond the database's integer range is a 422 (API) or 404 (pages), never a 500."""
    huge = "9" * 40
    client = bearer(api_token(world.user("p_admin")))
    assert client.get(f"/api/v1/organizations/{huge}").status_code == 422
    assert client.get(f"/api/v1/users?organization_id={huge}").status_code == 422
    body = post(
        client,
        "/api/v1/memberships",
        {"organization_id": int(huge), "email": "a@b.c", "role": "client_user"},
    )
    assert body.status_code == 422
    assert "organization_id" in body.json()["errors"]
    web = login(world.user("p_admin"))
    assert web.get(f"/organizations/{huge}/").status_code == 404
    assert web.get("/organizations/999999999999999999/").status_code == 404


def test_values_are_never_coerced(world: Any, api_token: Any) -> None:
    """0 is not false, "5" is not 5, null does not empty a field: each is a 422 on its field."""
    client = bearer(api_token(world.user("p_admin")))
    url = f"/api/v1/organizations/{world.victim.pk}"
    for body, field in [
        ({"require_2fa": 0}, "require_2fa"),
        ({"require_2fa": None}, "require_2fa"),
        ({"name": None}, "name"),
        ({"country": 33}, "country"),
    ]:
        response = client.patch(url, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 422, body
        assert field in response.json()["errors"], body
    created = post(
        client, "/api/v1/organizations", {"provider_id": str(world.provider.pk), "name": "Coerced"}
    )
    assert created.status_code == 422
    assert "provider_id" in created.json()["errors"]
    world.victim.refresh_from_db()
    assert world.victim.require_2fa is False
    assert not Organization.objects.filter(name="Coerced").exists()
    # Leaving a field out leaves it unchanged; the others change.
    ok = client.patch(url, data=json.dumps({"require_2fa": True}), content_type="application/json")
    assert ok.status_code == 200
    assert ok.json()["require_2fa"] is True
    assert ok.json()["name"] == world.victim.name


def test_schema_names_are_unique_across_apps() -> None:
    """The OpenAPI components are keyed by class name: two apps' schemas of one name would
    silently describe one operation with the other's (a token list documented as enrolment
    tokens, say)."""
    import importlib
    import inspect
    import pkgutil

    from ninja import Schema

    import infogerance

    owners: dict[str, set[str]] = {}
    for module_info in pkgutil.iter_modules(infogerance.__path__):
        if not module_info.ispkg:
            continue
        try:
            module = importlib.import_module(f"infogerance.{module_info.name}.api")
        except ModuleNotFoundError:
            continue
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Schema)
                and value.__module__ == module.__name__
            ):
                owners.setdefault(name, set()).add(module.__name__)
    assert {name: mods for name, mods in owners.items() if len(mods) > 1} == {}


def test_a_null_character_in_a_body_is_refused_naming_the_field(world: Any, api_token: Any) -> None:
    """PostgreSQL's text cannot hold NUL (the API fuzzer found a 500 on `POST /api/v1/tokens`):
    every request body refuses it, in strings and in lists of strings, before any write."""
    client = bearer(api_token(world.user("p_admin")))
    tokens = ApiToken.objects.count()
    with no_audit():
        answer = post(client, "/api/v1/tokens", {"name": "ci\x00bot", "scope": "read"})
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"name": ["Remove the null character."]}
    assert ApiToken.objects.count() == tokens
    organizations = Organization.objects.count()
    with no_audit():
        answer = post(
            client,
            "/api/v1/organizations",
            {"provider_id": world.provider.pk, "name": "Nul\x00le"},
        )
    assert answer.status_code == 422
    assert answer.json()["errors"] == {"name": ["Remove the null character."]}
    assert Organization.objects.count() == organizations
    # Text without one is untouched.
    with audit_expected("token.create"):
        answer = post(client, "/api/v1/tokens", {"name": "ci-bot", "scope": "read"})
    assert answer.status_code == 201
    # Lists and mappings of text too, in any body schema.
    import pydantic

    from infogerance.core.api import StrictSchema

    class Probe(StrictSchema):
        tags: list[str] = []
        labels: dict[str, str] = {}

    for bad in ({"tags": ["a", "b\x00"]}, {"labels": {"k\x00": "v"}}, {"labels": {"k": "\x00"}}):
        with pytest.raises(pydantic.ValidationError, match="Remove the null character"):
            Probe.model_validate(bad)
    assert Probe.model_validate({"tags": ["a"], "labels": {"k": "v"}}).tags == ["a"]
