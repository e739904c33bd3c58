from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from infogerance.helpdesk.workflow import Cause, Kind, Status


class TicketForm(forms.Form):
    service = forms.ChoiceField(label=_("Service"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.INCIDENT)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    impact = forms.ChoiceField(label=_("Impact"))
    urgency = forms.ChoiceField(label=_("Urgency"))

    def __init__(
        self,
        *args: Any,
        services: list[tuple[str, str]],
        impacts: list[str],
        urgencies: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = services  # type: ignore[attr-defined]
        self.fields["impact"].choices = [(i, i) for i in impacts]  # type: ignore[attr-defined]
        self.fields["urgency"].choices = [(u, u) for u in urgencies]  # type: ignore[attr-defined]


class TransitionForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    cause = forms.ChoiceField(
        label=_("Cause (to close)"), choices=[("", "—"), *Cause.choices], required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=20000
    )
    internal = forms.BooleanField(label=_("Provider only (internal note)"), required=False)


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why reopen it?"), max_length=500)
    version = forms.IntegerField(widget=forms.HiddenInput)
