"""A client opens a ticket in the portal; a provider engineer works it to closure."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MINIMAL = Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml"


def test_client_opens_engineer_closes(
    page: Any, live_server: Any, tenants: Any, ui_login: Any, make_member: Any
) -> None:
    from infogerance.contracts.services import import_contract
    from infogerance.helpdesk.models import Ticket
    from infogerance.tenancy.roles import Role

    import_contract(
        actor=tenants.admin, client=tenants.client_a, text=MINIMAL.read_text(encoding="utf-8")
    )
    engineer = make_member(
        tenants.provider, "tech@nordline.example", "Hugo Technicien", Role.PROVIDER_ENGINEER
    )

    # The client's IT manager opens a ticket on a contracted service.
    ui_login(page, tenants.manager_a.email)
    page.goto(f"{live_server.url}/tickets/")
    page.click("a[href$='/tickets/new/']")
    from infogerance.contracts.models import Contract

    page.select_option("#id_service", f"{Contract.objects.get().pk}:INFRA")
    page.fill("#id_title", "Le serveur de fichiers ne répond plus")
    page.fill("#id_description", "Depuis 9 h, plus aucun partage n'est accessible.")
    page.select_option("#id_impact", "high")
    page.select_option("#id_urgency", "high")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Le serveur de fichiers ne répond plus")
    ticket = Ticket.objects.get()
    assert (ticket.priority, ticket.service_code, ticket.status) == ("P1", "INFRA", "new")
    expect(page.locator("#transition-form")).to_have_count(0)  # clients do not work tickets

    # The engineer takes it and works it through to restoration.
    page.context.clear_cookies()
    ui_login(page, engineer.email)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    with page.expect_navigation():
        page.click("form[action$='/take/'] button")
    for status in ("intervention_started", "restored"):
        page.select_option("#t-status", status)
        with page.expect_navigation():
            page.click("#transition-form button[type=submit]")
    expect(page.locator("#ticket-status")).to_have_text(re.compile("rétabli", re.I))
    page.fill("#id_text", "Disque plein, purge faite.")
    with page.expect_navigation():
        page.click("form[action$='/comment/'] button[type=submit]")
    expect(page.locator("#timeline")).to_contain_text("Disque plein, purge faite.")

    # The client confirms the restoration; the engineer closes with the cause.
    page.context.clear_cookies()
    ui_login(page, tenants.manager_a.email)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    with page.expect_navigation():
        page.click("#confirm-restoration")
    page.context.clear_cookies()
    ui_login(page, engineer.email)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.select_option("#t-status", "closed")
    page.select_option("#t-cause", "provider")
    with page.expect_navigation():
        page.click("#transition-form button[type=submit]")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.cause, ticket.assignee_id) == ("closed", "provider", engineer.pk)
    assert list(ticket.events.values_list("kind", flat=True)) == [
        "created",
        "assigned",
        "status",
        "status",
        "comment",
        "status",
        "status",
    ]
