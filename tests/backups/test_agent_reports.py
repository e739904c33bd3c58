"""Backup runs and restore drills reported by an enrolled agent (`agent backup`, `agent
drill`), end to end in one process: the real agent command and the real engine, the agent's
HTTP calls answered by the platform through Django's test client. Recorded on the agent's own
client's repository and its own asset, never another's; refused whole when the repository is
unknown; once however often delivered; counted by the month's service levels. Both databases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import Client
from django.utils import timezone

import tests.sla.test_platform_backups as platform_backups
from infogerance.agent import backups as agent_backups
from infogerance.agent import cli as agent_cli
from infogerance.agent import client as agent_client
from infogerance.agent.client import API_PREFIX, Delivery, Response, TransientError, load_config
from infogerance.agent.spool import Spool
from infogerance.audit.models import AuditEvent
from infogerance.backup.archiver import backup
from infogerance.backups import services
from infogerance.backups.models import BackupRepository, BackupRun, RestoreDrill
from infogerance.contracts.services import import_contract
from infogerance.inventory import payload, report_kinds
from infogerance.inventory import services as inventory
from infogerance.inventory.models import Agent
from infogerance.sla import services as sla
from tests.agent.backup_helpers import Setup, corrupt_a_data_pack, setup

pytestmark = pytest.mark.django_db
REPORTS = f"{API_PREFIX}/reports"


class DjangoTransport:
    """The agent's transport, answered by the platform in this process (Django's test
    client); ``down`` makes it fail as an unreachable server does."""

    server = "http://testserver"

    def __init__(self) -> None:
        self.client = Client()
        self.down = False
        self.posts = 0

    def post(self, path: str, body: bytes, credential: str | None = None) -> Response:
        return self.request("POST", path, body, credential)

    def get(self, path: str, credential: str | None = None) -> Response:
        return self.request("GET", path, None, credential)

    def request(
        self, method: str, path: str, body: bytes | None, credential: str | None
    ) -> Response:
        if self.down:
            raise TransientError("cannot reach testserver: Connection refused")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {credential}"} if credential else {}
        if method == "POST":
            self.posts += 1
            answer = self.client.post(
                f"{API_PREFIX}{path}", body, content_type="application/json", **headers
            )
        else:
            answer = self.client.get(f"{API_PREFIX}{path}", **headers)
        message = Message()
        for name, value in answer.items():
            message[name] = value
        return Response(answer.status_code, answer.content, message)


@dataclass
class Enrolled:
    agent: Agent
    credential: str
    files: Setup
    repository: BackupRepository
    transport: DjangoTransport

    def backup(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
        code = agent_cli.main(["backup", *self.files.options(), *extra, str(self.files.source)])
        return code, capsys.readouterr().err

    def drill(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
        code = agent_cli.main(["drill", *self.files.options(), *extra])
        return code, capsys.readouterr().err


def enrol(world: Any, org: Any, hostname: str) -> tuple[Agent, str]:
    _token, secret = inventory.create_enrollment_token(
        actor=world.user("p_admin"), client=org, label="rollout"
    )
    enrolled = inventory.enroll(
        actor=inventory.AGENT_ACTOR, body={"token": secret, "hostname": hostname}
    )
    return enrolled.agent, enrolled.credential


@pytest.fixture
def victim_agent(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Enrolled:
    """An agent of the victim client, whose repository the platform knows by its id."""
    transport = DjangoTransport()
    monkeypatch.setattr(agent_client, "Transport", lambda *args, **kwargs: transport)
    monkeypatch.setattr(agent_backups, "DELIVERY_ATTEMPTS", 1)
    agent, credential = enrol(world, world.victim, "files-01")
    files = setup(tmp_path, transport.server, credential, asset_id=agent.asset_id)
    repository = services.create_repository(
        actor=world.user("p_admin"),
        client=world.victim,
        name="principal",
        location=str(files.repo_dir),
        service_code="SAUV",
        repository_id=files.repo.id,
    )
    return Enrolled(agent, credential, files, repository, transport)


def post(enrolled: Enrolled, *reports: dict[str, Any]) -> Any:
    return Client().post(
        REPORTS,
        orjson.dumps({"reports": list(reports)}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {enrolled.credential}",
    )


def report(kind: str, sequence: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "infogerance-agent/1",
        "report_id": str(uuid.uuid4()),
        "kind": kind,
        "sequence": sequence,
        "collected_at": "2026-11-28T10:00:00Z",
        "agent_version": "0.1.0",
        "data": data,
    }


def run_data(repository_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": str(uuid.uuid4()),
        "repository_id": repository_id,
        "scope": "/srv/data",
        "started_at": "2026-11-28T01:00:00.000000Z",
        "finished_at": "2026-11-28T01:10:00.500000Z",
        "status": "success",
        "snapshot_id": "ab" * 32,
        "snapshot_time": "2026-11-28T01:00:00.100000Z",
        "files": 10,
        "bytes_read": 1000,
        "bytes_added": 500,
        "unreadable": 0,
        **extra,
    }


def test_a_backup_by_the_agent_is_recorded_on_its_repository_and_asset(
    victim_agent: Enrolled, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = victim_agent.backup(capsys, "--verify", "structure")
    assert code == 0, err
    run = BackupRun.objects.get()
    snapshot = victim_agent.files.repo.list_snapshots()[-1]
    files, size = victim_agent.files.source_figures()
    assert run.repository == victim_agent.repository
    assert run.organization_id == victim_agent.repository.organization_id
    assert run.asset_id == victim_agent.agent.asset_id
    assert (run.status, run.snapshot_id) == ("success", snapshot.id.hex())
    assert (run.files, run.bytes_read) == (files, size) and run.bytes_added >= size - 1000
    assert (run.verification, run.verification_ok) == ("structure", True)
    assert run.scope == str(victim_agent.files.source)
    assert abs(run.snapshot_time.timestamp() - snapshot.time / 1e9) < 1e-5
    assert run.started_at <= run.snapshot_time <= run.finished_at
    assert run.recorded_by == f"system:agent:{victim_agent.agent.uid.hex}"
    event = AuditEvent.objects.get(action="backups.run_record")
    assert event.actor_label == run.recorded_by
    assert event.organization_id == victim_agent.repository.organization_id
    agent = Agent.objects.get(pk=victim_agent.agent.pk)
    assert (agent.last_sequence, agent.reports_stored) == (1, 1)
    assert len(Spool(victim_agent.files.spool)) == 0


def test_a_failed_backup_is_recorded_as_failed(
    victim_agent: Enrolled, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = agent_cli.main(["backup", *victim_agent.files.options(), str(tmp_path / "gone")])
    assert code == 1
    run = BackupRun.objects.get()
    assert (run.status, run.snapshot_id, run.snapshot_time) == ("failed", "", None)
    assert "does not exist" in run.error and run.asset_id == victim_agent.agent.asset_id


def test_drills_recorded_passed_then_failed_on_a_damaged_pack(
    victim_agent: Enrolled, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot, stats = backup(victim_agent.files.repo, [str(victim_agent.files.source)])
    code, err = victim_agent.drill(capsys)
    assert code == 0, err
    drill = RestoreDrill.objects.get()
    assert drill.passed and drill.repository == victim_agent.repository
    assert drill.asset_id == victim_agent.agent.asset_id
    assert (drill.snapshot_id, drill.files_checked, drill.bytes_checked, drill.mismatches) == (
        snapshot.id.hex(), stats.files, stats.bytes_read, 0,
    )  # fmt: skip
    assert len(drill.evidence["manifest_sha256"]) == 64 and "failures" not in drill.evidence
    assert 0 <= drill.rto_seconds < 60 and drill.rpo_seconds >= 0
    assert AuditEvent.objects.filter(action="backups.drill_record").count() == 1

    corrupt_a_data_pack(victim_agent.files.repo_dir)
    code, err = victim_agent.drill(capsys, snapshot.id.hex())
    assert code == 1 and "error:" in err
    failed = RestoreDrill.objects.exclude(pk=drill.pk).get()
    assert not failed.passed and failed.snapshot_id == snapshot.id.hex()
    assert "verification failed" in failed.evidence["failures"][0]
    assert RestoreDrill.objects.filter(passed=False).count() == 1


def test_server_down_the_run_waits_then_is_recorded_once(
    victim_agent: Enrolled, capsys: pytest.CaptureFixture[str]
) -> None:
    victim_agent.transport.down = True
    code, err = victim_agent.backup(capsys)
    assert code == 0 and "waits in" in err
    assert not BackupRun.objects.exists()
    spool = Spool(victim_agent.files.spool)
    assert [e.kind for e in spool.entries()] == ["backup_run"]
    victim_agent.transport.down = False
    config = load_config(victim_agent.files.config)
    assert Delivery(config, spool).flush() == 1
    assert Delivery(config, spool).flush() == 0  # nothing left, nothing sent twice
    run = BackupRun.objects.get()
    assert run.status == "success" and run.asset_id == victim_agent.agent.asset_id
    assert Agent.objects.get(pk=victim_agent.agent.pk).last_sequence == 1


def test_another_clients_repository_is_refused_and_nothing_is_recorded(
    world: Any, victim_agent: Enrolled, capsys: pytest.CaptureFixture[str]
) -> None:
    repo_id = victim_agent.files.repo.id
    # The platform knows this repository id only as the neighbour's.
    BackupRepository.objects.filter(pk=victim_agent.repository.pk).update(repository_id="")
    services.create_repository(
        actor=world.user("p_admin"),
        client=world.neighbour,
        name="neighbour",
        location="/srv/neighbour",
        repository_id=repo_id,
    )
    code, err = victim_agent.backup(capsys)
    assert code == 1 and "refused the report" in err and "repository_id" in err
    assert not BackupRun.objects.exists()
    assert [p.name for p in Spool(victim_agent.files.spool).rejected()] == [
        "000000000001-backup_run.json"
    ]
    # The batch is refused whole: the heartbeat before the report is not stored either.
    heartbeat = report("heartbeat", 2, {"uptime_seconds": 1, "cpu_percent": 1.0})
    answer = post(victim_agent, heartbeat, report("backup_run", 3, run_data(repo_id)))
    assert answer.status_code == 400
    body = answer.json()
    assert list(body["errors"]) == ["reports[1].data.repository_id"]
    assert (
        "no backup repository of this agent's client"
        in body["errors"]["reports[1].data.repository_id"][0]
    )
    assert "nothing was stored" in body["detail"]
    agent = Agent.objects.get(pk=victim_agent.agent.pk)
    assert (agent.last_sequence, agent.reports_stored, agent.uptime_seconds) == (0, 0, None)
    assert not BackupRun.objects.exists() and not RestoreDrill.objects.exists()
    drill = {
        "drill_id": str(uuid.uuid4()), "repository_id": repo_id, "snapshot_id": "ab" * 32,
        "snapshot_time": "2026-11-27T01:00:00Z", "started_at": "2026-11-28T01:00:00Z",
        "finished_at": "2026-11-28T01:01:00Z", "files_checked": 1, "bytes_checked": 1,
        "mismatches": 0,
    }  # fmt: skip
    answer = post(victim_agent, report("restore_drill", 4, drill))
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["reports[0].data.repository_id"]
    assert not RestoreDrill.objects.exists()


def test_a_replayed_report_is_not_stored_twice(
    world: Any, victim_agent: Enrolled, capsys: pytest.CaptureFixture[str]
) -> None:
    repo_id = victim_agent.files.repo.id
    first = report("backup_run", 1, run_data(repo_id))
    assert post(victim_agent, first).json()["results"][0]["status"] == "stored"
    # The same report again (its answer was lost): a duplicate by its sequence.
    assert post(victim_agent, first).json()["results"][0]["status"] == "duplicate"
    # The same run queued again under a new sequence (a crash between queue and incoming):
    # a duplicate by its run id.
    again = report("backup_run", 2, first["data"])
    assert post(victim_agent, again).json()["results"][0]["status"] == "duplicate"
    assert BackupRun.objects.count() == 1
    assert AuditEvent.objects.filter(action="backups.run_record").count() == 1
    agent = Agent.objects.get(pk=victim_agent.agent.pk)
    assert (agent.last_sequence, agent.reports_stored) == (2, 1)
    # Another client's run id cannot be taken over: refused, naming the field.
    other = services.create_repository(
        actor=world.user("p_admin"), client=world.neighbour, name="n", location="/n"
    )
    theirs = uuid.uuid4()
    services.record_run(
        actor=world.user("p_engineer"),
        repository=other,
        run_id=theirs,
        scope_name="x",
        started_at=timezone.now() - dt.timedelta(minutes=5),
        finished_at=timezone.now(),
        status="failed",
    )
    answer = post(victim_agent, report("backup_run", 3, run_data(repo_id, run_id=str(theirs))))
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["reports[0].data.run_id"]
    assert BackupRun.objects.get(run_id=theirs).repository == other


def test_bad_reports_name_their_fields(victim_agent: Enrolled) -> None:
    repo_id = victim_agent.files.repo.id
    cases = {
        "reports[0].data.repository_id": run_data("xyz"),
        "reports[0].data.status": run_data(repo_id, status="done"),
        "reports[0].data.started_at": run_data(repo_id, started_at="2026-11-28T01:00:00"),
        # What the service checks: a success names its snapshot; the end follows the start.
        "reports[0].data.snapshot_id": run_data(repo_id, snapshot_id=None),
        "reports[0].data.finished_at": run_data(repo_id, finished_at="2026-11-28T00:00:00Z"),
    }
    for field, data in cases.items():
        answer = post(victim_agent, report("backup_run", 1, data))
        assert answer.status_code == 400, field
        assert field in answer.json()["errors"], (field, answer.json())
        assert "Invalid report" in answer.json()["detail"]
    assert not BackupRun.objects.exists()


def test_the_months_service_levels_count_the_agents_run(
    world: Any, victim_agent: Enrolled, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = world.user("p_admin")
    contract = import_contract(
        actor=admin, client=world.victim, text=platform_backups.WITH_BACKUPS
    ).contract
    code, err = victim_agent.backup(capsys, "--scope", "files")
    assert code == 0, err
    run = BackupRun.objects.get()
    period = timezone.localtime(run.started_at).strftime("%Y-%m")
    revision = sla.compute_report(actor=admin, contract=contract, period=period)
    success = {r["level"]: r for r in revision.evaluation["results"]}["sauv-reussite"]
    assert [(i["ref"], i["met"], i["note"]) for i in success["items"]] == [
        (str(run.run_id), True, "success")
    ]
    assert revision.inputs["backup_records"] == 1


def test_the_backups_app_registers_its_kinds() -> None:
    handlers = report_kinds.registered()
    assert set(handlers) == {"backup_run", "restore_drill"}
    report_kinds.register("backup_run", handlers["backup_run"])  # again: harmless
    with pytest.raises(ValueError, match="already"):
        report_kinds.register("backup_run", handlers["restore_drill"])
    with pytest.raises(ValueError, match="inventory itself"):
        report_kinds.register("inventory", handlers["backup_run"])
    with pytest.raises(ValueError, match="not a kind"):
        report_kinds.register("telemetry", handlers["backup_run"])


def test_a_kind_nobody_stores_is_refused(
    victim_agent: Enrolled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_kinds, "_handlers", {})
    answer = post(victim_agent, report("backup_run", 1, run_data(victim_agent.files.repo.id)))
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["reports[0].kind"]
    assert not BackupRun.objects.exists()
    with pytest.raises(payload.PayloadError):
        inventory.ingest(
            victim_agent.agent,
            {"reports": [report("backup_run", 1, run_data(victim_agent.files.repo.id))]},
            actor=inventory.AGENT_ACTOR,
        )
