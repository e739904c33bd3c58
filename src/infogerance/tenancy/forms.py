from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import ROLES_BY_KIND, Role


class ClientForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "legal_name", "registration_id", "country", "require_2fa"]


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "legal_name", "registration_id", "country", "require_2fa", "is_active"]


def role_choices(organization: Organization) -> list[tuple[str, Any]]:
    return [(r.value, r.label) for r in ROLES_BY_KIND[organization.kind]]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        required=False,
        help_text=_("Required for a person new to the platform."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("fr", "Français"), ("en", "English")]
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = role_choices(organization)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = role_choices(organization)
