"""Background jobs of the service levels: each month's draft report, on the first business
day of the next month."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from infogerance.calendars import HO, compile_calendar
from infogerance.contracts.models import Contract
from infogerance.core.actors import SystemActor
from infogerance.core.scheduler import every
from infogerance.helpdesk.models import Notification
from infogerance.sla.models import MonthlyReport
from infogerance.sla.services import compute_report
from infogerance.tenancy.models import Membership
from infogerance.tenancy.roles import Role

logger = logging.getLogger(__name__)
_OFFICE = compile_calendar(HO)


def first_business_day(year: int, month: int) -> dt.date:
    """The first day of the month with office hours (Mon–Fri, French holidays closed)."""
    day = dt.date(year, month, 1)
    tz = _OFFICE.tz
    while not _OFFICE.business_duration(
        dt.datetime.combine(day, dt.time(0), tzinfo=tz),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz),
    ):
        day += dt.timedelta(days=1)
    return day


def previous_month(day: dt.date) -> tuple[str, dt.date, dt.date]:
    last = day.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}", last.replace(day=1), last


def draft_reports(now: dt.datetime | None = None) -> list[MonthlyReport]:
    """On the first business day of a month, compute the previous month's draft for every
    contract in force during it that has no report for it yet, and tell the client's IT
    managers. Any other day, or a second time, it does nothing."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if today != first_business_day(today.year, today.month):
        return []
    period, first, last = previous_month(today)
    done: list[MonthlyReport] = []
    for contract in Contract.objects.select_related("organization").order_by("pk"):
        version = contract.version_in_force(last) or contract.version_in_force(first)
        if version is None:
            continue
        term = version.parsed().term
        if term.start > last or term.end < first:
            continue
        if MonthlyReport.objects.filter(contract=contract, period=period).exists():
            continue
        revision = compute_report(
            actor=SystemActor("scheduler"), contract=contract, period=period, now=now
        )
        _tell_managers(contract, period, revision.evaluation)
        done.append(revision.report)
    return done


def _tell_managers(contract: Contract, period: str, evaluation: dict[str, Any]) -> None:
    managers = Membership.objects.filter(
        organization_id=contract.organization_id, role=Role.CLIENT_MANAGER, user__is_active=True
    ).select_related("user")
    summary = evaluation["summary"]
    for membership in managers:
        person = membership.user
        with translation.override(person.language):
            message = _(
                "The %(period)s service report of %(contract)s is ready for review: "
                "%(met)d levels met, %(missed)d missed, %(due)s %(currency)s of penalties."
            ) % {
                "period": period,
                "contract": contract.reference,
                "met": summary["met"],
                "missed": summary["missed"],
                "due": summary["due"],
                "currency": summary["currency"],
            }
        Notification.objects.create(user=person, message=message[:500])

        def mail(to: str = person.email, text: str = message) -> Any:
            link = f"{settings.BASE_URL}/reports/"
            return send_mail(text[:150], f"{text}\n\n{link}\n", None, [to], fail_silently=True)

        transaction.on_commit(mail)


@every(dt.timedelta(hours=1), name="sla.draft_reports")
@task()
def draft_reports_task() -> int:
    """The previous month's draft reports, on the first business day of a month."""
    return len(draft_reports())
