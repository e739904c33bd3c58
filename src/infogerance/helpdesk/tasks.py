"""Background jobs of the help desk."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from infogerance.core.scheduler import every
from infogerance.helpdesk.escalation import check_clocks


@every(dt.timedelta(minutes=1), name="helpdesk.check_clocks")
@task()
def check_clocks_task() -> int:
    """SLA warnings (75 % and 100 % of each target), once per clock and threshold."""
    return check_clocks()
