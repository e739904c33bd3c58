"""Pages of the backups: each client's repositories with their latest runs and drills, and
the forms that record a repository and change what the platform knows of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infogerance.backups import services
from infogerance.backups.models import BackupRepository, RunStatus
from infogerance.core.forms import apply_errors
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import Perm

WINDOW_DAYS = 30


@login_required
def repository_list(request: HttpRequest) -> HttpResponse:
    """Repositories, each with its success rate over 30 days, last run and last drill."""
    user: Any = request.user
    if not scope.visible(Organization, user, Perm.VIEW_INVENTORY).exists():
        raise PermissionDenied("backups")
    since = timezone.now() - dt.timedelta(days=WINDOW_DAYS)
    rows = []
    for repository in services.visible_repositories(user).order_by("organization__name", "name"):
        recent = list(
            repository.runs.filter(started_at__gte=since).values_list("status", flat=True)
        )
        ok = sum(1 for status in recent if status == RunStatus.SUCCESS)
        rows.append(
            {
                "repository": repository,
                "runs": len(recent),
                "rate": ok / len(recent) if recent else None,
                "last_run": repository.runs.order_by("-started_at").first(),
                "last_drill": repository.drills.order_by("-started_at").first(),
            }
        )
    context = {
        "rows": rows,
        "days": WINDOW_DAYS,
        "can_manage": bool(scope.active_clients(user, Perm.MANAGE_INVENTORY)),
    }
    return render(request, "backups/repository_list.html", context)


@login_required
def repository_detail(request: HttpRequest, repository_id: int) -> HttpResponse:
    repository: BackupRepository = scope.get_visible_or_404(
        BackupRepository.objects.select_related("organization"),
        request.user,
        Perm.VIEW_INVENTORY,
        pk=repository_id,
    )
    context = {
        "repository": repository,
        "can_manage": scope.has_perm(request.user, Perm.MANAGE_INVENTORY, repository.organization),
        "runs": repository.runs.select_related("asset").order_by("-started_at")[:100],
        "drills": repository.drills.select_related("asset").order_by("-started_at")[:50],
    }
    return render(request, "backups/repository_detail.html", context)


class RepositoryForm(forms.Form):
    organization = forms.TypedChoiceField(label=gettext_lazy("Client"), coerce=int)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    location = forms.CharField(
        label=gettext_lazy("Location"),
        max_length=500,
        help_text=gettext_lazy(
            "Where the repository is: a local path, or s3:https://host/bucket/prefix."
        ),
    )
    service_code = forms.CharField(
        label=gettext_lazy("Contract service"),
        max_length=40,
        required=False,
        help_text=gettext_lazy(
            "The code of the contract's backup service (e.g. SAUV): its runs and drills then "
            "count in that service's levels."
        ),
    )
    key_reference = forms.CharField(
        label=gettext_lazy("Where the key is kept"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Where the password is kept (a vault entry), never the password."),
    )
    repository_id = forms.CharField(
        label=gettext_lazy("Repository id"),
        max_length=64,
        required=False,
        help_text=gettext_lazy(
            "The id printed by backup init (64 hexadecimal digits): runs and drills that "
            "agents report are linked by it."
        ),
    )

    def __init__(self, *args: Any, clients: list[Organization] | None, **kwargs: Any) -> None:
        """``clients``: where a new repository may be recorded (None when editing one)."""
        super().__init__(*args, **kwargs)
        if clients is None:
            del self.fields["organization"]
        else:
            organization: Any = self.fields["organization"]
            organization.choices = [(c.pk, c.name) for c in clients]


@login_required
def repository_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    clients = scope.active_clients(user, Perm.MANAGE_INVENTORY)
    if not clients:
        raise PermissionDenied("recording backup repositories")
    form = RepositoryForm(request.POST or None, clients=clients)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        client = next(c for c in clients if c.pk == data.pop("organization"))
        try:
            repository = services.create_repository(actor=user, client=client, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The repository was recorded."))
            return redirect("backups:repository", repository_id=repository.pk)
    return render(request, "backups/repository_form.html", {"form": form, "repository": None})


@login_required
def repository_edit(request: HttpRequest, repository_id: int) -> HttpResponse:
    user: Any = request.user
    repository: BackupRepository = scope.get_visible_or_404(
        BackupRepository.objects.select_related("organization"),
        user,
        Perm.VIEW_INVENTORY,
        pk=repository_id,
    )
    scope.require(user, Perm.MANAGE_INVENTORY, repository.organization)
    initial = {name: getattr(repository, name) for name in services.REPOSITORY_FIELDS}
    form = RepositoryForm(request.POST or None, clients=None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_repository(repository, actor=user, fields=dict(form.cleaned_data))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The repository was saved."))
            return redirect("backups:repository", repository_id=repository.pk)
    context = {"form": form, "repository": repository}
    return render(request, "backups/repository_form.html", context)
