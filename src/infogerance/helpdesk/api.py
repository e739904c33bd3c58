from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Router, Schema, Status, UploadedFile
from pydantic import Field

from infogerance.contracts.models import Contract
from infogerance.core.api import (
    Id,
    Limit,
    Page,
    StrictSchema,
    actor_of,
    keyset_page,
    with_errors,
)
from infogerance.helpdesk import services
from infogerance.helpdesk.models import Ticket, TicketEvent
from infogerance.helpdesk.workflow import Cause, Channel, Kind
from infogerance.helpdesk.workflow import Status as TicketStatus
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import Perm

router = Router(tags=["helpdesk"])


class TicketOut(Schema):
    id: int
    organization_id: int
    number: int
    contract_id: int
    service_code: str
    kind: str
    title: str
    description: str
    impact: str
    urgency: str
    priority: str
    status: str
    channel: str
    requester_id: int
    assignee_id: int | None
    queue: str
    cause: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class EventOut(Schema):
    seq: int
    at: dt.datetime
    kind: str
    status: str
    priority: str
    actor_label: str
    reason: str
    data: dict[str, Any]
    internal: bool


class TicketIn(StrictSchema):
    client_id: Id
    contract_id: Id
    service_code: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20000)
    impact: str = Field(min_length=1, max_length=40)
    urgency: str = Field(min_length=1, max_length=40)
    kind: Kind = Field(Kind.INCIDENT, strict=False)
    channel: Channel = Field(Channel.API, strict=False)


class TransitionIn(StrictSchema):
    status: TicketStatus = Field(strict=False)
    reason: str = Field("", max_length=500)
    cause: Cause | None = Field(None, strict=False)
    expected_version: int | None = Field(None, ge=1)


class AssignIn(StrictSchema):
    assignee_id: Id | None = None
    queue: str | None = Field(None, min_length=1, max_length=60)
    expected_version: int | None = Field(None, ge=1)


class PriorityIn(StrictSchema):
    impact: str = Field(min_length=1, max_length=40)
    urgency: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=500)
    expected_version: int | None = Field(None, ge=1)


class CommentIn(StrictSchema):
    text: str = Field(min_length=1, max_length=20000)
    internal: bool = False


class ReopenIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=500)
    expected_version: int | None = Field(None, ge=1)


def _find(request: HttpRequest, ticket_id: int) -> Ticket:
    from django.http import Http404

    actor = actor_of(request)
    # The tenant-safe lookup first (a probe across tenants is audited), then the narrower
    # rule of client users, who see their own requests only.
    ticket: Ticket = scope.get_visible_or_404(Ticket, actor, pk=ticket_id)
    if not services.visible_tickets(actor).filter(pk=ticket.pk).exists():
        raise Http404("no such ticket")
    return ticket


@router.get("/tickets", response=with_errors({200: Page[TicketOut]}), summary="Tickets")
def list_tickets(
    request: HttpRequest,
    organization_id: Id | None = None,
    status: TicketStatus | None = None,
    priority: str | None = None,
    service_code: str | None = None,
    assignee_id: Id | None = None,
    queue: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = services.visible_tickets(actor_of(request))
    filters = {
        "organization_id": organization_id,
        "status": status,
        "priority": priority,
        "service_code": service_code,
        "assignee_id": assignee_id,
        "queue": queue,
    }
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True)


@router.post("/tickets", response=with_errors({201: TicketOut}), summary="Open a ticket")
def open_ticket(request: HttpRequest, payload: TicketIn) -> Any:
    actor = actor_of(request)
    contract = scope.get_visible_or_404(
        Contract.objects.select_related("organization"), actor, pk=payload.contract_id
    )
    # Usually the contract's own client (one query for both); otherwise looked up on its own,
    # so that an invisible client is a 404 and a mismatch the service's error.
    client = (
        contract.organization
        if contract.organization_id == payload.client_id
        else scope.get_visible_or_404(Organization, actor, pk=payload.client_id)
    )
    ticket = services.open_ticket(
        actor=actor,
        client=client,
        contract=contract,
        service_code=payload.service_code,
        title=payload.title,
        description=payload.description,
        impact=payload.impact,
        urgency=payload.urgency,
        kind=payload.kind,
        channel=payload.channel,
    )
    return Status(201, ticket)


@router.get("/tickets/{ticket_id}", response=with_errors({200: TicketOut}))
def get_ticket(request: HttpRequest, ticket_id: Id) -> Any:
    return _find(request, ticket_id)


@router.get(
    "/tickets/{ticket_id}/events",
    response=with_errors({200: list[EventOut]}),
    summary="The ticket's timeline (immutable events)",
)
def ticket_events(request: HttpRequest, ticket_id: Id) -> Any:
    ticket = _find(request, ticket_id)
    events = TicketEvent.objects.filter(ticket=ticket).order_by("seq")
    if not scope.has_perm(actor_of(request), Perm.WORK_TICKETS, ticket.organization):
        events = events.filter(internal=False)
    return list(events)


@router.post("/tickets/{ticket_id}/transition", response=with_errors({200: TicketOut}))
def transition(request: HttpRequest, ticket_id: Id, payload: TransitionIn) -> Any:
    return services.transition(
        _find(request, ticket_id),
        actor=actor_of(request),
        status=payload.status,
        reason=payload.reason,
        cause=payload.cause or "",
        expected_version=payload.expected_version,
    )


@router.post("/tickets/{ticket_id}/assign", response=with_errors({200: TicketOut}))
def assign(request: HttpRequest, ticket_id: Id, payload: AssignIn) -> Any:
    from infogerance.tenancy.models import User

    ticket = _find(request, ticket_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = scope.get_visible_user_or_404(actor_of(request), payload.assignee_id)
        assert isinstance(assignee, User)
    return services.assign(
        ticket,
        actor=actor_of(request),
        assignee=assignee,
        queue=payload.queue,
        expected_version=payload.expected_version,
    )


@router.post("/tickets/{ticket_id}/priority", response=with_errors({200: TicketOut}))
def change_priority(request: HttpRequest, ticket_id: Id, payload: PriorityIn) -> Any:
    return services.change_priority(
        _find(request, ticket_id),
        actor=actor_of(request),
        impact=payload.impact,
        urgency=payload.urgency,
        reason=payload.reason,
        expected_version=payload.expected_version,
    )


@router.post("/tickets/{ticket_id}/comments", response=with_errors({201: EventOut}))
def comment(request: HttpRequest, ticket_id: Id, payload: CommentIn) -> Any:
    event = services.comment(
        _find(request, ticket_id),
        actor=actor_of(request),
        text=payload.text,
        internal=payload.internal,
    )
    return Status(201, event)


@router.post("/tickets/{ticket_id}/reopen", response=with_errors({200: TicketOut}))
def reopen(request: HttpRequest, ticket_id: Id, payload: ReopenIn) -> Any:
    return services.reopen(
        _find(request, ticket_id),
        actor=actor_of(request),
        reason=payload.reason,
        expected_version=payload.expected_version,
    )


class ClockOut(Schema):
    name: str
    level_ids: list[str]
    metric: str
    state: str
    priority: str | None
    elapsed_seconds: float
    target_seconds: float | None
    remaining_seconds: float | None
    started_at: dt.datetime | None
    stopped_at: dt.datetime | None
    deadline: dt.datetime | None
    breached_at: dt.datetime | None
    intervals: list[dict[str, Any]]


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


@router.get(
    "/tickets/{ticket_id}/clocks",
    response=with_errors({200: list[ClockOut]}),
    summary="The ticket's SLA clocks, each with every interval counted or excluded",
)
def ticket_clocks(request: HttpRequest, ticket_id: Id) -> Any:
    from infogerance.helpdesk.clocks import explain
    from infogerance.helpdesk.sla import ticket_clocks as compute

    result = []
    for clock in compute(_find(request, ticket_id)):
        r = clock.result
        result.append(
            {
                "name": clock.name,
                "level_ids": r.level_id.split(","),
                "metric": r.metric,
                "state": r.state,
                "priority": r.priority,
                "elapsed_seconds": r.elapsed.total_seconds(),
                "target_seconds": _seconds(r.target),
                "remaining_seconds": _seconds(r.remaining),
                "started_at": r.started_at,
                "stopped_at": r.stopped_at,
                "deadline": r.deadline,
                "breached_at": r.breached_at,
                "intervals": explain(r),
            }
        )
    return result


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    sha256: str
    content_type: str
    uploaded_by: str
    uploaded_at: dt.datetime
    internal: bool


# The file is optional in the schema so that the ticket lookup answers first (a stranger gets
# 404, not a validation error that would confirm nothing but reach the handler later).
OPTIONAL_FILE = File(None)


def _attachments(request: HttpRequest, ticket: Ticket) -> Any:
    from infogerance.helpdesk.models import Attachment

    qs = Attachment.objects.filter(ticket=ticket)
    if not scope.has_perm(actor_of(request), Perm.WORK_TICKETS, ticket.organization):
        qs = qs.filter(internal=False)
    return qs


@router.get("/tickets/{ticket_id}/attachments", response=with_errors({200: list[AttachmentOut]}))
def list_attachments(request: HttpRequest, ticket_id: Id) -> Any:
    return list(_attachments(request, _find(request, ticket_id)))


@router.post(
    "/tickets/{ticket_id}/attachments",
    response=with_errors({201: AttachmentOut}),
    summary="Attach a file (multipart/form-data, field 'file')",
)
def upload_attachment(
    request: HttpRequest,
    ticket_id: Id,
    internal: bool = False,
    file: UploadedFile | None = OPTIONAL_FILE,
) -> Any:
    from django.core.exceptions import ValidationError

    from infogerance.helpdesk.attachments import add_attachment

    ticket = _find(request, ticket_id)  # the lookup first: a stranger learns nothing
    if file is None:
        raise ValidationError({"file": ["Send the file as multipart/form-data, field 'file'."]})
    if file.size is not None and file.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"The file is too large ({file.size} bytes, at most "
                    f"{settings.ATTACHMENT_MAX_BYTES})."
                ]
            }
        )
    attachment = add_attachment(
        ticket,
        actor=actor_of(request),
        name=file.name or "file",
        content=file.read(),
        content_type=file.content_type or "application/octet-stream",
        internal=internal,
    )
    return Status(201, attachment)


@router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}",
    response=with_errors({200: str}),
    summary="Download an attachment",
)
def download_attachment(request: HttpRequest, ticket_id: Id, attachment_id: Id) -> Any:
    from django.http import FileResponse, Http404

    attachment = _attachments(request, _find(request, ticket_id)).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("no such attachment")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


class SurveyIn(StrictSchema):
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=5000)


class SurveyOut(Schema):
    score: int
    comment: str
    answered_at: dt.datetime


@router.post(
    "/tickets/{ticket_id}/survey",
    response=with_errors({201: SurveyOut}),
    summary="Answer the satisfaction survey (the requester, once resolved)",
)
def answer_survey(request: HttpRequest, ticket_id: Id, payload: SurveyIn) -> Any:
    answer = services.answer_survey(
        _find(request, ticket_id),
        actor=actor_of(request),
        score=payload.score,
        comment=payload.comment,
    )
    return Status(201, answer)


class NotificationOut(Schema):
    id: int
    ticket_id: int | None
    message: str
    created_at: dt.datetime
    read_at: dt.datetime | None


@router.get(
    "/notifications", response=with_errors({200: Page[NotificationOut]}), summary="My notifications"
)
def my_notifications(
    request: HttpRequest, unread: bool = False, cursor: str | None = None, limit: Limit = 50
) -> Any:
    from infogerance.helpdesk.models import Notification

    qs = Notification.objects.filter(user=actor_of(request))
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True)
