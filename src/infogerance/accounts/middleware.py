"""Require the second factor after the password when the user has one or must have one."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from infogerance.accounts.policy import has_second_factor, second_factor_required
from infogerance.audit.services import record
from infogerance.tenancy.scope import home_tenant

# Paths reachable between the password and the second factor.
OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz", "/api/")


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        if getattr(user, "is_verified", lambda: False)():
            return self.get_response(request)
        verify = reverse("accounts:otp_verify")
        setup = reverse("accounts:otp_setup")
        if request.path == reverse("accounts:logout"):
            return self.get_response(request)
        if has_second_factor(user):
            # Only the code opens the session: the set-up page would let a password alone
            # replace the device.
            if request.path == verify:
                return self.get_response(request)
            return redirect(f"{verify}?{urlencode({'next': request.get_full_path()})}")
        if second_factor_required(user):
            if request.path == setup:
                return self.get_response(request)
            return redirect(setup)
        return self.get_response(request)


class DeniedAccessMiddleware:
    """A refused action (403) in the web UI goes to the audit trail, under the person's
    organisation, so that its administrators see it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied):
            record_denied(request, getattr(request, "user", None), exception)
        return None


def record_denied(request: HttpRequest, actor: object, exception: Exception) -> None:
    record(
        actor=actor,
        action="access.denied",
        target_repr=request.path[:200],
        after={"method": request.method, "reason": str(exception)[:200]},
        tenant=home_tenant(actor),
    )
