"""Contract pages: list, readable clauses, download, diff, upload with errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from infogerance.contracts.models import Contract, ContractVersion
from infogerance.contracts.services import import_contract
from infogerance.core.testing.audit import audit_expected

MINIMAL = (Path(__file__).parent / "minimal.yaml").read_text(encoding="utf-8")
pytestmark = pytest.mark.django_db


def upload(client: Any, org_id: int, text: str, **extra: str) -> Any:
    return client.post(
        reverse("contracts:contract_import", kwargs={"org_id": org_id}),
        {"file": SimpleUploadedFile("c.yaml", text.encode("utf-8")), **extra},
        headers={"Accept-Language": "en"},
    )


def test_upload_errors_then_success(world: Any, login: Any) -> None:
    client = login(world.user("p_admin"))
    bad = upload(client, world.victim.pk, MINIMAL.replace("metric: gti", "metric: speed"))
    assert bad.status_code == 400
    problems = bad.context["problems"]
    assert [p.where for p in problems] == ["service_levels.0.metric"]
    assert b"nothing was imported" in bad.content
    assert not Contract.objects.exists()
    with audit_expected("contract.version_create", organization_id=world.victim.pk):
        ok = upload(client, world.victim.pk, MINIMAL)
    contract = Contract.objects.get()
    assert ok.status_code == 302
    assert ok["Location"] == reverse("contracts:contract", kwargs={"contract_id": contract.pk})


def test_the_page_reads_like_a_contract(world: Any, login: Any) -> None:
    version = import_contract(actor=world.user("p_admin"), client=world.victim, text=MINIMAL)
    page = login(world.user("a_manager")).get(
        reverse("contracts:contract", kwargs={"contract_id": version.contract_id}),
        headers={"Accept-Language": "en"},
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "Intervention time (GTI)" in html  # the metric in words, not "gti"
    assert "Fixed amount per breach" in html
    assert "below 99.5 %: 15 % of the fee" in html
    assert "Cap: 10 % of the monthly fee." in html
    assert "metric:" not in html  # no raw YAML
    assert "/contracts/import/" not in html  # a client manager reads, never imports
    grid = page.context["calendars"][0]
    assert grid["name"] == "HO-ext"
    # 07:30–19:00 Monday: hour 7 partial, 8 to 18 open, 19 closed.
    monday = [row["cells"][0] for row in grid["grid"]]
    assert monday[7] == "partial"
    assert monday[8:19] == ["open"] * 11
    assert monday[19] == ""


def test_download_and_diff(world: Any, login: Any) -> None:
    admin = world.user("p_admin")
    first = import_contract(actor=admin, client=world.victim, text=MINIMAL)
    import_contract(
        actor=admin, client=world.victim, text=MINIMAL.replace("compliance: 95", "compliance: 99")
    )
    client = login(world.user("a_user"))
    download = client.get(
        reverse("contracts:contract_download", kwargs={"contract_id": first.contract_id})
        + "?version=1"
    )
    assert download["Content-Disposition"] == 'attachment; filename="TEST-001-v1.yaml"'
    assert b"compliance: '95'" in download.content
    diff = client.get(reverse("contracts:contract_diff", kwargs={"contract_id": first.contract_id}))
    assert diff.context["changed"] == 1  # one line replaced: one row, old beside new
    changed = [r for r in diff.context["rows"] if r["tag"] != "equal"]
    assert [(r["left"], r["right"]) for r in changed] == [
        ("    compliance: '95'", "    compliance: '99'")
    ]
    missing = client.get(
        reverse("contracts:contract_diff", kwargs={"contract_id": first.contract_id}) + "?from=7"
    )
    assert missing.status_code == 404


def test_import_page_needs_the_right(world: Any, login: Any) -> None:
    url = reverse("contracts:contract_import", kwargs={"org_id": world.victim.pk})
    assert login(world.user("a_manager")).get(url).status_code == 403
    assert login(world.user("b_manager")).get(url).status_code == 404
    assert login(world.user("p_admin")).get(url).status_code == 200
    assert not ContractVersion.objects.exists()
