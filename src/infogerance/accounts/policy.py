"""When a second factor is required."""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice

from infogerance.tenancy.models import Organization


def second_factor_required(user: Any) -> bool:
    return Organization.objects.filter(
        memberships__user_id=user.pk, require_2fa=True, is_active=True
    ).exists()


def has_second_factor(user: Any) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()
