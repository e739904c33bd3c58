from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from infogerance.sla.models import DisputeState
from infogerance.sla.services import MAX_REASON

NOTE_MAX = 500


class ComputeForm(forms.Form):
    """Compute a month of a contract (a new revision of its report)."""

    contract = forms.TypedChoiceField(label=_("Contract"), coerce=int)
    period = forms.CharField(
        label=_("Month"),
        max_length=7,
        help_text=_("Written YYYY-MM, e.g. 2026-03."),
        validators=[
            RegexValidator(r"^\d{4}-\d{2}$", _("Write the month as YYYY-MM, e.g. 2026-03."))
        ],
        widget=forms.TextInput(attrs={"placeholder": "2026-03", "size": 8, "inputmode": "numeric"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        help_text=_("Why this computation (kept with the revision)."),
    )

    def __init__(self, *args: Any, contracts: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contract"].choices = contracts  # type: ignore[attr-defined]


class RecomputeForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=NOTE_MAX)


class DisputeForm(forms.Form):
    """The client's IT manager contests a service level of the report."""

    level_id = forms.ChoiceField(label=_("Service level"))
    reason = forms.CharField(
        label=_("Why the figure is contested"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, levels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level_id"].choices = levels  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    """The steering committee's decision on a dispute, recorded by the provider."""

    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (DisputeState.UPHELD.value, DisputeState.UPHELD.label),
            (DisputeState.WAIVED.value, DisputeState.WAIVED.label),
        ],
        widget=forms.RadioSelect,
    )
    decision = forms.CharField(
        label=_("The committee's decision"),
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
