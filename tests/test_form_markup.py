"""The shared form markup: what a field's aria-describedby points to exists."""

from __future__ import annotations

import re

from django import forms
from django.template.loader import render_to_string


class Sample(forms.Form):
    period = forms.CharField(label="Month", help_text="Written YYYY-MM.")
    note = forms.CharField(label="Note", required=False)


def test_help_text_is_what_the_input_is_described_by() -> None:
    html = render_to_string("core/_form_fields.html", {"form": Sample()})
    described = re.findall(r'aria-describedby="([^"]+)"', html)
    assert described == ["id_period_helptext"]
    for target in described:
        assert f'id="{target}"' in html
