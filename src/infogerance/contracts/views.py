from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from infogerance.contracts import forms, services
from infogerance.contracts.calendars import CalendarDefinitionError, to_spec
from infogerance.contracts.export import to_yaml
from infogerance.contracts.format import CalendarPreset, ContractDocument
from infogerance.contracts.loader import ContractFileError
from infogerance.contracts.models import Contract, ContractVersion
from infogerance.core.forms import apply_errors
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import OrganizationKind, Perm


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    contracts = (
        scope.visible(Contract, user)
        .select_related("organization")
        .prefetch_related("versions")
        .order_by("organization__name", "reference")
    )
    clients = scope.visible(Organization, user).filter(kind=OrganizationKind.CLIENT)
    importable = [c for c in clients if scope.has_perm(user, Perm.MANAGE_CONTRACTS, c)]
    return render(
        request, "contracts/contract_list.html", {"contracts": contracts, "importable": importable}
    )


def _pick_version(contract: Contract, request: HttpRequest) -> ContractVersion:
    number = request.GET.get("version", "")
    if number:
        if not number.isdigit() or len(number) > 9:
            raise Http404("no such version")
        version = contract.versions.filter(number=int(number)).first()
    else:
        version = contract.version_in_force(timezone.localdate()) or contract.latest
    if version is None:
        raise Http404("no such version")
    return version


WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def week_grid(spec: Any) -> list[dict[str, Any]]:
    """Hour rows × weekday columns: "open", "partial" or "" for each cell."""
    minutes: list[set[int]] = [set() for _ in range(7)]
    for window in spec.windows:
        start = window.start.hour * 60 + window.start.minute
        end = window.end.hour * 60 + window.end.minute
        if end <= start:
            end += 24 * 60  # into the next day
        for minute in range(start, end):
            minutes[(window.weekday + minute // (24 * 60)) % 7].add(minute % (24 * 60))
    rows = []
    for hour in range(24):
        cells = []
        for day in range(7):
            covered = sum(1 for m in range(hour * 60, hour * 60 + 60) if m in minutes[day])
            cells.append("open" if covered == 60 else "partial" if covered else "")
        rows.append({"hour": hour, "cells": cells})
    return rows


def _calendars(document: ContractDocument) -> list[dict[str, Any]]:
    used = {s.calendar for s in document.catalogue} | {s.calendar for s in document.service_levels}
    names = list(document.calendars) + sorted(
        p.value for p in CalendarPreset if p.value in used and p.value not in document.calendars
    )
    result = []
    for name in names:
        definition = document.calendars.get(name)
        try:
            from infogerance.contracts.calendars import PRESETS

            spec = to_spec(definition) if definition else PRESETS[CalendarPreset(name)]
        except CalendarDefinitionError:
            continue
        result.append(
            {"name": name, "definition": definition, "spec": spec, "grid": week_grid(spec)}
        )
    return result


@login_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    user: Any = request.user
    contract = scope.get_visible_or_404(
        Contract.objects.select_related("organization"), user, pk=contract_id
    )
    version = _pick_version(contract, request)
    document = version.parsed()
    versions = list(contract.versions.order_by("number"))
    today = timezone.localdate()
    in_force = contract.version_in_force(today)
    context = {
        "contract": contract,
        "version": version,
        "doc": document,
        "versions": versions,
        "in_force": in_force,
        "calendars": _calendars(document),
        "weekdays": WEEKDAY_KEYS,
        "can_import": scope.has_perm(user, Perm.MANAGE_CONTRACTS, contract.organization),
    }
    return render(request, "contracts/contract_detail.html", context)


@login_required
def contract_download(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = scope.get_visible_or_404(Contract, request.user, pk=contract_id)
    version = _pick_version(contract, request)
    response = HttpResponse(to_yaml(version.parsed()), content_type="application/yaml")
    response["Content-Disposition"] = (
        f'attachment; filename="{contract.reference}-v{version.number}.yaml"'
    )
    return response


def side_by_side(old: str, new: str) -> list[dict[str, Any]]:
    """Rows of a two-column diff: equal, changed, removed or added lines."""
    left, right = old.splitlines(), new.splitlines()
    rows: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a, b = left[i1:i2], right[j1:j2]
        for k in range(max(len(a), len(b))):
            rows.append(
                {
                    "tag": tag,
                    "left": a[k] if k < len(a) else None,
                    "right": b[k] if k < len(b) else None,
                    "left_no": i1 + k + 1 if k < len(a) else None,
                    "right_no": j1 + k + 1 if k < len(b) else None,
                }
            )
    return rows


@login_required
def contract_diff(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = scope.get_visible_or_404(Contract, request.user, pk=contract_id)
    versions = list(contract.versions.order_by("number"))
    numbers = [v.number for v in versions]

    def pick(name: str, default: int) -> ContractVersion:
        raw = request.GET.get(name, "")
        number = int(raw) if raw.isdigit() and len(raw) < 10 else default
        if number not in numbers:
            raise Http404("no such version")
        return versions[numbers.index(number)]

    old = pick("from", numbers[max(0, len(numbers) - 2)])
    new = pick("to", numbers[-1])
    rows = side_by_side(to_yaml(old.parsed()), to_yaml(new.parsed()))
    changed = sum(1 for r in rows if r["tag"] != "equal")
    return render(
        request,
        "contracts/contract_diff.html",
        {
            "contract": contract,
            "old": old,
            "new": new,
            "rows": rows,
            "versions": versions,
            "changed": changed,
        },
    )


@login_required
def contract_import(request: HttpRequest, org_id: int) -> HttpResponse:
    user: Any = request.user
    client = scope.get_visible_or_404(Organization, user, pk=org_id, kind=OrganizationKind.CLIENT)
    scope.require(user, Perm.MANAGE_CONTRACTS, client)
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    problems = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            version = services.import_contract(
                actor=user,
                client=client,
                text=upload.read(),
                effective_from=form.cleaned_data["effective_from"],
                note=form.cleaned_data["note"],
            )
        except ContractFileError as exc:
            problems = exc.problems
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(n)d of %(ref)s was imported.")
                % {"n": version.number, "ref": version.contract.reference},
            )
            return redirect("contracts:contract", contract_id=version.contract_id)
    status = 400 if problems else 200
    return render(
        request,
        "contracts/contract_import.html",
        {"form": form, "client": client, "problems": problems, "today": dt.date.today()},
        status=status,
    )
