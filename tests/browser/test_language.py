"""French by default, English through the header's language selector."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

import infogerance

pytestmark = pytest.mark.browser

FRENCH_CATALOG = Path(infogerance.__file__).resolve().parent / "locale/fr/LC_MESSAGES/django.mo"


def test_french_by_default_then_english_with_the_selector(page, live_server):
    from django.utils import translation

    page.goto(f"{live_server.url}/accounts/login/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "fr")
    expect(page.locator("form.lang-switch select")).to_have_value("fr")
    french_title = page.locator("main h1").inner_text().strip()
    with translation.override("fr"):
        assert french_title == translation.gettext("Log in")

    # app.js submits the selector's form as soon as the choice changes.
    with page.expect_navigation():
        page.select_option("form.lang-switch select", "en")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("form.lang-switch select")).to_have_value("en")
    expect(page.locator("main h1")).to_have_text("Log in")
    if FRENCH_CATALOG.exists():
        assert french_title != "Log in", "French catalogue compiled but 'Log in' untranslated"

    # The choice is remembered (cookie) on the next page.
    page.goto(f"{live_server.url}/accounts/password/reset/")
    expect(html).to_have_attribute("lang", "en")

    # And switching back works with the no-JavaScript button too.
    page.locator("form.lang-switch select").evaluate("s => { s.value = 'fr'; }")
    with page.expect_navigation():
        page.click("form.lang-switch button[type=submit]")
    expect(html).to_have_attribute("lang", "fr")
    expect(page).to_have_url(f"{live_server.url}/accounts/password/reset/")
