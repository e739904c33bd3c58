"""In a browser: a provider administrator records a client's backup repository with the form,
mistypes its restic id and is told which field is wrong, corrects it, and the client's IT
manager finds the repository on the backups page, without the means to change it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_admin_records_a_repository_and_the_client_sees_it(
    page: Any, live_server: Any, tenants: Any, ui_login: Any
) -> None:
    from infogerance.backups.models import BackupRepository

    ui_login(page, tenants.admin.email)
    page.goto(f"{live_server.url}/backups/")
    page.click("a[href='/backups/new/']")
    page.select_option("#id_organization", str(tenants.client_a.pk))
    page.fill("#id_name", "Sauvegarde du siège")
    page.fill("#id_location", "s3:https://s3.example.net/sauvegardes/siege")
    page.fill("#id_service_code", "SAUV")
    page.fill("#id_repository_id", "pas-un-identifiant")
    page.click("form.stacked button[type=submit]")
    # French by default: the field's own error, and nothing recorded.
    expect(page.locator("form.stacked")).to_contain_text("64 chiffres hexadécimaux")
    assert not BackupRepository.objects.exists()
    page.fill("#id_repository_id", "5f" * 32)
    page.click("form.stacked button[type=submit]")
    expect(page.locator("h1")).to_have_text("Sauvegarde du siège")
    expect(page.locator("dl.props")).to_contain_text("5f" * 32)
    repository = BackupRepository.objects.get()
    assert (repository.organization_id, repository.service_code) == (tenants.client_a.pk, "SAUV")

    page.context.clear_cookies()
    ui_login(page, tenants.manager_a.email)
    page.goto(f"{live_server.url}/backups/")
    expect(page.locator("#repositories tbody tr")).to_have_count(1)
    expect(page.locator("#repositories")).to_contain_text("Sauvegarde du siège")
    expect(page.locator("a[href='/backups/new/']")).to_have_count(0)
    page.click("#repositories a:has-text('Sauvegarde du siège')")
    expect(page.locator(f"a[href='/backups/{repository.pk}/edit/']")).to_have_count(0)
