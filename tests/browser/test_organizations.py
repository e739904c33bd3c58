"""A provider administrator adds a client; other tenants do not see it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Records Content-Security-Policy violations the page reports (an init script is injected by
# the browser itself, so the page's CSP does not apply to it).
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def test_admin_adds_a_client_seen_by_no_other_client(page, live_server, tenants, ui_login):
    from infogerance.audit.models import AuditEvent
    from infogerance.tenancy.models import Organization

    console_errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        console_errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    page.add_init_script(CSP_RECORDER)

    def csp_violations() -> list[str]:
        return page.evaluate("window.__cspViolations")

    ui_login(page, tenants.admin.email)
    expect(page).to_have_url(f"{live_server.url}/")
    assert csp_violations() == []

    with page.expect_navigation():
        page.click("nav.main-nav a[href='/organizations/']")
    expect(page).to_have_url(f"{live_server.url}/organizations/")
    expect(page.locator("nav.main-nav a[href='/organizations/']")).to_have_attribute(
        "aria-current", "page"
    )
    assert csp_violations() == []

    with page.expect_navigation():
        page.click(f"main a[href$='/organizations/{tenants.provider.pk}/clients/new/']")
    expect(page).to_have_url(f"{live_server.url}/organizations/{tenants.provider.pk}/clients/new/")
    expect(page.locator("main h1")).to_contain_text(tenants.provider.name)

    page.fill("#id_name", "Transports Durand")
    page.fill("#id_legal_name", "Transports Durand SARL")
    page.fill("#id_registration_id", "552 100 554")
    with page.expect_navigation():
        page.click("main form.stacked button[type=submit]")

    created = Organization.objects.get(name="Transports Durand")
    expect(page).to_have_url(f"{live_server.url}/organizations/{created.pk}/")
    expect(page.locator("main h1")).to_contain_text("Transports Durand")
    expect(page.locator("ul.messages li.success")).to_contain_text("Transports Durand")
    props = page.locator("main dl.props")
    expect(props).to_contain_text("Transports Durand SARL")
    expect(props).to_contain_text("552100554")  # spaces removed by the service
    expect(props).to_contain_text(tenants.provider.name)
    assert csp_violations() == []

    assert created.kind == "client"
    assert created.provider_id == tenants.provider.pk
    assert created.legal_name == "Transports Durand SARL"
    assert created.registration_id == "552100554"
    assert created.country == "FR"
    event = AuditEvent.objects.get(
        action="organization.create", target_type="tenancy.organization", target_id=str(created.pk)
    )
    assert event.actor_id == tenants.admin.pk
    assert event.organization_id == created.pk
    assert event.provider_id == tenants.provider.pk
    assert event.after["name"] == "Transports Durand"

    # The provider's list shows it.
    page.goto(f"{live_server.url}/organizations/")
    expect(page.locator("main table.data")).to_contain_text("Transports Durand")
    page.wait_for_load_state("networkidle")
    assert csp_violations() == []
    assert console_errors == []

    # The IT manager of another client does not see it in their list.
    page.context.clear_cookies()
    ui_login(page, tenants.manager_b.email)
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/organizations/")
    table = page.locator("main table.data")
    expect(table).to_contain_text(tenants.client_b.name)
    expect(table).not_to_contain_text("Transports Durand")
    page.wait_for_load_state("networkidle")
    assert csp_violations() == []
    assert console_errors == []


def test_client_manager_does_not_see_another_client(page, live_server, tenants, ui_login):
    from infogerance.core.actors import SystemActor
    from infogerance.tenancy.roles import OrganizationKind
    from infogerance.tenancy.services import create_organization

    other = create_organization(
        actor=SystemActor("test"),
        kind=OrganizationKind.CLIENT,
        provider=tenants.provider,
        name="Transports Durand",
    )

    ui_login(page, tenants.manager_b.email)
    page.goto(f"{live_server.url}/organizations/")
    table = page.locator("main table.data")
    expect(table).to_contain_text(tenants.client_b.name)
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).not_to_contain_text("Transports Durand")
    expect(table).not_to_contain_text(tenants.client_a.name)
    expect(page.locator("main a[href$='/clients/new/']")).to_have_count(0)

    # Nor can they open it by its address.
    response = page.goto(f"{live_server.url}/organizations/{other.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("main")).not_to_contain_text("Transports Durand")
    assert not re.search(r"/accounts/login/", page.url)
