"""Denied accesses in the web UI go to the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from infogerance.audit.services import record


class DeniedAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied):
            record(
                actor=request.user,
                action="access.denied",
                target_repr=request.path[:200],
                after={"method": request.method, "reason": str(exception)[:200]},
            )
        return None
