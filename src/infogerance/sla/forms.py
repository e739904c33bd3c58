from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from infogerance.sla.models import DisputeState, MeetingKind
from infogerance.sla.services import (
    MAX_ACTION_TEXT,
    MAX_DECISIONS,
    MAX_OWNER,
    MAX_REASON,
    MAX_TITLE,
)

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


#: Action rows offered by the form that records a meeting (more are added on its page).
ACTION_ROWS = 5


class DateInput(forms.DateInput):
    """A browser date picker: its value is always written ISO, whatever the language."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MeetingForm(forms.Form):
    """A committee's minutes: when, who, what was decided. With ``reports`` (choices of
    the contract's monthly reports), the report discussed can be chosen too."""

    kind = forms.ChoiceField(
        label=_("Committee"), choices=MeetingKind.choices, initial=MeetingKind.STEERING
    )
    held_on = forms.DateField(label=_("Held on"), widget=DateInput())
    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE)
    attendees = forms.CharField(
        label=_("Attendees"),
        help_text=_("One a line, e.g. “Marie Durand (client, IT manager)”."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    decisions = forms.CharField(
        label=_("Decisions"),
        required=False,
        max_length=MAX_DECISIONS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self, *args: Any, reports: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if reports is not None:
            self.fields["report"] = forms.ChoiceField(
                label=_("Monthly report discussed"),
                required=False,
                choices=[("", "—"), *reports],
            )


class ActionForm(forms.Form):
    """An action item. As an optional row (``optional=True``), an empty row is skipped and a
    partly filled one must be completed."""

    # Sized for the rows of the meeting form (a table within the form's width).
    text = forms.CharField(
        label=_("Action"),
        max_length=MAX_ACTION_TEXT,
        widget=forms.TextInput(attrs={"size": 18}),
    )
    owner = forms.CharField(
        label=_("Owner"), max_length=MAX_OWNER, widget=forms.TextInput(attrs={"size": 10})
    )
    due_on = forms.DateField(label=_("Due on"), widget=DateInput())

    def __init__(self, *args: Any, optional: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.optional = optional
        if optional:
            for field in self.fields.values():
                field.required = False

    def is_blank(self) -> bool:
        return self.optional and not any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in self.fields
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.optional and not self.is_blank():
            for name, field in self.fields.items():
                if name not in self.errors and cleaned.get(name) in (None, ""):
                    self.add_error(name, ValidationError(field.error_messages["required"]))
        return cleaned

    def spec(self) -> tuple[str, str, Any]:
        return (self.cleaned_data["text"], self.cleaned_data["owner"], self.cleaned_data["due_on"])


class CloseActionForm(forms.Form):
    done_on = forms.DateField(label=_("Done on"), widget=DateInput())
