from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from infogerance.audit.models import AuditEvent
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

PAGE = 50


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    """The trail, newest first; "more" loads the next page in place (HTMX) or as a page."""
    user: Any = request.user
    events = scope.visible(AuditEvent, user, Perm.VIEW_AUDIT).order_by("-seq")
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(seq__lt=int(before))
    rows = list(events[: PAGE + 1])
    context = {
        "events": rows[:PAGE],
        "next_before": rows[PAGE - 1].seq if len(rows) > PAGE else None,
        "action": action,
    }
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render(request, "audit/_rows.html", context)
    return render(request, "audit/event_list.html", context)


@login_required
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = scope.get_visible_or_404(AuditEvent, request.user, Perm.VIEW_AUDIT, pk=event_id)
    return render(request, "audit/event_detail.html", {"event": event})
