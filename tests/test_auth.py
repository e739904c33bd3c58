"""Login, failed logins, throttling, second factor, password reset: audited, clear, safe."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from infogerance.accounts import services
from infogerance.audit.models import AuditEvent
from infogerance.core.testing.audit import audit_expected
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def login_post(client: Client, email: str, password: str) -> Any:
    return client.post(
        LOGIN, {"username": email, "password": password}, headers={"Accept-Language": "en"}
    )


def test_login_and_logout_are_audited(world: Any) -> None:
    client = Client()
    user = world.user("a_manager")
    with audit_expected("auth.login", actor_id=user.pk, organization_id=world.victim.pk):
        response = login_post(client, user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    with audit_expected("auth.logout", actor_id=user.pk):
        client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_failed_login_is_audited_under_the_accounts_tenant(world: Any) -> None:
    user = world.user("a_user")
    with audit_expected("auth.login_failed", target_id=str(user.pk)) as seen:
        response = login_post(Client(), user.email, "wrong password")
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()
    assert seen.event.organization_id == world.victim.pk


def test_login_is_throttled_after_five_failures(world: Any, settings: Any) -> None:
    user = world.user("b_user")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login_post(client, user.email, "nope").status_code == 200
    with audit_expected("auth.locked_out"):
        locked = login_post(client, user.email, "nope")
    assert locked.status_code == 429
    # Even the right password is refused while the account is locked.
    assert login_post(client, user.email, PASSWORD).status_code == 429
    assert not AuditEvent.objects.filter(action="auth.login", actor_id=user.pk).exists()


def _enrol(user: Any) -> TOTPDevice:
    device = services.start_totp(user, actor=user)
    code = f"{totp(device.bin_key):06d}"
    assert services.confirm_totp(device, actor=user, token=code)
    device.refresh_from_db()
    return device


def test_second_factor_is_asked_after_the_password(world: Any) -> None:
    user = world.user("p_engineer")
    device = _enrol(user)
    client = Client()
    assert login_post(client, user.email, PASSWORD).status_code == 302
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"].startswith(reverse("accounts:otp_verify"))
    # The API's session auth is closed too until the second factor is passed.
    assert client.get("/api/v1/me").status_code == 401
    # The next time step's code is accepted (the device tolerates one step of drift).
    next_code = f"{totp(device.bin_key, t0=-30):06d}"
    with audit_expected("otp.verify", actor_id=user.pk):
        accepted = client.post(reverse("accounts:otp_verify"), {"token": next_code})
    assert accepted.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    # A second login cannot replay that code (nor the one used at enrolment).
    other = Client()
    login_post(other, user.email, PASSWORD)
    with audit_expected("otp.failed", actor_id=user.pk):
        refused = other.post(
            reverse("accounts:otp_verify"), {"token": next_code}, headers={"Accept-Language": "en"}
        )
    assert refused.status_code == 200
    assert "not valid" in refused.content.decode()
    assert other.get("/").status_code == 302


def test_an_organisation_can_require_the_second_factor(world: Any) -> None:
    from infogerance.tenancy.services import update_organization

    update_organization(world.neighbour, actor=world.user("p_admin"), require_2fa=True)
    user = world.user("b_user")
    client = Client()
    login_post(client, user.email, PASSWORD)
    response = client.get("/organizations/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_setup")
    setup = client.get(reverse("accounts:otp_setup"))
    assert setup.status_code == 200
    assert b"<svg" in setup.content
    # and it cannot be switched off while required
    device = TOTPDevice.objects.get(user=user)
    secret = base64.b32decode(setup.context["secret"])
    assert secret == device.bin_key
    client.post(reverse("accounts:otp_setup"), {"token": f"{totp(secret):06d}"})
    assert TOTPDevice.objects.get(user=user).confirmed
    client.post(reverse("accounts:otp_disable"))
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_password_reset_by_email(world: Any, mailoutbox: Any) -> None:
    user = world.user("a_user")
    client = Client()
    response = client.post(reverse("accounts:password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/password/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get("/" + path, follow=True)
    assert form_page.status_code == 200
    with audit_expected("password.reset", target_id=str(user.pk)):
        done = client.post(
            form_page.redirect_chain[-1][0],
            {"new_password1": "a-brand-new-pass-42", "new_password2": "a-brand-new-pass-42"},
        )
    assert done.status_code == 302
    assert login_post(Client(), user.email, "a-brand-new-pass-42").status_code == 302


def test_unknown_address_gets_the_same_answer(world: Any, mailoutbox: Any) -> None:
    response = Client().post(reverse("accounts:password_reset"), {"email": "nobody@x.example"})
    assert response.status_code == 302
    assert not mailoutbox


def test_password_change_validates_and_audits(world: Any, login: Any) -> None:
    user = world.user("a_manager")
    client = login(user)
    weak = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert weak.status_code == 200
    assert weak.context["form"].errors["new_password2"]
    with audit_expected("password.change", actor_id=user.pk):
        ok = client.post(
            reverse("accounts:password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": "another-long-pass-7",
                "new_password2": "another-long-pass-7",
            },
        )
    assert ok.status_code == 302


def test_tokens_from_the_profile_page(world: Any, login: Any) -> None:
    user = world.user("a_user")
    client = login(user)
    created = client.post(
        reverse("accounts:token_create"), {"name": "laptop", "scope": "read", "days": 30}
    )
    assert created.status_code == 200
    secret = created.context["secret"]
    assert secret.startswith("ifg_")
    assert secret in created.content.decode()
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert "laptop" in profile
    assert secret not in profile
    bad = client.post(reverse("accounts:token_create"), {"name": "", "scope": "x", "days": 0})
    assert bad.status_code == 400


def test_password_alone_cannot_reach_the_setup_page(world: Any) -> None:
    """With a device, the set-up page (which would replace it) needs the code first."""
    user = world.user("a_manager")
    device = _enrol(user)
    client = Client()
    login_post(client, user.email, PASSWORD)
    for method in (client.get, client.post):
        response = method(reverse("accounts:otp_setup"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:otp_verify"))
    assert TOTPDevice.objects.filter(user=user, confirmed=True).get() == device


def test_the_return_address_keeps_every_parameter(world: Any) -> None:
    user = world.user("a_user")
    _enrol(user)
    client = Client()
    login_post(client, user.email, PASSWORD)
    response = client.get("/audit/?action=auth&before=9")
    assert (
        response["Location"]
        == "/accounts/2fa/verify/?next=%2Faudit%2F%3Faction%3Dauth%26before%3D9"
    )


def test_client_address_behind_a_proxy(world: Any, settings: Any) -> None:
    """The audit trail and throttling use the address the trusted proxy saw, not a forged one."""
    settings.PROXY_HOPS = 1
    user = world.user("a_user")
    with audit_expected("auth.login_failed") as seen:
        Client().post(
            LOGIN,
            {"username": user.email, "password": "x"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
        )
    assert seen.event.ip_address == "203.0.113.7"
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    settings.PROXY_HOPS = 0
    with audit_expected("auth.login_failed") as direct:
        Client().post(
            LOGIN,
            {"username": user.email, "password": "x"},
            REMOTE_ADDR="198.51.100.4",
            HTTP_X_FORWARDED_FOR="6.6.6.6",
        )
    assert direct.event.ip_address == "198.51.100.4"
