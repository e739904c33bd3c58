"""How the API knows who calls: a personal token (Bearer) or the browser session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja.security import APIKeyCookie, HttpBearer

from infogerance.accounts.models import TokenScope
from infogerance.accounts.policy import has_second_factor, second_factor_required
from infogerance.accounts.services import authenticate_token, user_tenant
from infogerance.audit.services import record
from infogerance.core.actors import SystemActor

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class AuthenticationFailed(Exception):
    """401 with a reason the caller can act on."""


class ReadOnlyToken(Exception):
    """403: a read-only token was used for a write."""


REASONS = {
    "unknown": gettext_noop("The token is not valid."),
    "revoked": gettext_noop("The token was revoked."),
    "expired": gettext_noop("The token has expired."),
    "inactive user": gettext_noop("The token's user is deactivated."),
}


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row, reason = authenticate_token(token.strip())
        if row is not None and reason != "ok":
            # A known token used after its end is worth a trace, under its owner's tenant;
            # random strings are not (they would let anyone flood the trail).
            record(
                actor=SystemActor("api"),
                action="auth.token_rejected",
                target=row,
                after={"reason": reason},
                tenant=user_tenant(row.user),
            )
        if row is None or reason != "ok":
            raise AuthenticationFailed(_(REASONS[reason]))
        if row.scope == TokenScope.READ and request.method not in SAFE_METHODS:
            record(
                actor=row.user,
                action="access.denied",
                target=row,
                after={"reason": "read-only token"},
                tenant=user_tenant(row.user),
            )
            raise ReadOnlyToken()
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


class SessionAuth(APIKeyCookie):
    """The browser session, with its CSRF check, once the second factor is passed."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user: Any = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if not user.is_verified() and (has_second_factor(user) or second_factor_required(user)):
            return None
        return user
