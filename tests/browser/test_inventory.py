"""In a browser: a provider administrator creates an enrolment token (shown once) and, once a
machine's agent has reported, follows it to the asset's page and to what changed between two
inventories; a client's IT manager reads the technical audit and downloads its PDF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.inventory import factory

pytestmark = pytest.mark.browser


def _report_twice(secret: str) -> Any:
    """An agent enrolled with ``secret`` reports a machine, then an upgrade of it."""
    from infogerance.inventory import services

    agent = services.enroll(
        actor=services.AGENT_ACTOR, body={"token": secret, "hostname": "srv-erp-01"}
    ).agent
    first = factory.inventory("srv-erp-01", software=3)
    first["disks"][0].update(used_bytes=97 * 2**30, free_bytes=3 * 2**30)
    second = {
        **first,
        "software": [*first["software"], {"name": "nginx", "version": "1.22", "source": "dpkg"}],
    }
    reports = [
        factory.report("inventory", 1, first),
        factory.report("inventory", 2, second),
        factory.performance(3),
    ]
    services.ingest(agent, {"reports": reports}, actor=services.AGENT_ACTOR)
    return agent


def test_an_admin_enrols_a_machine_and_follows_its_changes(
    page: Any, live_server: Any, tenants: Any, ui_login: Any
) -> None:
    ui_login(page, tenants.admin.email)
    page.goto(f"{live_server.url}/inventory/tokens/")
    page.select_option("#id_organization", str(tenants.client_a.pk))
    page.fill("#id_label", "Serveurs du siège")
    page.fill("#id_max_uses", "3")
    page.click("form.stacked button[type=submit]")
    secret = page.locator("#token-secret").inner_text().strip()
    assert secret.startswith("iget_")
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    page.reload()  # shown once
    expect(page.locator("#token-secret")).to_have_count(0)

    agent = _report_twice(secret)
    page.goto(f"{live_server.url}/inventory/")
    page.check("#f-disk")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#assets tbody tr")).to_have_count(1)
    page.click("#assets a:has-text('srv-erp-01')")
    expect(page).to_have_url(re.compile(rf"/inventory/assets/{agent.asset_id}/$"))
    expect(page.locator("#asset-software tbody tr")).to_have_count(4)
    expect(page.locator("#asset-performance tbody tr")).to_have_count(1)
    expect(page.locator("#asset-snapshots tbody tr")).to_have_count(2)
    page.click("#asset-snapshots a")
    expect(page.locator("#diff-software li.added")).to_have_text(re.compile("nginx 1.22"))


def test_a_client_manager_reads_the_technical_audit(
    page: Any, live_server: Any, tenants: Any, ui_login: Any
) -> None:
    from infogerance.inventory import services

    _token, secret = services.create_enrollment_token(
        actor=tenants.admin, client=tenants.client_a, label="x"
    )
    _report_twice(secret)
    ui_login(page, tenants.manager_a.email)
    page.goto(f"{live_server.url}/inventory/audit/{tenants.client_a.pk}/")
    expect(page.locator("#audit-assets tbody tr")).to_have_count(1)
    expect(page.locator("#audit-short-disk")).to_contain_text("srv-erp-01")
    expect(page.locator("#audit-baselines tbody tr")).to_have_count(1)
    with page.expect_response(re.compile(r"format=pdf")) as answer:
        page.evaluate(
            "url => fetch(url)",
            f"{live_server.url}/inventory/audit/{tenants.client_a.pk}/?format=pdf",
        )
    response = answer.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
