"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

One browser per session, one fresh context (locale fr-FR) per test. When a test fails, a
full-page screenshot is kept under ``test-artifacts/screenshots/``. Data is created through
the services, as the platform itself does, with a :class:`SystemActor`.

``tests/conftest.py`` supplies what the whole suite shares: the audit triggers dropped just
before the flush that ends a transactional (live-server) test on SQLite, and a fast password
hasher. The fixtures here are named so as not to shadow its ``world`` and ``login``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the main thread; Django would otherwise refuse
# ORM calls made from the test body ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
DEFAULT_TIMEOUT_MS = 10_000

# A password every validator accepts (length, common list, numeric, similarity).
PASSWORD = "Clef-de-test-4821"


# --------------------------------------------------------------------------------------------
# Failure screenshots
# --------------------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(node: Any) -> bool:
    return any(
        getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


# --------------------------------------------------------------------------------------------
# Browser and page
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (make chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    if _failed(request.node):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        path = SCREENSHOTS / f"{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            print(f"\nscreenshot of the failure: {path}")
        except Exception as exc:  # a crashed page must not hide the real failure
            print(f"\nno screenshot ({exc})")
    context.close()


# --------------------------------------------------------------------------------------------
# Database
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenants:
    """A provider with two clients and one person per interesting role."""

    provider: Any
    client_a: Any
    client_b: Any
    admin: Any  # provider administrator of ``provider``
    manager_a: Any  # client IT manager of ``client_a``
    manager_b: Any  # client IT manager of ``client_b``


def _member(org: Any, email: str, full_name: str, role: str) -> Any:
    from infogerance.core.actors import SystemActor
    from infogerance.tenancy.services import invite_member

    membership = invite_member(
        actor=SystemActor("test"),
        organization=org,
        email=email,
        full_name=full_name,
        role=role,
        password=PASSWORD,
        send_invitation=False,
    )
    return membership.user


@pytest.fixture
def make_member() -> Callable[..., Any]:
    """``make_member(org, email, full_name, role)``: a user with :data:`PASSWORD`."""
    return _member


@pytest.fixture
def tenants(live_server: Any) -> Tenants:
    from infogerance.core.actors import SystemActor
    from infogerance.tenancy.roles import OrganizationKind, Role
    from infogerance.tenancy.services import create_organization

    actor = SystemActor("test")
    provider = create_organization(
        actor=actor, kind=OrganizationKind.PROVIDER, name="Nordline Services"
    )
    client_a = create_organization(
        actor=actor, kind=OrganizationKind.CLIENT, provider=provider, name="Boulangeries Martin"
    )
    client_b = create_organization(
        actor=actor, kind=OrganizationKind.CLIENT, provider=provider, name="Cabinet Lefèvre"
    )
    return Tenants(
        provider=provider,
        client_a=client_a,
        client_b=client_b,
        admin=_member(provider, "admin@nordline.example", "Claire Admin", Role.PROVIDER_ADMIN),
        manager_a=_member(client_a, "dsi@martin.example", "Marc Martin", Role.CLIENT_MANAGER),
        manager_b=_member(client_b, "dsi@lefevre.example", "Anne Lefèvre", Role.CLIENT_MANAGER),
    )


# --------------------------------------------------------------------------------------------
# Helpers, as fixtures (test modules do not import conftest)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def ui_login(live_server: Any) -> Callable[..., None]:
    """``ui_login(page, email, password=PASSWORD)``: fill and submit the login form.

    The caller asserts where it lands.
    """

    def do(page: Any, email: str, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", email)
        page.fill("#id_password", password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")

    return do


@pytest.fixture
def ui_logout() -> Callable[[Any], None]:
    """``ui_logout(page)``: submit the header's log-out form."""

    def do(page: Any) -> None:
        with page.expect_navigation():
            page.click("header form[action$='/accounts/logout/'] button[type=submit]")

    return do
