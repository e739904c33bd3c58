from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from infogerance.contracts.loader import MAX_FILE_BYTES


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Contract file (YAML)"))
    effective_from = forms.DateField(
        label=_("Takes effect on"),
        required=False,
        help_text=_("Empty: the term's start for a new contract, today for an amendment."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(label=_("What this version changes"), max_length=500, required=False)

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is too large (%(size)d bytes, at most %(max)d).")
                % {"size": upload.size, "max": MAX_FILE_BYTES}
            )
        return upload
