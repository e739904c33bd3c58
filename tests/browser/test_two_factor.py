"""Two-factor authentication (TOTP): enrolment, the second step at login, the org policy."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def code(key: bytes, drift: int = 0) -> str:
    """The six-digit code of the time step ``now + drift`` (steps of 30 s)."""
    return f"{totp(key, drift=drift):06d}"


def wrong_code(key: bytes) -> str:
    """A code no step near now accepts (the device tolerates one step either way)."""
    near = {code(key, drift) for drift in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_enrol_totp_then_login_asks_for_the_code(page, live_server, tenants, ui_login, ui_logout):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from infogerance.audit.models import AuditEvent

    user = tenants.manager_a
    ui_login(page, user.email)
    expect(page).to_have_url(f"{live_server.url}/")

    # Profile: the second factor is off; the set-up link leads to the enrolment page.
    page.goto(f"{live_server.url}/accounts/profile/")
    otp_section = page.locator("section[aria-labelledby='otp-title']")
    expect(otp_section.locator(".badge-warn")).to_be_visible()
    with page.expect_navigation():
        otp_section.locator("a[href$='/accounts/2fa/setup/']").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/$"))
    expect(page.locator(".qr svg")).to_be_visible()

    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]+=*", secret), secret
    key = base64.b32decode(secret)

    # A wrong code is refused at enrolment too.
    page.fill("#id_token", wrong_code(key))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator("main .errorlist")).to_be_visible()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    page.wait_for_timeout(1_200)  # OTP_TOTP_THROTTLE_FACTOR=1: one failure locks 1 s

    # The same key is still offered (the unconfirmed device is reused, not replaced).
    assert page.locator("#totp-secret").inner_text().strip() == secret
    page.fill("#id_token", code(key))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/profile/$"))
    expect(page.locator("ul.messages li.success")).to_be_visible()
    expect(otp_section.locator(".badge-ok")).to_be_visible()
    enrolment_step = TOTPDevice.objects.get(user=user, confirmed=True).last_t
    assert enrolment_step > 0  # the step used is remembered, so its code cannot be replayed
    assert AuditEvent.objects.filter(action="otp.enrol", target_id=str(user.pk)).exists()

    ui_logout(page)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))

    # The password alone is not enough any more.
    ui_login(page, user.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    expect(page.locator("#id_token")).to_be_visible()
    page.goto(f"{live_server.url}/organizations/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/\?next=%2Forganizations%2F$"))

    page.fill("#id_token", wrong_code(key))
    with page.expect_navigation():
        page.click("main form.stacked button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    expect(page.locator("main .errorlist")).to_be_visible()
    assert AuditEvent.objects.filter(action="otp.failed", target_id=str(user.pk)).exists()
    page.wait_for_timeout(1_200)  # let the 1 s throttle after a failure expire

    # The enrolment code's step cannot be replayed (last_t): use the next step's code, which
    # the device accepts thanks to its tolerance of one step.
    page.fill("#id_token", code(key, drift=1))
    with page.expect_navigation():
        page.click("main form.stacked button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/organizations/")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("main table.data")).to_contain_text(tenants.client_a.name)
    expect(page.locator("header .user-menu a[href$='/accounts/profile/']")).to_have_text(
        user.full_name
    )


def test_replayed_code_is_refused(page, live_server, tenants, ui_login, ui_logout):
    """The code used at enrolment cannot be used again to log in (replay protection)."""
    user = tenants.manager_b
    ui_login(page, user.email)
    page.goto(f"{live_server.url}/accounts/2fa/setup/")
    key = base64.b32decode(page.locator("#totp-secret").inner_text().strip())
    used = code(key)
    page.fill("#id_token", used)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/profile/$"))

    ui_logout(page)
    ui_login(page, user.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    page.fill("#id_token", used)
    with page.expect_navigation():
        page.click("main form.stacked button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    expect(page.locator("main .errorlist")).to_be_visible()


def test_organisation_requiring_2fa_sends_member_to_setup(
    page, live_server, tenants, ui_login, make_member
):
    from infogerance.core.actors import SystemActor
    from infogerance.tenancy.roles import OrganizationKind, Role
    from infogerance.tenancy.services import create_organization

    strict = create_organization(
        actor=SystemActor("test"),
        kind=OrganizationKind.CLIENT,
        provider=tenants.provider,
        name="Banque Prudente",
        require_2fa=True,
    )
    member = make_member(strict, "rssi@prudente.example", "Rémi Prudent", Role.CLIENT_USER)

    ui_login(page, member.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/$"))
    expect(page.locator("#totp-secret")).to_be_visible()
    expect(page.locator("main .badge-warn")).to_be_visible()  # "required by your organisation"

    # Every other page sends back to the set-up page until a device is confirmed.
    for path in ("/", "/organizations/", "/accounts/profile/"):
        page.goto(f"{live_server.url}{path}")
        expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/$"))

    # A member of an organisation without the requirement is not bothered.
    page.context.clear_cookies()
    other = tenants.manager_a
    ui_login(page, other.email)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_contain_text("Marc")


def test_password_alone_cannot_replace_the_device(page, live_server, tenants, ui_login, ui_logout):
    """Someone who knows only the password must not get past the second factor."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = tenants.manager_a
    ui_login(page, user.email)
    page.goto(f"{live_server.url}/accounts/2fa/setup/")
    key = base64.b32decode(page.locator("#totp-secret").inner_text().strip())
    page.fill("#id_token", code(key))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/profile/$"))
    owner_device = TOTPDevice.objects.get(user=user, confirmed=True)
    ui_logout(page)

    # The attacker logs in with the password and goes straight to the set-up page.
    ui_login(page, user.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    page.goto(f"{live_server.url}/accounts/2fa/setup/")
    if page.locator("#totp-secret").count():
        attacker_key = base64.b32decode(page.locator("#totp-secret").inner_text().strip())
        page.fill("#id_token", code(attacker_key))
        with page.expect_navigation():
            page.click("main form button[type=submit]")

    # Still unverified: the application keeps asking for the owner's code...
    page.goto(f"{live_server.url}/organizations/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"), timeout=2_000)
    # ...and the owner's device is untouched.
    assert TOTPDevice.objects.filter(pk=owner_device.pk, confirmed=True).exists()
