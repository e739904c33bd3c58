"""Pages of the backups: each client's repositories with their latest runs and drills."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from infogerance.backups import services
from infogerance.backups.models import BackupRepository, RunStatus
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
    return render(request, "backups/repository_list.html", {"rows": rows, "days": WINDOW_DAYS})


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
        "runs": repository.runs.select_related("asset").order_by("-started_at")[:100],
        "drills": repository.drills.select_related("asset").order_by("-started_at")[:50],
    }
    return render(request, "backups/repository_detail.html", context)
