"""The demo data, loaded in-process: last month's frozen report measures the backup levels
from the platform's own runs and drills. Both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from infogerance import demo
from infogerance.backups.models import BackupRun, RestoreDrill
from infogerance.sla.models import MonthlyReport, ReportState

pytestmark = pytest.mark.django_db


def test_last_months_report_counts_the_platforms_backups() -> None:
    assert demo.load() is True
    assert demo.load() is False  # loading twice is harmless
    today = timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)
    report = MonthlyReport.objects.get(period=f"{last:%Y-%m}")
    assert report.state == ReportState.FROZEN
    revision = report.revisions.get(number=report.frozen_revision)
    figures: dict[str, Any] = {r["level"]: r for r in revision.evaluation["results"]}

    # Two scopes each night of last month; failed on the 9th (erp-db) and the 21st
    # (fichiers), and six days ago (fichiers) when that fell last month.
    nights = last.day
    failures = 2 + ((today - dt.timedelta(days=6)).month == last.month)
    success = figures["sauv-reussite"]
    assert len(success["items"]) == 2 * nights
    assert sum(not item["met"] for item in success["items"]) == failures
    expected = Decimal(100 * (2 * nights - failures)) / (2 * nights)
    assert Decimal(success["value"]) == expected.quantize(Decimal("0.0001"))
    assert success["met"] is (expected >= 98)
    # Every run of last month, and the first drill, came from the backups app.
    month_runs = BackupRun.objects.filter(
        scheduled_at__date__gte=last.replace(day=1), scheduled_at__date__lte=last
    )
    assert month_runs.count() == 2 * nights
    assert {i["ref"] for i in success["items"]} == {str(r.run_id) for r in month_runs}
    assert revision.inputs["records"] == 2  # the two outages
    # Read up to a day past the month's end (levels on other time zones' calendars).
    high = timezone.make_aware(dt.datetime(today.year, today.month, 1)) + dt.timedelta(days=1)
    assert revision.inputs["backup_records"] == (
        BackupRun.objects.filter(started_at__lt=high).count()
        + RestoreDrill.objects.filter(finished_at__lt=high).count()
    )
