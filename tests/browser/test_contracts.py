"""A provider administrator uploads a contract file and reads its clauses on the page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MINIMAL = Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml"


def test_upload_a_contract_and_read_a_clause(page, live_server, tenants, ui_login, tmp_path):
    from infogerance.contracts.models import Contract

    ui_login(page, tenants.admin.email)
    page.goto(f"{live_server.url}/contracts/")
    page.click(f"a[href$='/contracts/import/{tenants.client_a.pk}/']")

    # A broken file first: the errors are listed with their lines, nothing is imported.
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        MINIMAL.read_text(encoding="utf-8").replace("metric: gti", "metric: speed"),
        encoding="utf-8",
    )
    page.set_input_files("#id_file", str(broken))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    problems = page.locator("#problems tbody tr")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("service_levels.0.metric")
    assert not Contract.objects.exists()

    # The right file: the contract page shows its clauses in words, not YAML.
    page.set_input_files("#id_file", str(MINIMAL))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/contracts/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Contrat d'infogérance de test")
    expect(page.locator("#clause-object")).to_contain_text(
        "Infogérance du poste de travail et centre de services."
    )
    level = page.locator("#sl-gti-p1")
    expect(level).to_contain_text("P1")
    expect(level).to_contain_text("30 minutes")
    expect(level).to_contain_text("95")
    # The week grid of the extended business hours: Monday 07:00-08:00 partly, 08:00 open,
    # Saturday closed.
    grid = page.locator(".card.calendar", has_text="HO-ext").locator("table.week-grid")
    rows = grid.locator("tbody tr")
    expect(rows.nth(7).locator("td").nth(0)).to_have_class(re.compile(r"\bpartial\b"))
    expect(rows.nth(8).locator("td").nth(0)).to_have_class(re.compile(r"\bopen\b"))
    expect(rows.nth(8).locator("td").nth(5)).not_to_have_class(re.compile(r"\bopen\b"))
    contract = Contract.objects.get()
    assert contract.organization_id == tenants.client_a.pk

    # The client's IT manager reads it too, without the import button.
    page.context.clear_cookies()
    ui_login(page, tenants.manager_a.email)
    page.goto(f"{live_server.url}/contracts/{contract.pk}/")
    expect(page.locator("#clause-object")).to_be_visible()
    expect(page.locator("a[href*='/contracts/import/']")).to_have_count(0)
    # and the other client's manager finds nothing.
    page.context.clear_cookies()
    ui_login(page, tenants.manager_b.email)
    response = page.goto(f"{live_server.url}/contracts/{contract.pk}/")
    assert response is not None
    assert response.status == 404


def test_the_contract_page_has_no_console_errors(
    page: Any, live_server: Any, tenants: Any, ui_login: Any
) -> None:
    from infogerance.contracts.services import import_contract

    version = import_contract(
        actor=tenants.admin, client=tenants.client_a, text=MINIMAL.read_text(encoding="utf-8")
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ui_login(page, tenants.admin.email)
    page.goto(f"{live_server.url}/contracts/{version.contract_id}/")
    expect(page.locator("#calendars")).to_be_visible()
    assert errors == []
