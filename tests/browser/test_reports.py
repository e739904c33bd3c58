"""In a browser: a provider administrator computes a month and reads its report (the results
table and the penalty statement); a client's IT manager contests a level and sees the dispute
listed as open, and records a steering committee with an action item on the report."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
# A 45-minute outage of INFRA in March 2026: 99.8991 % < 99.9 %, 5 % of 12,500 = 625, minus
# the franchise of 200: 425.00 due.
OUTAGE = {
    "type": "outage",
    "id": "INC-7",
    "service": "INFRA",
    "start": "2026-03-10T10:00:00+01:00",
    "end": "2026-03-10T10:45:00+01:00",
}


def _contract_with_an_outage(tenants: Any) -> Any:
    from infogerance.contracts.services import import_contract
    from infogerance.sla.services import record_operations

    contract = import_contract(actor=tenants.admin, client=tenants.client_a, text=MINIMAL).contract
    record_operations(actor=tenants.admin, contract=contract, text=json.dumps(OUTAGE) + "\n")
    return contract


def test_a_provider_admin_computes_a_month(
    page: Any, live_server: Any, tenants: Any, ui_login: Any
) -> None:
    from infogerance.sla.models import MonthlyReport

    contract = _contract_with_an_outage(tenants)
    ui_login(page, tenants.admin.email)
    page.goto(f"{live_server.url}/reports/")
    page.select_option("#id_contract", str(contract.pk))
    page.fill("#id_period", "2026-03")
    with page.expect_navigation():
        page.click("#compute-form button[type=submit]")
    report = MonthlyReport.objects.get()
    expect(page).to_have_url(re.compile(rf"/reports/{report.pk}/$"))
    expect(page.locator("h1")).to_contain_text("TEST-001")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    availability = page.locator('#results tr[data-level="dispo-infra"]')
    expect(availability).to_have_attribute("data-verdict", "missed")
    expect(availability.locator("svg.trend title")).to_have_count(2)  # the chart and its point
    expect(page.locator("#penalty-lines tbody tr")).to_have_count(2)
    expect(page.locator('#penalty-lines tr[data-rule="pen-dispo"]')).to_contain_text("625,00")
    expect(page.locator("#amount-due")).to_contain_text("425,00")
    expect(page.locator("#penalty-steps li")).to_have_count(5)


def test_a_client_manager_contests_a_level(
    page: Any, live_server: Any, tenants: Any, ui_login: Any
) -> None:
    from infogerance.sla.models import Dispute
    from infogerance.sla.services import compute_report

    contract = _contract_with_an_outage(tenants)
    report = compute_report(
        actor=tenants.admin,
        contract=contract,
        period="2026-03",
        now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
    ).report
    ui_login(page, tenants.manager_a.email)
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    expect(page.locator("#disputes tbody tr")).to_have_count(1)  # "no dispute"
    page.select_option("#id_level_id", "dispo-infra")
    page.fill("#id_reason", "Coupure électrique du site, hors du périmètre du prestataire.")
    with page.expect_navigation():
        page.click("#dispute-form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/reports/{report.pk}/$"))
    row = page.locator('#disputes tr[data-level="dispo-infra"]')
    expect(row).to_have_attribute("data-state", "open")
    expect(row).to_contain_text("Coupure électrique du site")
    expect(page.locator('#results tr[data-level="dispo-infra"] th .badge-warn')).to_be_visible()
    dispute = Dispute.objects.get()
    assert (dispute.level_id, dispute.state) == ("dispo-infra", "open")

    # Another person's report stays out of reach.
    page.context.clear_cookies()
    ui_login(page, tenants.manager_b.email)
    response = page.goto(f"{live_server.url}/reports/{report.pk}/")
    assert response is not None and response.status == 404


def test_a_client_manager_records_a_steering_committee(
    page: Any, live_server: Any, tenants: Any, ui_login: Any
) -> None:
    from infogerance.sla.models import Meeting
    from infogerance.sla.services import compute_report

    contract = _contract_with_an_outage(tenants)
    report = compute_report(
        actor=tenants.admin,
        contract=contract,
        period="2026-03",
        now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
    ).report
    ui_login(page, tenants.manager_a.email)
    page.goto(f"{live_server.url}/reports/{report.pk}/")
    expect(page.locator("#no-meeting")).to_be_visible()
    expect(page.locator("#action-rows tbody tr")).to_have_count(5)
    page.fill("#id_meeting-held_on", "2026-04-14")
    page.fill("#id_meeting-title", "Comité de pilotage de mars")
    page.fill("#id_meeting-attendees", "Marc Martin (client)\nClaire Admin (prestataire)")
    page.fill("#id_meeting-decisions", "Plan d'action sur la disponibilité d'INFRA.")
    page.fill("#id_action-0-text", "Analyser la coupure INC-7")
    page.fill("#id_action-0-owner", "Claire Admin")
    page.fill("#id_action-0-due_on", "2026-05-15")
    with page.expect_navigation():
        page.click("#meeting-form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/reports/{report.pk}/#committee$"))
    meeting = Meeting.objects.get()
    listed = page.locator(f"#meeting-{meeting.pk}")
    expect(listed.locator("h3")).to_have_text("Comité de pilotage de mars")
    expect(listed.locator(".attendees li")).to_have_count(2)
    expect(listed).to_contain_text("Plan d'action sur la disponibilité d'INFRA.")
    row = listed.locator(".action-items tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Analyser la coupure INC-7")
    expect(row).to_contain_text("Claire Admin")
    assert (meeting.report_id, meeting.actions.get().owner) == (report.pk, "Claire Admin")
