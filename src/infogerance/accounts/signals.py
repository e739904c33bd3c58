"""Logins, logouts, failed logins and lockouts go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from infogerance.accounts.services import user_tenant
from infogerance.audit.services import record
from infogerance.core.actors import SystemActor
from infogerance.core.models import NO_TENANT
from infogerance.tenancy.models import User


@receiver(user_logged_in)
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(actor=user, action="auth.login", target=user, tenant=user_tenant(user))


@receiver(user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(actor=user, action="auth.logout", target=user, tenant=user_tenant(user))


@receiver(user_login_failed)
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or credentials.get("email") or "")[:254]
    user = User.objects.filter(email__iexact=username.strip()).first() if username else None
    # Filed under the account's tenant when it exists, so its admins see attacks on it.
    record(
        actor=SystemActor("auth"),
        action="auth.login_failed",
        target_type="tenancy.user",
        target_id=str(user.pk) if user else "",
        target_repr=username,
        tenant=user_tenant(user) if user else NO_TENANT,
    )


try:
    from axes.signals import user_locked_out

    @receiver(user_locked_out)
    def on_locked_out(
        sender: Any, request: Any = None, username: str = "", ip_address: str = "", **kwargs: Any
    ) -> None:
        user = User.objects.filter(email__iexact=(username or "").strip()).first()
        record(
            actor=SystemActor("auth"),
            action="auth.locked_out",
            target_type="tenancy.user",
            target_id=str(user.pk) if user else "",
            target_repr=(username or "")[:200],
            after={"ip_address": ip_address},
            tenant=user_tenant(user) if user else NO_TENANT,
        )
except ImportError:  # pragma: no cover - axes is a hard dependency
    pass
