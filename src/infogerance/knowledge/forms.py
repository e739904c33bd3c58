from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from infogerance.knowledge.models import Visibility
from infogerance.knowledge.services import MAX_BODY, MAX_NOTE, MAX_TITLE

BODY_HELP = _(
    "Plain text. A line starting with # is a heading, with - a list item; `code`, **bold**; "
    "a line of ``` opens and closes a block of code."
)


def split_codes(text: str) -> list[str]:
    """Service codes typed as "HD, INFRA" or "HD INFRA"."""
    return [code for code in re.split(r"[\s,;]+", text) if code]


class ArticleForm(forms.Form):
    organization = forms.TypedChoiceField(label=_("Belongs to"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 18}),
        max_length=MAX_BODY,
        help_text=BODY_HELP,
    )
    visibility = forms.ChoiceField(
        label=_("Who reads it"),
        choices=Visibility.choices,
        initial=Visibility.PROVIDER,
        widget=forms.RadioSelect,
    )
    services = forms.CharField(
        label=_("Services"),
        required=False,
        max_length=2000,
        help_text=_("Service codes of the contracts, separated by commas (e.g. HD, INFRA)."),
    )
    note = forms.CharField(
        label=_("Change note"),
        required=False,
        max_length=MAX_NOTE,
        help_text=_("What this version changes (kept in the history)."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(
        self, *args: Any, organizations: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if organizations is None:  # editing: the owner does not change
            del self.fields["organization"]
        else:
            self.fields["organization"].choices = organizations  # type: ignore[attr-defined]
            del self.fields["version"]
