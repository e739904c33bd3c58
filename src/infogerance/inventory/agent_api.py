"""The agent API, /api/agent/v1/: versioned, separate from the user API.

Agents authenticate with their own credential (``Authorization: Bearer iga_…``), never with
a person's token, and write only their own asset. Bodies are read as raw JSON (orjson) and
validated by :mod:`infogerance.inventory.payload`, whose errors name the report and field.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from infogerance import __version__
from infogerance.core.api import ErrorOut
from infogerance.inventory import services
from infogerance.inventory.models import Agent
from infogerance.inventory.payload import PayloadError
from infogerance.inventory.services import AGENT_ACTOR, AgentCredential, EnrolmentRefused

# A report batch this small is read before its credential is looked up (see AgentAuth).
DEFERRED_BODY_BYTES = 8 * 1024


class AgentAuth(HttpBearer):
    """The agent's credential. With ``defer``, the credential of a small request (a declared
    body of at most DEFERRED_BODY_BYTES) is not looked up here but by the service, so that a
    lone heartbeat is checked and stored by one statement; a bigger one is looked up first,
    before its body is read."""

    openapi_scheme = "bearer"

    def __init__(self, *, defer: bool = False) -> None:
        super().__init__()
        self.defer = defer

    def __call__(self, request: HttpRequest) -> Agent | AgentCredential | None:
        # HttpBearer's, reading the header from META: request.headers would parse every
        # variable of the WSGI environment, on every report.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _space, token = header.partition(" ")
        if not header or scheme.lower() != self.openapi_scheme:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Agent | AgentCredential | None:
        credential = token.strip()
        declared = request.META.get("CONTENT_LENGTH") or ""
        if self.defer and declared.isdigit() and int(declared) <= DEFERRED_BODY_BYTES:
            return AgentCredential(credential)
        agent = services.authenticate_agent(credential)
        request.agent = agent  # type: ignore[attr-defined]
        return agent


agent_api = NinjaAPI(
    title="Infogérance agent API",
    version=__version__,
    description="What enrolled agents call. See docs/formats/agent.md.",
    urls_namespace="api-agent-v1",
    auth=[AgentAuth()],
    docs_url="/docs",
)


class BodyError(Exception):
    def __init__(self, status: int, detail: str, errors: dict[str, list[str]] | None = None):
        self.status, self.detail, self.errors = status, detail, errors or {}


def _answer(request: HttpRequest, status: int, detail: str, errors: Any = None) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors:
        body["errors"] = errors
    return agent_api.create_response(request, body, status=status)


@agent_api.exception_handler(BodyError)
def on_body_error(request: HttpRequest, exc: BodyError) -> HttpResponse:
    return _answer(request, exc.status, exc.detail, exc.errors)


@agent_api.exception_handler(PayloadError)
def on_payload_error(request: HttpRequest, exc: PayloadError) -> HttpResponse:
    return _answer(request, 400, f"Invalid report: {exc}; nothing was stored.", exc.errors)


@agent_api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _answer(request, 401, "Unknown or revoked agent credential: enrol the agent again.")


@agent_api.exception_handler(EnrolmentRefused)
def on_enrolment_refused(request: HttpRequest, exc: EnrolmentRefused) -> HttpResponse:
    return _answer(request, 401, f"The enrolment token is {exc.reason}.")


@agent_api.exception_handler(PermissionDenied)
def on_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _answer(request, 401, "Unknown or revoked agent credential: enrol the agent again.")


def read_json(request: HttpRequest) -> Any:
    """The JSON body, at most AGENT_MAX_BODY_BYTES (413 beyond, before reading it all)."""
    limit = settings.AGENT_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"The body is too large (limit: {limit} bytes).")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise BodyError(413, f"The body is too large (limit: {limit} bytes).")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"The body is not valid JSON: {exc}.") from None


class EnrolOut(Schema):
    agent_id: str
    credential: str
    asset_id: int
    client: str
    heartbeat_seconds: int
    inventory_seconds: int


class ReportResult(Schema):
    report_id: str
    status: str


class ReportsOut(Schema):
    results: list[ReportResult]


class AgentOut(Schema):
    agent_id: str
    asset_id: int
    client: str
    last_sequence: int
    heartbeat_seconds: int
    inventory_seconds: int


ERRORS = {400: ErrorOut, 401: ErrorOut, 413: ErrorOut}


@agent_api.post(
    "/enroll",
    auth=None,
    response={201: EnrolOut, **ERRORS},
    summary="Enrol an agent with an enrolment token",
)
def enroll(request: HttpRequest) -> Status:
    enrolled = services.enroll(actor=AGENT_ACTOR, body=read_json(request))
    agent = enrolled.agent
    return Status(
        201,
        {
            "agent_id": agent.uid.hex,
            "credential": enrolled.credential,
            "asset_id": agent.asset_id,
            "client": agent.organization.slug,
            "heartbeat_seconds": agent.heartbeat_seconds,
            "inventory_seconds": services.INVENTORY_SECONDS,
        },
    )


@agent_api.post(
    "/reports",
    auth=[AgentAuth(defer=True)],
    response={200: ReportsOut, **ERRORS},
    summary="Deliver reports",
)
def reports(request: HttpRequest) -> HttpResponse:
    holder: Agent | AgentCredential = request.auth  # type: ignore[attr-defined]
    try:
        body = read_json(request)
    except BodyError:
        if isinstance(holder, AgentCredential):
            holder.agent()  # an unknown credential is refused first, as when looked up first
        raise
    results = services.ingest(holder, body, actor=AGENT_ACTOR)
    # Rendered as the API renders ReportsOut, without validating again what the service
    # made (every agent request ends here: a heartbeat is short enough for it to count).
    answer = {"results": [{"report_id": r, "status": s} for r, s in results]}
    return agent_api.create_response(request, answer, status=200)


@agent_api.get("/me", response={200: AgentOut, 401: ErrorOut}, summary="The calling agent")
def me(request: HttpRequest) -> dict[str, Any]:
    agent: Agent = request.agent  # type: ignore[attr-defined]
    return {
        "agent_id": agent.uid.hex,
        "asset_id": agent.asset_id,
        "client": agent.organization.slug,
        "last_sequence": agent.last_sequence,
        "heartbeat_seconds": agent.heartbeat_seconds,
        "inventory_seconds": services.INVENTORY_SECONDS,
    }
