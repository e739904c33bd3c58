"""Writes on a person's own credentials: password, second factor, API tokens."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from infogerance.accounts.models import TOKEN_PREFIX, ApiToken, TokenScope, new_secret
from infogerance.audit.services import record
from infogerance.core.db import from_row, select_list, width
from infogerance.core.services import service
from infogerance.core.snapshots import snapshot
from infogerance.tenancy.models import User
from infogerance.tenancy.scope import home_tenant as user_tenant


def _assert_self(actor: Any, user: User) -> None:
    if getattr(actor, "pk", None) != user.pk:
        raise PermissionDenied("only the account's owner does this")


@service
def change_password(user: User, *, actor: Any, new_password: str, via: str = "change") -> None:
    """Set a new password (``via``: change, reset or invitation)."""
    if via == "change":
        _assert_self(actor, user)
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record(actor=actor, action=f"password.{via}", target=user, tenant=user_tenant(user))


@service
def create_token(
    *, actor: Any, name: str, scope: str = TokenScope.READ, days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for the actor; returns the row and the secret, shown only this once."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 100:
        errors["name"] = [_("At most 100 characters.")]
    if scope not in TokenScope.values:
        errors["scope"] = [_("Choose read or write.")]
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        errors["days"] = [_("Between 1 and %(max)d days.") % {"max": settings.API_TOKEN_MAX_DAYS}]
    if errors:
        raise ValidationError(errors)
    secret, key, token_hash = new_secret()
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        key=key,
        token_hash=token_hash,
        scope=scope,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    record(
        actor=actor,
        action="token.create",
        target=token,
        after=snapshot(token),
        tenant=user_tenant(actor),
    )
    return token, secret


@service
def revoke_token(token: ApiToken, *, actor: Any) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    _assert_self(actor, token.user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            actor=actor,
            action="token.revoke",
            target=token,
            after={"revoked_at": token.revoked_at},
            tenant=user_tenant(actor),
        )
    return token


def parse_token(raw: str) -> str | None:
    """The lookup key of a well-formed token, else None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    key, sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(key) != 12 or not secret:
        return None
    return key


@functools.cache
def _token_sql(vendor: str) -> str:
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    tokens, users = quote(ApiToken._meta.db_table), quote(User._meta.db_table)
    return (
        f"SELECT {select_list(ApiToken, 't')}, {select_list(User, 'u')}"  # noqa: S608
        f" FROM {tokens} t JOIN {users} u ON u.{quote('id')} = t.{quote('user_id')}"
        f" WHERE t.{quote('key')} = %s"
    )


def _token_and_user(key: str) -> ApiToken | None:
    """The token of lookup key ``key`` with its user, in one raw statement: every API call
    with a token pays for it (the ORM's compiler would cost more than the query)."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_token_sql(db.vendor), [key])
        row = cursor.fetchone()
    if row is None:
        return None
    split = width(ApiToken)
    token = from_row(ApiToken, row[:split])
    token.user = from_row(User, row[split:])
    return token


def authenticate_token(raw: str) -> tuple[ApiToken | None, str]:
    """The token matching ``raw`` and "ok" when it may be used, else why not.

    A known token that may not be used (revoked, expired, deactivated owner) is returned
    with the reason, so the refusal can be filed under its owner's tenant.
    """
    key = parse_token(raw)
    token = _token_and_user(key) if key else None
    if token is None or not token.matches(raw):
        return None, "unknown"
    if token.revoked_at is not None:
        return token, "revoked"
    if token.is_expired:
        return token, "expired"
    if not token.user.is_active:
        return token, "inactive user"
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        # Bookkeeping, not a change of state: an unconditional update without audit.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token, "ok"


@service
def start_totp(user: User, *, actor: Any) -> TOTPDevice:
    """A fresh, unconfirmed TOTP device; any older unconfirmed one is replaced."""
    _assert_self(actor, user)
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    record(actor=actor, action="otp.enrol_started", target=user, tenant=user_tenant(user))
    return device


@service
def confirm_totp(device: TOTPDevice, *, actor: Any, token: str) -> bool:
    _assert_self(actor, device.user)
    token = token.strip().replace(" ", "")
    if not token.isdigit() or not device.verify_token(token):
        record(
            actor=actor,
            action="otp.enrol_failed",
            target=device.user,
            tenant=user_tenant(device.user),
        )
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
    record(actor=actor, action="otp.enrol", target=device.user, tenant=user_tenant(device.user))
    return True


@service
def disable_totp(user: User, *, actor: Any) -> None:
    from infogerance.accounts.policy import second_factor_required

    _assert_self(actor, user)
    if second_factor_required(user):
        raise ValidationError(
            {"device": [_("Your organisation requires a second factor; it cannot be removed.")]}
        )
    deleted, _rows = TOTPDevice.objects.filter(user=user).delete()
    if deleted:
        record(actor=actor, action="otp.remove", target=user, tenant=user_tenant(user))
