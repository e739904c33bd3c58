"""Writes on tickets: each one appends an event, updates the projection, checks the version."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.contracts.models import Contract, ContractVersion
from infogerance.core.actors import SystemActor, actor_id, actor_label
from infogerance.core.services import service
from infogerance.helpdesk.models import Ticket, TicketCounter, TicketEvent
from infogerance.helpdesk.workflow import REOPENABLE, Cause, Channel, Kind, Status, allowed
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization, User
from infogerance.tenancy.roles import OrganizationKind, Perm, Role


def visible_tickets(user: Any) -> QuerySet[Ticket]:
    """Tickets a person may see: all of an organisation for its managers, auditors and the
    provider's staff; only their own requests for a client user."""
    tickets = scope.visible(Ticket, user)
    restricted = [
        g.organization_id
        for g in scope.grants_of(user)
        if g.role == Role.CLIENT_USER
        and not any(
            o.organization_id == g.organization_id and o.role != Role.CLIENT_USER
            for o in scope.grants_of(user)
        )
    ]
    if restricted:
        tickets = tickets.filter(~Q(organization_id__in=restricted) | Q(requester_id=user.pk))
    return tickets


def _check_version(ticket: Ticket, expected: int | None) -> None:
    if expected is not None and expected != ticket.version:
        raise ValidationError(
            {
                "version": [
                    _("This ticket changed meanwhile (version %(now)d, not %(seen)d): reload it.")
                    % {"now": ticket.version, "seen": expected}
                ]
            }
        )


def _append(
    ticket: Ticket,
    *,
    actor: Any,
    kind: str,
    status: str = "",
    priority: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    internal: bool = False,
) -> TicketEvent:
    last = ticket.events.aggregate(m=Max("seq"))["m"] or 0
    now = timezone.now()
    event = TicketEvent.objects.create(
        ticket=ticket,
        seq=last + 1,
        at=now,
        kind=kind,
        status=status,
        priority=priority,
        actor_id=actor_id(actor),
        actor_label=actor_label(actor)[:254],
        reason=reason[:500],
        data=data or {},
        internal=internal,
    )
    ticket.updated_at = now
    ticket.version += 1
    return event


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("organization").get(pk=ticket.pk)


def _audit(actor: Any, action: str, ticket: Ticket, after: dict[str, Any]) -> None:
    record(
        actor=actor, action=action, target=ticket, after=after, tenant=ticket.organization.tenant
    )


def priority_for(
    contract: Contract, impact: str, urgency: str, version: ContractVersion | None = None
) -> str:
    """The priority of ``impact`` × ``urgency`` in the contract's matrix (of ``version``,
    else of the version in force today)."""
    version = version or contract.version_in_force(timezone.localdate()) or contract.latest
    document = version.parsed() if version else None
    matrix = document.priority_matrix if document else None
    if matrix is None:
        raise ValidationError({"impact": [_("The contract has no priority matrix.")]})
    errors: dict[str, list[str]] = {}
    if impact not in matrix.impacts:
        errors["impact"] = [_("Choose one of: %(list)s.") % {"list": ", ".join(matrix.impacts)}]
    if urgency not in matrix.urgencies:
        errors["urgency"] = [_("Choose one of: %(list)s.") % {"list": ", ".join(matrix.urgencies)}]
    if errors:
        raise ValidationError(errors)
    return matrix.matrix[impact][urgency]


def _next_number(client: Organization) -> int:
    """The client's next ticket number, in one statement: the counter row is created with 1
    or incremented, and stays locked until the transaction ends, so numbers are given one
    at a time per client and never twice (a rolled-back ticket gives its number back)."""
    table = connection.ops.quote_name(TicketCounter._meta.db_table)  # the model's, not input
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, last_number) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (organization_id) DO UPDATE SET last_number = {table}.last_number + 1 "
            "RETURNING last_number",
            [client.pk],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


@service
def open_ticket(
    *,
    actor: Any,
    client: Organization,
    contract: Contract,
    service_code: str,
    title: str,
    impact: str,
    urgency: str,
    kind: str = Kind.INCIDENT,
    description: str = "",
    channel: str = Channel.PORTAL,
    requester: User | None = None,
) -> Ticket:
    if client.kind != OrganizationKind.CLIENT:
        raise ValidationError({"client": [_("Tickets belong to a client organisation.")]})
    scope.require(actor, Perm.OPEN_TICKET, client)
    errors: dict[str, list[str]] = {}
    if contract.organization_id != client.pk:
        errors["contract"] = [_("This contract is not this client's.")]
    version = contract.version_in_force(timezone.localdate())
    if version is None:
        errors["contract"] = [_("No version of this contract is in force today.")]
    elif service_code not in {s.code for s in version.parsed().catalogue}:
        errors["service_code"] = [_("This service is not in the client's contract.")]
    title = title.strip()
    if not title:
        errors["title"] = [_("This field is required.")]
    if kind not in Kind.values:
        errors["kind"] = [_("Unknown kind of ticket.")]
    if channel not in Channel.values:
        errors["channel"] = [_("Unknown channel.")]
    if errors:
        raise ValidationError(errors)
    priority = priority_for(contract, impact, urgency, version)
    who = requester or (actor if isinstance(actor, User) else None)
    if who is None:
        raise ValidationError({"requester": [_("Say who asks (a member of the client).")]})
    number = _next_number(client)
    now = timezone.now()
    ticket = Ticket.objects.create(
        organization=client,
        number=number,
        contract=contract,
        service_code=service_code,
        kind=kind,
        title=title[:200],
        description=description,
        impact=impact,
        urgency=urgency,
        priority=priority,
        status=Status.NEW,
        channel=channel,
        requester=who,
        created_at=now,
        updated_at=now,
        version=1,
    )
    TicketEvent.objects.create(
        ticket=ticket,
        seq=1,
        at=now,
        kind="created",
        status=Status.NEW,
        priority=priority,
        actor_id=actor_id(actor),
        actor_label=actor_label(actor)[:254],
        data={"impact": impact, "urgency": urgency, "service": service_code, "kind": kind},
    )
    _audit(
        actor,
        "ticket.create",
        ticket,
        {"number": number, "priority": priority, "service": service_code},
    )
    return ticket


@service
def transition(
    ticket: Ticket,
    *,
    actor: Any,
    status: str,
    reason: str = "",
    cause: str = "",
    expected_version: int | None = None,
) -> Ticket:
    ticket = _locked(ticket)
    _check_version(ticket, expected_version)
    works = isinstance(actor, SystemActor) or scope.has_perm(
        actor, Perm.WORK_TICKETS, ticket.organization
    )
    # The client confirms a restoration (restored → resolved); everything else is the
    # provider's work.
    client_confirms = status == Status.RESOLVED and ticket.status == Status.RESTORED
    if not works and not (
        client_confirms and scope.has_perm(actor, Perm.OPEN_TICKET, ticket.organization)
    ):
        raise PermissionDenied("working a ticket")
    if status not in Status.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    if not allowed(ticket.status, status):
        raise ValidationError(
            {
                "status": [
                    _("A ticket cannot go from %(old)s to %(new)s.")
                    % {"old": Status(ticket.status).label, "new": Status(status).label}
                ]
            }
        )
    if status == Status.CLOSED:
        if cause not in Cause.values:
            raise ValidationError({"cause": [_("Say who caused the incident to close it.")]})
        ticket.cause = cause
    before = ticket.status
    _append(
        ticket,
        actor=actor,
        kind="status",
        status=status,
        reason=reason,
        data={"cause": cause} if cause else None,
    )
    ticket.status = status
    ticket.save()
    _audit(actor, "ticket.status", ticket, {"from": before, "to": status, "reason": reason})
    return ticket


@service
def reopen(
    ticket: Ticket, *, actor: Any, reason: str, expected_version: int | None = None
) -> Ticket:
    ticket = _locked(ticket)
    _check_version(ticket, expected_version)
    scope.require(actor, Perm.OPEN_TICKET, ticket.organization)
    if ticket.status not in REOPENABLE:
        raise ValidationError(
            {"status": [_("Only a restored, resolved or closed ticket is reopened.")]}
        )
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the ticket is reopened.")]})
    _append(ticket, actor=actor, kind="reopened", status=Status.INTERVENTION_STARTED, reason=reason)
    ticket.status = Status.INTERVENTION_STARTED
    ticket.cause = ""
    ticket.save()
    _audit(actor, "ticket.reopen", ticket, {"reason": reason})
    return ticket


@service
def assign(
    ticket: Ticket,
    *,
    actor: Any,
    assignee: User | None,
    queue: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    ticket = _locked(ticket)
    _check_version(ticket, expected_version)
    scope.require(actor, Perm.WORK_TICKETS, ticket.organization)
    if assignee is not None and not scope.has_perm(
        assignee, Perm.WORK_TICKETS, ticket.organization
    ):
        raise ValidationError({"assignee": [_("This person does not work this client's tickets.")]})
    _append(
        ticket,
        actor=actor,
        kind="assigned",
        data={
            "assignee_id": assignee.pk if assignee else None,
            "assignee": str(assignee) if assignee else "",
            "queue": queue or ticket.queue,
        },
    )
    ticket.assignee = assignee
    if queue:
        ticket.queue = queue[:60]
    ticket.save()
    _audit(
        actor,
        "ticket.assign",
        ticket,
        {"assignee_id": assignee.pk if assignee else None, "queue": ticket.queue},
    )
    return ticket


@service
def change_priority(
    ticket: Ticket,
    *,
    actor: Any,
    impact: str,
    urgency: str,
    reason: str,
    expected_version: int | None = None,
) -> Ticket:
    ticket = _locked(ticket)
    _check_version(ticket, expected_version)
    scope.require(actor, Perm.WORK_TICKETS, ticket.organization)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the priority changes.")]})
    priority = priority_for(ticket.contract, impact, urgency)
    before = ticket.priority
    _append(
        ticket,
        actor=actor,
        kind="priority",
        priority=priority,
        reason=reason,
        data={"impact": impact, "urgency": urgency},
    )
    ticket.impact, ticket.urgency, ticket.priority = impact, urgency, priority
    ticket.save()
    _audit(actor, "ticket.priority", ticket, {"from": before, "to": priority, "reason": reason})
    return ticket


@service
def comment(ticket: Ticket, *, actor: Any, text: str, internal: bool = False) -> TicketEvent:
    ticket = _locked(ticket)
    perm = Perm.WORK_TICKETS if internal else Perm.OPEN_TICKET
    if not isinstance(actor, SystemActor) and not scope.has_perm(actor, perm, ticket.organization):
        raise PermissionDenied("commenting")
    if ticket.status == Status.CLOSED:
        raise ValidationError({"text": [_("A closed ticket takes no comment: reopen it.")]})
    text = text.strip()
    if not text:
        raise ValidationError({"text": [_("This field is required.")]})
    event = _append(
        ticket, actor=actor, kind="comment", data={"text": text[:20000]}, internal=internal
    )
    ticket.save()
    _audit(actor, "ticket.comment", ticket, {"internal": internal, "seq": event.seq})
    return event


@service
def answer_survey(ticket: Ticket, *, actor: Any, score: int, comment: str = "") -> Any:
    """The requester rates a resolved ticket from 1 to 5, once."""
    from infogerance.helpdesk.models import SatisfactionAnswer

    ticket = _locked(ticket)
    if getattr(actor, "pk", None) != ticket.requester_id:
        raise PermissionDenied("only the requester answers the survey")
    if ticket.status not in {Status.RESOLVED, Status.CLOSED}:
        raise ValidationError({"score": [_("The survey opens once the ticket is resolved.")]})
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": [_("Give a score from 1 to 5.")]})
    if SatisfactionAnswer.objects.filter(ticket=ticket).exists():
        raise ValidationError({"score": [_("This survey was already answered.")]})
    answer = SatisfactionAnswer.objects.create(
        ticket=ticket,
        score=score,
        comment=comment.strip()[:5000],
        answered_by=actor_label(actor)[:254],
    )
    _audit(actor, "ticket.satisfaction", ticket, {"score": score})
    return answer


@service
def bulk_assign(tickets: list[Ticket], *, actor: Any, assignee: User) -> int:
    """Assign several tickets at once; each is checked and audited like a single one."""
    for ticket in tickets:
        assign(ticket, actor=actor, assignee=assignee)
    return len(tickets)
