"""The monthly draft: computed on the first business day of the next month, once, and the
client's IT managers told."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from infogerance.helpdesk.models import Notification
from infogerance.sla.models import MonthlyReport, ReportState
from infogerance.sla.tasks import draft_reports, first_business_day

PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(world: Any) -> Any:
    from infogerance.contracts.services import import_contract
    from tests.sla.test_reports import MINIMAL

    return import_contract(actor=world.user("p_admin"), client=world.victim, text=MINIMAL).contract


def test_first_business_days() -> None:
    # May 2026: Fri 1 is Labour Day, then a weekend: Monday 4.
    assert first_business_day(2026, 5) == dt.date(2026, 5, 4)
    # June 2026: Monday 1.
    assert first_business_day(2026, 6) == dt.date(2026, 6, 1)
    # November 2026: Sun 1 (All Saints' Day, a Sunday anyway): Monday 2.
    assert first_business_day(2026, 11) == dt.date(2026, 11, 2)


def test_the_draft_is_made_once_on_the_first_business_day(
    world: Any, contract: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert draft_reports(dt.datetime(2026, 5, 1, 10, tzinfo=PARIS)) == []  # a holiday
    with django_capture_on_commit_callbacks(execute=True):
        made = draft_reports(dt.datetime(2026, 5, 4, 7, tzinfo=PARIS))
    assert [(r.contract_id, r.period, r.state) for r in made] == [
        (contract.pk, "2026-04", ReportState.DRAFT)
    ]
    manager = world.user("a_manager")
    (note,) = Notification.objects.filter(user=manager)
    assert "2026-04" in note.message and contract.reference in note.message
    assert [m.to for m in mail.outbox] == [[manager.email]]
    # Later the same day, or by another worker: nothing more.
    assert draft_reports(dt.datetime(2026, 5, 4, 15, tzinfo=PARIS)) == []
    assert MonthlyReport.objects.get().revision == 1


def test_no_draft_outside_the_contracts_term(world: Any, contract: Any) -> None:
    # The test contract starts on 2026-01-01: December 2025 is outside its term.
    assert draft_reports(dt.datetime(2026, 1, 2, 9, tzinfo=PARIS)) == []
    assert not MonthlyReport.objects.exists()
