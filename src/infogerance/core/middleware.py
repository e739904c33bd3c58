"""Cross-cutting HTTP concerns: request context, body size limit, security headers, and the
short path of bearer-token API requests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from infogerance.core import context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

Handler = Callable[[HttpRequest], HttpResponse]


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address, for the audit trail and login throttling.

    Without a proxy, REMOTE_ADDR. Behind INFOGERANCE_PROXY_HOPS trusted proxies, the address
    the outermost trusted proxy saw: the Nth entry from the right of X-Forwarded-For (entries
    further left are whatever the client chose to send, and are never trusted).
    """
    hops = settings.PROXY_HOPS
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def is_bearer_api(request: HttpRequest) -> bool:
    """An API request that authenticates with a bearer token (``Authorization: Bearer …``)."""
    return request.path_info.startswith("/api/") and request.META.get(
        "HTTP_AUTHORIZATION", ""
    ).startswith("Bearer ")


class BearerShortcutMiddleware:
    """Send bearer-token API requests through ``settings.BEARER_MIDDLEWARE`` instead of the
    rest of ``settings.MIDDLEWARE``.

    A request that carries a token is authenticated by the token alone: it never reads a
    session cookie (``request.user`` is anonymous, so the API's cookie authentication
    cannot apply), so the session, CSRF, login, second-factor, messages and lockout
    middleware would only cost time (about a tenth of a heartbeat's CPU). Everything else
    runs as for any request: the views, their exception handlers, the URL resolution, the
    response headers. Placed first in ``MIDDLEWARE``; other requests go on unchanged.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.bearer = _chain(settings.BEARER_MIDDLEWARE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_bearer_api(request):
            request.user = AnonymousUser()
            return self.bearer(request)
        return self.get_response(request)


def _chain(middleware: list[str]) -> Handler:
    """The request handler Django builds for ``middleware`` (the views' middleware hooks
    included), as it builds the one of ``settings.MIDDLEWARE``."""
    handler = BaseHandler()
    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = list(middleware)  # read by load_middleware only, at start-up
    try:
        handler.load_middleware()
    finally:
        settings.MIDDLEWARE = full
    chain: Handler | None = getattr(handler, "_middleware_chain", None)
    assert chain is not None
    return chain


class RequestContextMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # From META, not request.headers: building that parses every variable of the WSGI
        # environment (the server puts its own environment there), on every request.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = context.bind(
            context.RequestContext(
                request_id=request_id,
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class BodySizeLimitMiddleware:
    """Refuse a declared body above MAX_REQUEST_BODY_BYTES with 413, before any view runs."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            size = -1
        limit = settings.MAX_REQUEST_BODY_BYTES
        if size < 0 or size > limit:
            message = _("The request body is too large (limit: %(limit)d bytes).") % {
                "limit": limit
            }
            if size < 0:
                message = _("Invalid Content-Length header.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413 if size >= 0 else 400)
            return HttpResponse(
                message, status=413 if size >= 0 else 400, content_type="text/plain"
            )
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and the headers Django's SecurityMiddleware does not set."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
