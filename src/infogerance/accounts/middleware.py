"""Require the second factor after the password when the user has one or must have one."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from infogerance.accounts.policy import has_second_factor, second_factor_required

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
