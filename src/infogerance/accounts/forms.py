from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from infogerance.accounts import services
from infogerance.accounts.models import TokenScope
from infogerance.core.actors import SystemActor
from infogerance.tenancy.models import User


class LoginForm(auth_forms.AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class ResetRequestForm(auth_forms.PasswordResetForm):
    """Also reaches invited users who have not chosen a password yet."""

    def get_users(self, email: str) -> Iterator[Any]:
        return iter(User.objects.filter(email__iexact=email.strip(), is_active=True))


class ResetPasswordForm(auth_forms.SetPasswordForm):
    def save(self, commit: bool = True) -> Any:
        via = "reset" if self.user.has_usable_password() else "invitation"
        services.change_password(
            self.user,
            actor=SystemActor("password-reset"),
            new_password=self.cleaned_data["new_password1"],
            via=via,
        )
        return self.user


class ChangePasswordForm(auth_forms.PasswordChangeForm):
    def save(self, commit: bool = True) -> Any:
        services.change_password(
            self.user, actor=self.user, new_password=self.cleaned_data["new_password1"]
        )
        return self.user


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "language"]


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scope = forms.ChoiceField(label=_("Rights"), choices=TokenScope.choices)
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, initial=90)
