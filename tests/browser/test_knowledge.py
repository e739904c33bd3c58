"""In a browser: an engineer writes a global article; a client's manager finds it with the live
search (HTMX, no page load) and reads its text as text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_write_then_find_with_the_live_search(
    page: Any,
    live_server: Any,
    tenants: Any,
    ui_login: Any,
) -> None:
    from infogerance.knowledge.models import Article

    ui_login(page, tenants.admin.email)
    page.goto(f"{live_server.url}/knowledge/")
    with page.expect_navigation():
        page.click("a[href$='/knowledge/new/']")
    page.select_option("#id_organization", str(tenants.provider.pk))
    page.fill("#id_title", "Imprimante bloquée")
    page.fill(
        "#id_body",
        "# Étapes\n- Redémarrer le spouleur\n- Vider la file\n<script>alert(1)</script>",
    )
    page.check("input[name=visibility][value=client]")
    page.fill("#id_services", "HD")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/knowledge/\d+/$"))
    expect(page.locator("#article-body li")).to_have_count(2)
    expect(page.locator("#article-body")).to_contain_text("<script>alert(1)</script>")
    article = Article.objects.get()
    assert (article.organization, article.visibility) == (tenants.provider, "client")

    # A client's manager searches as they type: the results change in place.
    page.context.clear_cookies()
    ui_login(page, tenants.manager_b.email)
    page.goto(f"{live_server.url}/knowledge/")
    page.evaluate("window.stillHere = true")
    page.fill("#kb-q", "SPOUL")
    expect(page.locator("#kb-results mark")).to_have_text("spoul")
    expect(page.locator("#kb-results a")).to_have_text("Imprimante bloquée")
    expect(page).to_have_url(re.compile(r"\?q=SPOUL"))
    assert page.evaluate("window.stillHere") is True  # no page load
    page.fill("#kb-q", "introuvable")
    expect(page.locator("#kb-results a")).to_have_count(0)
    page.fill("#kb-q", "imprimante")
    with page.expect_navigation():
        page.click("#kb-results a")
    expect(page.locator("h1")).to_have_text("Imprimante bloquée")
