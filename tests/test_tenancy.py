"""Organisation and people management through the web UI and the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from infogerance.core.testing.audit import audit_expected
from infogerance.tenancy import services
from infogerance.tenancy.models import Membership, Organization
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def can_log_in(email: str, password: str) -> bool:
    response = Client().post("/accounts/login/", {"username": email, "password": password})
    return response.status_code == 302


def test_provider_admin_creates_a_client(world: Any, login: Any) -> None:
    client = login(world.user("p_admin"))
    url = reverse("tenancy:client_create", kwargs={"org_id": world.provider.pk})
    with audit_expected("organization.create", actor_id=world.user("p_admin").pk):
        response = client.post(
            url,
            {
                "name": "Client C",
                "legal_name": "C SARL",
                "registration_id": "999 888 777",
                "country": "fr",
            },
        )
    created = Organization.objects.get(name="Client C")
    assert response.status_code == 302
    assert response["Location"] == reverse("tenancy:organization", kwargs={"org_id": created.pk})
    assert (created.provider_id, created.country, created.registration_id) == (
        world.provider.pk,
        "FR",
        "999888777",
    )


def test_invalid_client_form_changes_nothing(world: Any, login: Any) -> None:
    client = login(world.user("p_admin"))
    before = Organization.objects.count()
    url = reverse("tenancy:client_create", kwargs={"org_id": world.provider.pk})
    response = client.post(
        url, {"name": "", "country": "France"}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "name" in errors and "country" in errors
    assert Organization.objects.count() == before


def test_client_manager_invites_a_colleague(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.user("a_manager"))
    url = reverse("tenancy:member_invite", kwargs={"org_id": world.victim.pk})
    with django_capture_on_commit_callbacks(execute=True), audit_expected("membership.create"):
        response = client.post(
            url,
            {
                "email": "colleague@a.example",
                "full_name": "Colleague",
                "role": "client_user",
                "language": "en",
            },
        )
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="colleague@a.example")
    assert (membership.organization_id, membership.role) == (world.victim.pk, "client_user")
    assert not membership.user.has_usable_password()
    assert mailoutbox[0].to == ["colleague@a.example"]
    # The invitation link lets the person choose a password, then log in.
    link = next(x for x in mailoutbox[0].body.splitlines() if "/password/reset/" in x)
    browser = Client()
    page = browser.get("/" + link.split("://", 1)[1].split("/", 1)[1], follow=True)
    with audit_expected("password.invitation"):
        browser.post(
            page.redirect_chain[-1][0],
            {"new_password1": "my-own-password-11", "new_password2": "my-own-password-11"},
        )
    assert can_log_in("colleague@a.example", "my-own-password-11")


def test_deactivation_blocks_login_and_tokens(world: Any, login: Any, api_token: Any) -> None:
    target = world.user("a_user")
    token = api_token(target)
    admin = login(world.user("a_manager"))
    with audit_expected("user.update", target_id=str(target.pk)) as seen:
        response = admin.post(
            reverse("tenancy:user_active", kwargs={"user_id": target.pk}), {"active": "0"}
        )
    assert response.status_code == 302
    assert seen.event.before == {"is_active": True}
    assert seen.event.after == {"is_active": False}
    assert not can_log_in(target.email, PASSWORD)
    assert Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/me").status_code == 401


def test_a_client_manager_cannot_deactivate_provider_staff(world: Any) -> None:
    # Provider staff are not members of the client: outside the manager's management.
    with pytest.raises(PermissionDenied):
        services.update_user(
            world.user("p_engineer"), actor=world.user("a_manager"), is_active=False
        )


def test_nobody_deactivates_themselves(world: Any) -> None:
    admin = world.user("p_admin")
    with pytest.raises(ValidationError):
        services.update_user(admin, actor=admin, is_active=False)


def test_members_page_offers_only_allowed_actions(world: Any, login: Any) -> None:
    page = login(world.user("a_user")).get(
        reverse("tenancy:organization", kwargs={"org_id": world.victim.pk})
    )
    assert page.status_code == 200
    assert b"/remove/" not in page.content and b"/members/new/" not in page.content
    manager_page = login(world.user("a_manager")).get(
        reverse("tenancy:organization", kwargs={"org_id": world.victim.pk})
    )
    assert b"/members/new/" in manager_page.content
    assert f"/users/{world.user('a_user').pk}/active/".encode() in manager_page.content


def test_home_page_per_role(world: Any, login: Any) -> None:
    provider_home = login(world.user("p_admin")).get("/").content.decode()
    assert "Client B" in provider_home and world.victim.name in provider_home
    assert "/clients/new/" in provider_home
    client_home = login(world.user("b_user")).get("/").content.decode()
    assert "Client B" in client_home and world.victim.name not in client_home
    assert "/clients/new/" not in client_home
