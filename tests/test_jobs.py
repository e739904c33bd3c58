"""Background jobs: the scheduler claims each occurrence once, the worker runs the queue."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django_tasks_db.models import DBTaskResult

from infogerance.audit.models import AuditEvent
from infogerance.core import scheduler
from infogerance.core.models import ScheduledOccurrence

NOON = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_one_occurrence_per_slot() -> None:
    jobs = {"audit.verify_chain", "helpdesk.check_clocks", "sla.draft_reports"}
    assert set(scheduler.tick(NOON, worker_id="a")) == jobs
    # 30 seconds later, another scheduler (or the same one): nothing more to do.
    assert scheduler.tick(NOON + dt.timedelta(seconds=30), worker_id="b") == []
    assert DBTaskResult.objects.count() == 3
    # Five hours later: a new minute for the clock check and a new hour for the monthly
    # drafts, the same day for the audit.
    assert set(scheduler.tick(NOON + dt.timedelta(hours=5), worker_id="b")) == {
        "helpdesk.check_clocks",
        "sla.draft_reports",
    }
    # The next day is a new slot for both.
    assert set(scheduler.tick(NOON + dt.timedelta(days=1), worker_id="b")) == jobs
    slots = list(
        ScheduledOccurrence.objects.filter(name="audit.verify_chain")
        .order_by("slot")
        .values_list("slot", "claimed_by")
    )
    assert slots == [
        (dt.datetime(2026, 11, 28, tzinfo=dt.UTC), "a"),
        (dt.datetime(2026, 11, 29, tzinfo=dt.UTC), "b"),
    ]


def test_slots_are_aligned_on_the_period() -> None:
    job = scheduler.PeriodicJob("x", dt.timedelta(hours=6), task=None)
    assert job.slot(dt.datetime(2026, 11, 28, 13, 59, tzinfo=dt.UTC)) == dt.datetime(
        2026, 11, 28, 12, 0, tzinfo=dt.UTC
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_never_double_run() -> None:
    """Eight schedulers race for the same occurrence: exactly one wins."""
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def contender(n: int) -> None:
        try:
            barrier.wait()
            results.append(scheduler.tick(NOON, worker_id=f"w{n}"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # The three jobs are due; for each, exactly one of the eight schedulers claims it.
    claimed = sorted(name for names in results for name in names)
    assert claimed == ["audit.verify_chain", "helpdesk.check_clocks", "sla.draft_reports"]
    assert DBTaskResult.objects.count() == 3
    assert ScheduledOccurrence.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_queued_tasks(capsys: Any) -> None:
    from infogerance.cli import main

    scheduler.tick(NOON)
    assert main(["worker", "--batch", "--no-scheduler"]) == 0
    for task in DBTaskResult.objects.all():
        assert task.status == "SUCCESSFUL", task.traceback
    event = AuditEvent.objects.get(action="audit.chain_verified")
    assert event.after["ok"] is True
    assert event.after["problem"] is None
    assert connection.vendor in {"sqlite", "postgresql"}
