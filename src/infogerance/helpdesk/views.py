from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from infogerance.contracts.models import Contract
from infogerance.core.forms import apply_errors
from infogerance.helpdesk import forms, services
from infogerance.helpdesk.models import Ticket, TicketEvent
from infogerance.helpdesk.sla import clocks_for, ticket_clocks
from infogerance.helpdesk.workflow import TRANSITIONS, Status
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

PAGE = 50


def _find(request: HttpRequest, ticket_id: int) -> Ticket:
    user: Any = request.user
    ticket: Ticket = scope.get_visible_or_404(
        Ticket.objects.select_related("organization", "contract", "requester", "assignee"),
        user,
        pk=ticket_id,
    )
    if not services.visible_tickets(user).filter(pk=ticket.pk).exists():
        raise Http404("no such ticket")
    return ticket


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    tickets = services.visible_tickets(user).select_related("organization", "assignee")
    filters: dict[str, Any] = {}
    for name in ("status", "priority", "service_code", "queue"):
        value = request.GET.get(name, "").strip()
        if value:
            filters[name] = value[:40]
    organization = request.GET.get("organization", "")
    if organization.isdigit() and len(organization) < 19:
        filters["organization_id"] = int(organization)
    if request.GET.get("mine"):
        filters["assignee_id"] = user.pk
    wanted_sla = request.GET.get("sla", "")
    rows = []
    # The SLA state is computed from each ticket's events: for a filter on it, up to
    # SLA_SCAN tickets are examined (the list shows the first PAGE that match).
    candidates = list(tickets.filter(**filters).order_by("-created_at", "-pk")[:SLA_SCAN])
    for start in range(0, len(candidates), PAGE):
        chunk = candidates[start : start + PAGE]
        states = worst_states(chunk)
        for ticket in chunk:
            if wanted_sla and states[ticket.pk] != wanted_sla:
                continue
            rows.append((ticket, states[ticket.pk]))
        if len(rows) >= PAGE:
            rows = rows[:PAGE]
            break
    openable = [
        c
        for c in scope.visible(Contract, user).select_related("organization")
        if scope.has_perm(user, Perm.OPEN_TICKET, c.organization)
    ]
    engineers = []
    if any(scope.has_perm(user, Perm.WORK_TICKETS, t.organization) for t, _s in rows):
        engineers = list(
            scope.visible_users(user)
            .filter(is_active=True, memberships__role__in=["provider_engineer", "provider_admin"])
            .distinct()
        )
    return render(
        request,
        "helpdesk/ticket_list.html",
        {
            "rows": rows,
            "statuses": Status.choices,
            "filters": request.GET,
            "can_open": bool(openable),
            "engineers": engineers,
            "sla_states": SLA_STATES,
        },
    )


SLA_SCAN = 500
# From the most to the least pressing: the state shown for a ticket is its worst clock's.
SLA_STATES = ["breached", "running", "paused", "met", "not_started", "not_applicable"]


def worst_states(tickets: list[Ticket]) -> dict[int, str]:
    """The state of each ticket's most pressing clock (computed for the batch at once)."""
    result = {}
    for ticket_id, ticket_clocks_ in clocks_for(tickets).items():
        states = {clock.result.state for clock in ticket_clocks_}
        result[ticket_id] = next((s for s in SLA_STATES if s in states), "")
    return result


def _offer(user: Any) -> tuple[list[tuple[str, str]], list[str], list[str], dict[str, Any]]:
    """Services the person may open a ticket on, and the matrices' impacts and urgencies."""
    services_offered: list[tuple[str, str]] = []
    impacts: list[str] = []
    urgencies: list[str] = []
    contracts: dict[str, Any] = {}
    today = timezone.localdate()
    for contract in scope.visible(Contract, user).select_related("organization"):
        if not scope.has_perm(user, Perm.OPEN_TICKET, contract.organization):
            continue
        version = contract.version_in_force(today)
        if version is None:
            continue
        document = version.parsed()
        for service in document.catalogue:
            key = f"{contract.pk}:{service.code}"
            services_offered.append(
                (key, f"{contract.organization.name} — {service.name} ({contract.reference})")
            )
            contracts[key] = (contract, service.code)
        if document.priority_matrix:
            impacts += [i for i in document.priority_matrix.impacts if i not in impacts]
            urgencies += [u for u in document.priority_matrix.urgencies if u not in urgencies]
    return services_offered, impacts, urgencies, contracts


@login_required
def ticket_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    offered, impacts, urgencies, contracts = _offer(user)
    if not offered:
        raise Http404("no contracted service")
    form = forms.TicketForm(
        request.POST or None, services=offered, impacts=impacts, urgencies=urgencies
    )
    if request.method == "POST" and form.is_valid():
        contract, code = contracts[form.cleaned_data["service"]]
        try:
            ticket = services.open_ticket(
                actor=user,
                client=contract.organization,
                contract=contract,
                service_code=code,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                kind=form.cleaned_data["kind"],
                impact=form.cleaned_data["impact"],
                urgency=form.cleaned_data["urgency"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Ticket #%(n)d was opened.") % {"n": ticket.number})
            return redirect("helpdesk:ticket", ticket_id=ticket.pk)
    return render(request, "helpdesk/ticket_form.html", {"form": form})


def _page_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    user: Any = request.user
    works = scope.has_perm(user, Perm.WORK_TICKETS, ticket.organization)
    events = TicketEvent.objects.filter(ticket=ticket).order_by("seq")
    if not works:
        events = events.filter(internal=False)
    next_statuses = [
        (s, Status(s).label) for s in Status.values if s in TRANSITIONS.get(ticket.status, set())
    ]
    return {
        "ticket": ticket,
        "events": events,
        "works": works,
        "can_comment": scope.has_perm(user, Perm.OPEN_TICKET, ticket.organization)
        and ticket.status != Status.CLOSED,
        "can_confirm": not works
        and ticket.status == Status.RESTORED
        and scope.has_perm(user, Perm.OPEN_TICKET, ticket.organization),
        "can_reopen": ticket.status in {Status.RESTORED, Status.RESOLVED, Status.CLOSED}
        and scope.has_perm(user, Perm.OPEN_TICKET, ticket.organization),
        "next_statuses": next_statuses,
        "comment_form": forms.CommentForm(),
        "attachments": [a for a in ticket.attachments.all() if works or not a.internal],
        "can_answer_survey": ticket.status in {Status.RESOLVED, Status.CLOSED}
        and ticket.requester_id == user.pk
        and not hasattr(ticket, "satisfaction"),
    }


@login_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _find(request, ticket_id)
    context = _page_context(request, ticket)
    context["clocks"] = ticket_clocks(ticket)
    return render(request, "helpdesk/ticket_detail.html", context)


@login_required
def ticket_clocks_partial(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The live clocks (the ticket page refreshes them with HTMX), each with its explanation."""
    ticket = _find(request, ticket_id)
    context = {"ticket": ticket, "clocks": ticket_clocks(ticket)}
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render(request, "helpdesk/_clocks.html", context)
    # Opened directly, it is the clock explanation page.
    return render(request, "helpdesk/clocks_page.html", context)


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _after(request: HttpRequest, ticket: Ticket, action: Any) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("helpdesk:ticket", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_transition(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _find(request, ticket_id)
    return _after(
        request,
        ticket,
        lambda: services.transition(
            ticket,
            actor=request.user,
            status=request.POST.get("status", ""),
            reason=request.POST.get("reason", ""),
            cause=request.POST.get("cause", ""),
            expected_version=_version(request),
        ),
    )


@login_required
@require_POST
def ticket_take(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Assign the ticket to oneself."""
    ticket = _find(request, ticket_id)
    return _after(
        request,
        ticket,
        lambda: services.assign(
            ticket,
            actor=request.user,
            assignee=request.user,  # type: ignore[arg-type]
            expected_version=_version(request),
        ),
    )


@login_required
@require_POST
def ticket_comment(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _find(request, ticket_id)
    return _after(
        request,
        ticket,
        lambda: services.comment(
            ticket,
            actor=request.user,
            text=request.POST.get("text", ""),
            internal=bool(request.POST.get("internal")),
        ),
    )


@login_required
@require_POST
def ticket_reopen(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _find(request, ticket_id)
    return _after(
        request,
        ticket,
        lambda: services.reopen(
            ticket,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            expected_version=_version(request),
        ),
    )


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The person's own notifications; opening the page marks them read."""
    from infogerance.helpdesk.models import Notification

    user: Any = request.user
    mine = Notification.objects.filter(user=user).select_related("ticket")[:100]
    rows = list(mine)
    Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "helpdesk/notifications.html", {"notifications": rows})


@login_required
@require_POST
def ticket_attach(request: HttpRequest, ticket_id: int) -> HttpResponse:
    from infogerance.helpdesk.attachments import add_attachment

    ticket = _find(request, ticket_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
        return redirect("helpdesk:ticket", ticket_id=ticket.pk)
    if upload.size is not None and upload.size > settings.ATTACHMENT_MAX_BYTES:
        messages.error(
            request,
            _("The file is too large (%(size)d bytes, at most %(max)d).")
            % {"size": upload.size, "max": settings.ATTACHMENT_MAX_BYTES},
        )
        return redirect("helpdesk:ticket", ticket_id=ticket.pk)
    return _after(
        request,
        ticket,
        lambda: add_attachment(
            ticket,
            actor=request.user,
            name=upload.name or "file",
            content=upload.read(),
            content_type=upload.content_type or "application/octet-stream",
            internal=bool(request.POST.get("internal")),
        ),
    )


@login_required
def attachment_download(request: HttpRequest, ticket_id: int, attachment_id: int) -> Any:
    """Served only to people who see the ticket (and its internal files, to the provider)."""
    from django.http import FileResponse

    from infogerance.helpdesk.models import Attachment

    ticket = _find(request, ticket_id)
    attachment = Attachment.objects.filter(ticket=ticket, pk=attachment_id).first()
    works = scope.has_perm(request.user, Perm.WORK_TICKETS, ticket.organization)
    if attachment is None or (attachment.internal and not works):
        raise Http404("no such attachment")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def ticket_survey(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _find(request, ticket_id)
    raw = request.POST.get("score", "")
    score = int(raw) if raw.isdigit() and len(raw) < 3 else 0

    def answer() -> None:
        services.answer_survey(
            ticket, actor=request.user, score=score, comment=request.POST.get("comment", "")
        )
        messages.success(request, _("Thank you for your answer."))

    return _after(request, ticket, answer)


@login_required
@require_POST
def ticket_bulk_assign(request: HttpRequest) -> HttpResponse:
    """Provider workspace: assign the ticked tickets to one person."""
    user: Any = request.user
    ids = [int(i) for i in request.POST.getlist("ticket") if i.isdigit() and len(i) < 19]
    tickets = list(services.visible_tickets(user).filter(pk__in=ids))
    raw = request.POST.get("assignee", "")
    assignee = scope.get_visible_user_or_404(user, raw) if raw.isdigit() else None
    if assignee is None or not tickets:
        messages.error(request, _("Tick tickets and choose who takes them."))
        return redirect("helpdesk:tickets")
    try:
        count = services.bulk_assign(tickets, actor=user, assignee=assignee)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            ngettext(
                "%(n)d ticket assigned to %(name)s.", "%(n)d tickets assigned to %(name)s.", count
            )
            % {"n": count, "name": assignee},
        )
    return redirect("helpdesk:tickets")
