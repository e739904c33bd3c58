"""A periodic scheduler that is safe to run on several machines at once.

Jobs are declared with :func:`every`. Time is cut into slots of the job's period (counted from
the Unix epoch, in UTC); each slot is claimed by inserting a unique row, and the task is
enqueued in the same transaction. A scheduler that loses the race enqueues nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    period: dt.timedelta
    task: Any  # a django_tasks Task

    def slot(self, now: dt.datetime) -> dt.datetime:
        elapsed = (now - EPOCH) // self.period
        return EPOCH + elapsed * self.period


REGISTRY: dict[str, PeriodicJob] = {}


def every(period: dt.timedelta, *, name: str | None = None) -> Any:
    """Register a task (decorated with ``django_tasks.task``) to run once per ``period``."""
    if period < dt.timedelta(minutes=1):
        raise ValueError("a periodic job runs at most once a minute")

    def register(task: Any) -> Any:
        job_name = name or f"{task.func.__module__}.{task.func.__name__}"
        REGISTRY[job_name] = PeriodicJob(job_name, period, task)
        return task

    return register


def tick(now: dt.datetime | None = None, *, worker_id: str | None = None) -> list[str]:
    """Claim and enqueue every job whose current slot is unclaimed; return their names."""
    from infogerance.core.models import ScheduledOccurrence

    now = now or timezone.now()
    claimed_by = (worker_id or socket.gethostname())[:100]
    enqueued: list[str] = []
    for job in list(REGISTRY.values()):
        slot = job.slot(now)
        try:
            with transaction.atomic():
                ScheduledOccurrence.objects.create(name=job.name, slot=slot, claimed_by=claimed_by)
                job.task.enqueue()
        except IntegrityError:
            continue  # another scheduler claimed this occurrence
        logger.info("scheduled %s for slot %s", job.name, slot.isoformat())
        enqueued.append(job.name)
    return enqueued
