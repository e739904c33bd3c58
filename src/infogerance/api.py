"""The user API, /api/v1/: every app's router, one authentication, one error format."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from infogerance import __version__
from infogerance.accounts.api import router as accounts_router
from infogerance.accounts.api_auth import (
    AuthenticationFailed,
    ReadOnlyToken,
    SessionAuth,
    TokenAuth,
)
from infogerance.accounts.middleware import record_denied
from infogerance.audit.api import router as audit_router
from infogerance.backups.api import router as backups_router
from infogerance.contracts.api import router as contracts_router
from infogerance.contracts.loader import ContractFileError
from infogerance.core.api import error_fields
from infogerance.helpdesk.api import router as helpdesk_router
from infogerance.inventory.api import router as inventory_router
from infogerance.knowledge.api import router as knowledge_router
from infogerance.sla.api import router as sla_router
from infogerance.tenancy.api import router as tenancy_router

api = NinjaAPI(
    title="Infogérance API",
    version=__version__,
    description=(
        "The user API of Infogérance. Authenticate with a personal token "
        "(`Authorization: Bearer ifg_…`) or the browser session. Lists use cursor "
        "pagination: pass `next_cursor` back as `cursor`."
    ),
    urls_namespace="api-v1",
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
)
api.add_router("", accounts_router)
api.add_router("", tenancy_router)
api.add_router("", audit_router)
api.add_router("", contracts_router)
api.add_router("", helpdesk_router)
api.add_router("", knowledge_router)
api.add_router("", sla_router)
api.add_router("", inventory_router)
api.add_router("", backups_router)


def _json(request: HttpRequest, status: int, detail: str, errors: Any = None) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


def _field_path(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for item in exc.errors:
        errors.setdefault(_field_path(item.get("loc", ())), []).append(str(item.get("msg")))
    return _json(request, 422, _("Invalid input."), errors)


@api.exception_handler(DjangoValidationError)
def on_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return _json(request, 400, _("Invalid input."), error_fields(exc))


@api.exception_handler(ContractFileError)
def on_contract_file(request: HttpRequest, exc: ContractFileError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for problem in exc.problems:
        place = f"line {problem.line}, column {problem.column}: " if problem.line else ""
        errors.setdefault(f"content.{problem.where}", []).append(place + problem.message)
    return _json(request, 400, _("The contract file has errors: nothing was imported."), errors)


@api.exception_handler(PermissionDenied)
def on_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    record_denied(request, getattr(request, "auth", None) or request.user, exc)
    return _json(request, 403, _("You do not have the right to do this."))


@api.exception_handler(ReadOnlyToken)
def on_read_only(request: HttpRequest, exc: ReadOnlyToken) -> HttpResponse:
    return _json(request, 403, _("This token is read-only."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _json(request, 404, _("Not found."))


@api.exception_handler(AuthenticationFailed)
def on_bad_token(request: HttpRequest, exc: AuthenticationFailed) -> HttpResponse:
    return _json(request, 401, str(exc))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _json(request, 401, _("Authentication required: a token or a session."))


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _json(request, 413, _("The request body is too large."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _json(request, exc.status_code, str(exc))
