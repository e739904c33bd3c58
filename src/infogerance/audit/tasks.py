"""Background jobs of the audit trail."""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from infogerance.audit.services import record, verify_chain
from infogerance.core.actors import SystemActor
from infogerance.core.scheduler import every

logger = logging.getLogger(__name__)


@every(dt.timedelta(days=1), name="audit.verify_chain")
@task()
def verify_chain_daily() -> dict[str, object]:
    """Check the whole chain once a day and leave the outcome in the trail itself."""
    report = verify_chain()
    outcome = {
        "ok": report.ok,
        "checked": report.checked,
        "head_seq": report.head_seq,
        "head_hash": report.head_hash,
        "problem": str(report.problem) if report.problem else None,
    }
    if not report.ok:
        logger.error("audit chain broken: %s", report.problem)
    record(actor=SystemActor("scheduler"), action="audit.chain_verified", after=outcome)
    return outcome
