"""Logging in and out with a password."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_wrong_password_is_refused_and_right_one_lands_home(
    page, live_server, tenants, ui_login, ui_logout
):
    ui_login(page, tenants.admin.email, "Not-the-password-123")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("main .errorlist")).to_be_visible()
    expect(page.locator("main .errorlist")).not_to_be_empty()
    expect(page.locator("#id_password")).to_be_visible()
    # Not logged in: no navigation, no user menu.
    expect(page.locator("nav.main-nav")).to_have_count(0)
    expect(page.locator("header form[action$='/accounts/logout/']")).to_have_count(0)

    ui_login(page, tenants.admin.email)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_contain_text("Claire")
    expect(page.locator("header .user-menu a[href$='/accounts/profile/']")).to_have_text(
        "Claire Admin"
    )
    expect(page.locator("nav.main-nav")).to_be_visible()

    ui_logout(page)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("header form[action$='/accounts/logout/']")).to_have_count(0)

    # The session is really gone: the home page sends back to the login page.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
