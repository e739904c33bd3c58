"""The backup service levels of a month from what the platform recorded itself: the backup
runs and restore drills of the client's repositories (``infogerance.backups``), gathered
with the recorded operations and measured by the same code as ``sla evaluate``.
PostgreSQL and SQLite.

The contract is ``tests/contracts/minimal.yaml`` with a backup service SAUV (24x7) and four
levels on it: success rate 98 %, RPO 48 h, restore tests 100 %, measured RTO 1 h. March
2026 in Europe/Paris: from 1 March 00:00 CET (28 February 23:00 UTC) to 1 April 00:00 CEST
(31 March 22:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infogerance.backups import services as backups
from infogerance.contracts.services import import_contract
from infogerance.sla import services

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
WITH_BACKUPS = MINIMAL.replace(
    "  - code: INFRA\n    name: Exploitation des serveurs\n    calendar: 24x7\n",
    "  - code: INFRA\n    name: Exploitation des serveurs\n    calendar: 24x7\n"
    "  - code: SAUV\n    name: Sauvegardes\n    calendar: 24x7\n",
).replace(
    "penalties:\n",
    """  - id: sauv-reussite
    metric: backup_success
    services: [SAUV]
    target: {value: 98, unit: percent}
    calendar: 24x7
  - id: sauv-rpo
    metric: rpo
    services: [SAUV]
    target: {value: 48, unit: hours}
    calendar: 24x7
  - id: sauv-tests
    metric: restore_test
    services: [SAUV]
    target: {value: 100, unit: percent}
    calendar: 24x7
  - id: sauv-rto
    metric: rto_test
    services: [SAUV]
    target: {value: 1, unit: hours}
    calendar: 24x7
penalties:
""",
)
PARIS = ZoneInfo("Europe/Paris")
MAY = dt.datetime(2026, 5, 1, tzinfo=PARIS)
SNAPSHOT = "cd" * 32
pytestmark = pytest.mark.django_db


def paris(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def results(revision: Any) -> dict[str, Any]:
    return {r["level"]: r for r in revision.evaluation["results"]}


def test_backup_levels_come_from_the_platforms_runs_and_drills(world: Any) -> None:
    assert WITH_BACKUPS.count("SAUV") == 5  # the service and its four levels
    admin, engineer = world.user("p_admin"), world.user("p_engineer")
    contract = import_contract(actor=admin, client=world.victim, text=WITH_BACKUPS).contract

    def repo(org: Any, name: str, service_code: str) -> Any:
        return backups.create_repository(
            actor=admin, client=org, name=name, location=f"/srv/{name}", service_code=service_code
        )

    main = repo(world.victim, "principal", "SAUV")
    untied = repo(world.victim, "archives", "")  # no contract service: not measured
    other = repo(world.neighbour, "principal", "SAUV")  # another client's

    def run(
        repository: Any,
        ref: str,
        started: dt.datetime,
        status: str,
        *,
        scheduled: bool = True,
        point: dt.datetime | None = None,
    ) -> str:
        run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"test:{repository.pk}:{ref}")
        backups.record_run(
            actor=engineer,
            repository=repository,
            run_id=run_id,
            scope_name="erp-db",
            scheduled_at=started if scheduled else None,
            started_at=started,
            finished_at=started + dt.timedelta(minutes=12),
            status=status,
            snapshot_id=SNAPSHOT if status == "success" else "",
            snapshot_time=point,
        )
        return str(run_id)

    run(main, "r0", paris(2, 28, 1), "success", point=paris(2, 28, 1, 5))  # February
    r1 = run(main, "r1", paris(3, 1, 1), "success", point=paris(3, 1, 1, 5))
    r2 = run(main, "r2", paris(3, 2, 1), "partial")
    r3 = run(main, "r3", paris(3, 3, 1), "failed")
    # No schedule known: it counts when it started.
    r4 = run(main, "r4", paris(3, 4, 1), "success", scheduled=False, point=paris(3, 4, 1, 10))
    run(untied, "u1", paris(3, 5, 1), "failed")
    run(other, "o1", paris(3, 5, 1), "failed")

    def drill(repository: Any, ref: str, started: dt.datetime, minutes: int, bad: int) -> str:
        drill_id = uuid.uuid5(uuid.NAMESPACE_URL, f"test:drill:{repository.pk}:{ref}")
        backups.record_drill(
            actor=engineer,
            repository=repository,
            drill_id=drill_id,
            snapshot_id=SNAPSHOT,
            snapshot_time=paris(3, 1, 1, 5),
            started_at=started,
            finished_at=started + dt.timedelta(minutes=minutes),
            files_checked=100,
            bytes_checked=10_000,
            mismatches=bad,
        )
        return str(drill_id)

    d1 = drill(main, "d1", paris(3, 10, 14), 25, 0)
    d2 = drill(main, "d2", paris(3, 20, 9), 90, 3)
    drill(untied, "d3", paris(3, 21, 9), 5, 7)
    drill(other, "d4", paris(3, 21, 9), 5, 7)

    revision = services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    figures = results(revision)
    # Success: r1 success, r2 partial (a failure), r3 failed, r4 success; r0 is February's;
    # 2 of 4 = 50 % < 98 %.
    success = figures["sauv-reussite"]
    assert [(i["ref"], i["met"], i["note"]) for i in success["items"]] == [
        (r1, True, "success"),
        (r2, False, "failed"),
        (r3, False, "failed"),
        (r4, True, "success"),
    ]
    assert (success["value"], success["met"]) == ("50.0000", False)
    # RPO of SAUV/erp-db: points 28 Feb 01:05 (before), 1 Mar 01:05, 4 Mar 01:10 CET, then the
    # month's end. Worst gap: 4 Mar 00:10 UTC → 31 Mar 22:00 UTC = 27 d 21 h 50 min
    # = 27 × 86,400 + 21 × 3,600 + 50 × 60 = 2,332,800 + 75,600 + 3,000 = 2,411,400 s
    # > 48 h = 172,800 s (overrun 2,238,600 s).
    rpo = figures["sauv-rpo"]
    assert [(i["ref"], i["value"], i["met"]) for i in rpo["items"]] == [
        ("SAUV/erp-db", "2411400", False)
    ]
    # Restore tests: d1 passed, d2 had 3 files that differ: 1 of 2 = 50 %.
    tests = figures["sauv-tests"]
    assert [(i["ref"], i["met"]) for i in tests["items"]] == [(d1, True), (d2, False)]
    assert (tests["value"], tests["met"]) == ("50.0000", False)
    # RTO measured from each drill's start to its end: 25 min = 1,500 s within 1 h;
    # 90 min = 5,400 s beyond it; the worst, 5,400 s, misses.
    rto = figures["sauv-rto"]
    assert [(i["ref"], i["value"], i["met"]) for i in rto["items"]] == [
        (d1, "1500", True),
        (d2, "5400", False),
    ]
    assert (rto["value"], rto["met"]) == ("5400", False)
    # Five runs (r0 included: the RPO needs the point before the month) and two drills.
    assert revision.inputs["backup_records"] == 7
    assert revision.inputs["records"] == 0

    # The inputs' hash covers them: one more drill, another hash.
    drill(main, "d5", paris(3, 25, 9), 10, 0)
    again = services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    assert again.inputs_sha256 != revision.inputs_sha256
    assert again.inputs["backup_records"] == 8
