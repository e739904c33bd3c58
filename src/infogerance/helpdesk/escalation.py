"""SLA warnings: when a running clock reaches a threshold of its target (75 % and 100 % by
default), the assignee, the queue and the client's IT managers are told, in the application
and by e-mail; each warning exactly once, whatever the number of workers (a unique row
claims it)."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from infogerance.helpdesk.models import ClockAlert, Notification, Ticket
from infogerance.helpdesk.sla import TicketClock, clocks_for
from infogerance.helpdesk.workflow import Status
from infogerance.tenancy.models import Membership, User
from infogerance.tenancy.roles import Role

logger = logging.getLogger(__name__)

OPEN_STATUSES = [s for s in Status.values if s not in {Status.RESOLVED, Status.CLOSED}]


def recipients(ticket: Ticket) -> list[User]:
    """The assignee, the queue (the provider's engineers and administrators: queues have no
    members of their own yet) and the client's IT managers."""
    people: dict[int, User] = {}
    if ticket.assignee is not None and ticket.assignee.is_active:
        people[ticket.assignee.pk] = ticket.assignee
    staff = Membership.objects.filter(
        organization_id=ticket.organization.provider_root_id,
        role__in=[Role.PROVIDER_ENGINEER, Role.PROVIDER_ADMIN],
        user__is_active=True,
    ).select_related("user")
    people.update({m.user.pk: m.user for m in staff})
    managers = Membership.objects.filter(
        organization_id=ticket.organization_id, role=Role.CLIENT_MANAGER, user__is_active=True
    ).select_related("user")
    people.update({m.user.pk: m.user for m in managers})
    return list(people.values())


def _claim(ticket: Ticket, level_id: str, threshold: int, to: list[User]) -> bool:
    try:
        with transaction.atomic():
            ClockAlert.objects.create(
                ticket=ticket, level_id=level_id, threshold=threshold, recipients=[u.pk for u in to]
            )
    except IntegrityError:
        return False  # another worker sent it
    return True


def _message(ticket: Ticket, name: str, threshold: int, deadline: dt.datetime | None) -> str:
    if threshold >= 100:
        return _("Ticket #%(n)d (%(client)s): %(clock)s target exceeded.") % {
            "n": ticket.number,
            "client": ticket.organization.name,
            "clock": name,
        }
    when = timezone.localtime(deadline).strftime("%d/%m/%Y %H:%M") if deadline else "—"
    return _(
        "Ticket #%(n)d (%(client)s): %(pct)d %% of the %(clock)s target used, deadline %(when)s."
    ) % {
        "n": ticket.number,
        "client": ticket.organization.name,
        "pct": threshold,
        "clock": name,
        "when": when,
    }


def check_clocks(now: dt.datetime | None = None) -> int:
    """Send every warning due; return how many were sent by this call."""
    now = now or timezone.now()
    thresholds = sorted(settings.SLA_WARNING_THRESHOLDS)
    sent = 0
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES).select_related(
        "organization", "contract", "assignee"
    )
    for chunk in _chunks(tickets.iterator(chunk_size=500), 500):
        for ticket, clock in _clocks(chunk, now):
            result = clock.result
            if result.target is None or result.state not in {"running", "breached", "paused"}:
                continue
            if result.stopped_at is not None:
                continue
            used = (result.elapsed / result.target * 100) if result.target else 0
            for threshold in thresholds:
                if used < threshold:
                    break
                people = recipients(ticket)
                if not _claim(ticket, result.level_id, threshold, people):
                    continue
                sent += 1
                _notify(ticket, people, clock.name, threshold, result.deadline)
    return sent


def _chunks(items: Iterator[Ticket], size: int) -> Iterator[list[Ticket]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _clocks(tickets: list[Ticket], now: dt.datetime) -> Iterator[tuple[Ticket, TicketClock]]:
    computed = clocks_for(tickets, now)
    for ticket in tickets:
        for clock in computed[ticket.pk]:
            yield ticket, clock


def _notify(
    ticket: Ticket, people: list[User], name: str, threshold: int, deadline: dt.datetime | None
) -> None:
    for person in people:
        with translation.override(person.language):
            message = _message(ticket, name, threshold, deadline)
        Notification.objects.create(user=person, ticket=ticket, message=message[:500])

        def mail(to: str = person.email, text: str = message) -> Any:
            link = f"{settings.BASE_URL}/tickets/{ticket.pk}/"
            return send_mail(text[:150], f"{text}\n\n{link}\n", None, [to], fail_silently=True)

        transaction.on_commit(mail)
    logger.info(
        "SLA warning %s%% for ticket %s sent to %d people", threshold, ticket.pk, len(people)
    )
