"""`agent backup` and `agent drill` on the agent's side: a real backup and drill with the
engine, the report they make (the protocol, the schema, the server's validator), and its way
through the spool: delivered at once, kept through an outage, handed to a running agent,
refused. The platform's side is tests/backups/test_agent_reports.py."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from infogerance.agent import backups as agent_backups
from infogerance.agent import cli as agent_cli
from infogerance.agent.client import Delivery, load_config
from infogerance.agent.runner import Runner
from infogerance.agent.spool import Spool, hold, submit
from infogerance.backup.archiver import Archiver, backup
from infogerance.backup.backend import LocalBackend
from infogerance.backup.repository import Repository

from .backup_helpers import PASSWORD, corrupt_a_data_pack, setup
from .conftest import CREDENTIAL, FakeServer, free_port
from .test_cli import validation_errors


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_backups, "DELIVERY_ATTEMPTS", 1)  # no backoff sleeps


def stored(server: FakeServer, kind: str | None = None) -> list[dict[str, Any]]:
    reports = [server.stored[rid] for rid in server.order]
    return [r for r in reports if kind is None or r["kind"] == kind]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = agent_cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_backup_is_reported_with_the_engines_figures(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    code, out, err = run(["backup", *s.options(), "--tag", "nightly", str(s.source)], capsys)
    assert code == 0, err
    assert "snapshot" in out and "reported to" in out
    [report] = stored(fake_server)
    assert report["kind"] == "backup_run" and report["sequence"] == 1
    data = report["data"]
    snapshot = Repository.open(LocalBackend(s.repo_dir), PASSWORD).list_snapshots()[-1]
    files, size = s.source_figures()
    assert data["repository_id"] == s.repo.id and len(data["repository_id"]) == 64
    assert data["snapshot_id"] == snapshot.id.hex() and snapshot.tags == ["nightly"]
    assert (data["status"], data["scope"]) == ("success", str(s.source))
    assert (data["files"], data["bytes_read"], data["unreadable"]) == (files, size, 0)
    assert data["bytes_added"] >= size - 1000  # new data (compression aside: random bytes)
    assert data["started_at"] <= data["snapshot_time"] <= data["finished_at"]
    assert uuid.UUID(data["run_id"]).version == 4 and "error" not in data
    assert validation_errors(report) == []  # docs/formats/agent.schema.json
    payload = pytest.importorskip("infogerance.inventory.payload")
    [(envelope, parsed)] = payload.parse_reports({"reports": [report]})
    assert envelope.kind == "backup_run" and parsed.files == files

    # The next run has the first as parent: no file read again; a new run id and report.
    code, _out, err = run(["backup", *s.options(), "--scope", "documents", str(s.source)], capsys)
    assert code == 0, err
    first, second = stored(fake_server)
    assert second["sequence"] == 2 and second["data"]["run_id"] != first["data"]["run_id"]
    assert second["data"]["bytes_read"] == 0
    assert second["data"]["bytes_added"] < 20_000  # trees only (a parent directory's times)
    assert (second["data"]["files"], second["data"]["scope"]) == (files, "documents")
    assert len(Spool(s.spool).entries()) == 0


def test_verification_after_the_backup(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    code, out, err = run(["backup", *s.options(), "--verify", "all", str(s.source)], capsys)
    assert code == 0, err
    assert "verification all: ok" in out
    [report] = stored(fake_server)
    assert (report["data"]["verification"], report["data"]["verification_ok"]) == ("all", True)
    with pytest.raises(SystemExit) as usage:  # a usage error, before anything runs
        agent_cli.main(["backup", *s.options(), "--verify", "3/2", str(s.source)])
    assert usage.value.code == 2 and "subset" in capsys.readouterr().err
    assert len(stored(fake_server)) == 1


def test_unreadable_entries_make_a_partial_run(
    tmp_path: Path,
    fake_server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    original = Archiver.run

    def unreadable(self: Archiver, *args: Any, **kwargs: Any) -> Any:
        snapshot = original(self, *args, **kwargs)  # as the engine records a file it cannot read
        self.stats.errors.append(f"{s.source}/locked.db: Permission denied")
        return snapshot

    monkeypatch.setattr(Archiver, "run", unreadable)
    code, _out, err = run(["backup", *s.options(), str(s.source)], capsys)
    assert code == 1 and "locked.db" in err and "could not be read" in err
    [report] = stored(fake_server)
    data = report["data"]
    assert (data["status"], data["unreadable"]) == ("partial", 1)
    assert data["snapshot_id"] and "locked.db: Permission denied" in data["error"]


def test_a_failed_backup_is_reported_and_fails_the_command(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    code, _out, err = run(["backup", *s.options(), str(tmp_path / "gone")], capsys)
    assert code == 1 and "the backup failed" in err and "does not exist" in err
    [report] = stored(fake_server)
    data = report["data"]
    assert (data["status"], data["repository_id"]) == ("failed", s.repo.id)
    assert "does not exist" in data["error"] and "snapshot_id" not in data
    assert (data["files"], data["bytes_read"]) == (0, 0)
    assert validation_errors(report) == []


def test_a_repository_that_no_longer_opens(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not the password\n")
    options = [*s.options()[:-1], str(wrong)]
    # Never opened here: its id is unknown, so nothing can be reported.
    code, _out, err = run(["backup", *options, str(s.source)], capsys)
    assert code == 1 and "nothing was reported" in err
    assert stored(fake_server) == [] and len(Spool(s.spool)) == 0
    # Once a backup has opened it, the agent knows its id: the failure is reported.
    assert run(["backup", *s.options(), str(s.source)], capsys)[0] == 0
    code, _out, err = run(["backup", *options, str(s.source)], capsys)
    assert code == 1 and "the backup failed" in err
    failed = stored(fake_server)[-1]["data"]
    assert (failed["status"], failed["repository_id"]) == ("failed", s.repo.id)
    assert "password" in failed["error"]


def test_server_down_the_report_waits_and_goes_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FakeServer(port=free_port())  # not started yet: connection refused
    s = setup(tmp_path, server.url, CREDENTIAL)
    code, _out, err = run(["backup", *s.options(), str(s.source)], capsys)
    assert code == 0, err  # the backup succeeded; its report waits
    assert "waits in" in err
    spool = Spool(s.spool)
    assert [e.kind for e in spool.entries()] == ["backup_run"]
    server.start()
    try:
        # The next delivery (`agent run`, `agent once` or the next backup) takes it.
        delivered = Delivery(load_config(s.config), spool).flush()
        assert delivered == 1 and len(spool) == 0
        assert Delivery(load_config(s.config), spool).flush() == 0
        code, _out, err = run(["backup", *s.options(), str(s.source)], capsys)
        assert code == 0, err
    finally:
        server.stop()
    reports = stored(server)
    assert [r["sequence"] for r in reports] == [1, 2]
    assert server.duplicates == 0 and len({r["data"]["run_id"] for r in reports}) == 2


def test_a_running_agent_takes_the_report(tmp_path: Path, fake_server: FakeServer) -> None:
    """`agent run` holds the spool: the report goes through incoming/ and the loop's next
    turn queues it (the command waits until it is taken)."""
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    config = load_config(s.config)
    outcome = agent_backups.run_backup(
        str(s.repo_dir), PASSWORD, [str(s.source)], spool_dir=s.spool
    )
    held, done = threading.Event(), threading.Event()

    def running_agent() -> None:
        with hold(s.spool):
            held.set()
            spool = Spool(s.spool, sync=False)
            while not spool.incoming():
                time.sleep(0.05)
            runner = Runner(spool, Delivery(config, spool), collect=dict, sleep=lambda _: None)
            runner.fingerprint = "0" * 64  # no inventory this turn (the collector is dict)
            runner._adopt_incoming()
            Delivery(config, spool).flush()
        done.set()

    thread = threading.Thread(target=running_agent)
    thread.start()
    held.wait(5)
    reported = agent_backups.report(config, s.spool, outcome, handover_seconds=10)
    thread.join(10)
    assert done.is_set()
    assert reported.fate == "handed over", reported.message
    [report] = stored(fake_server, "backup_run")
    assert report["data"]["run_id"] == outcome.data["run_id"]


def test_a_report_left_while_the_spool_is_held_waits_in_incoming(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    config = load_config(s.config)
    outcome = agent_backups.run_backup(
        str(s.repo_dir), PASSWORD, [str(s.source)], spool_dir=s.spool
    )
    with hold(s.spool):  # an agent that does not take it (an older version, say)
        reported = agent_backups.report(config, s.spool, outcome, handover_seconds=0.2)
    assert reported.fate == "waiting" and "incoming" in reported.message
    spool = Spool(s.spool)
    assert len(spool.incoming()) == 1 and spool.summary()["incoming"] == 1
    # The next holder queues it after what was already queued, and it goes once.
    spool.add("heartbeat", {"uptime_seconds": 1, "cpu_percent": 1.0, "memory_percent": 1.0}, 1.0)
    [(_name, queued)] = spool.adopt_incoming()
    assert (queued["kind"], queued["sequence"]) == ("backup_run", 2)
    assert spool.incoming() == []
    assert Delivery(config, spool).flush() == 2
    assert [r["kind"] for r in stored(fake_server)] == ["heartbeat", "backup_run"]


def test_a_drill_is_reported(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    snapshot, stats = backup(s.repo, [str(s.source)])
    scratch = tmp_path / "scratch"
    code, out, err = run(["drill", *s.options(), "--scratch", str(scratch)], capsys)
    assert code == 0, err
    assert "OK" in out and not scratch.exists()  # the restored copy is removed
    [report] = stored(fake_server)
    data = report["data"]
    assert report["kind"] == "restore_drill" and validation_errors(report) == []
    assert (data["repository_id"], data["snapshot_id"]) == (s.repo.id, snapshot.id.hex())
    assert (data["files_checked"], data["bytes_checked"]) == (stats.files, stats.bytes_read)
    assert (data["mismatches"], data["errors"]) == (0, [])
    evidence = data["evidence"]
    assert len(evidence["manifest_sha256"]) == 64 and evidence["restore_seconds"] >= 0
    assert data["snapshot_time"] <= data["started_at"] <= data["finished_at"]
    payload = pytest.importorskip("infogerance.inventory.payload")
    [(_envelope, parsed)] = payload.parse_reports({"reports": [report]})
    assert parsed.evidence.manifest_sha256 == evidence["manifest_sha256"]
    # A snapshot by its id, and the default scratch place (a new temporary directory).
    code, _out, err = run(["drill", *s.options(), snapshot.id.hex()[:8]], capsys)
    assert code == 0, err
    assert len(stored(fake_server, "restore_drill")) == 2


def test_a_drill_on_a_damaged_pack_reports_the_failure(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    backup(s.repo, [str(s.source)])
    corrupt_a_data_pack(s.repo_dir)
    code, out, err = run(["drill", *s.options(), "latest"], capsys)
    assert code == 1 and "FAILED" in out and "error:" in err
    [report] = stored(fake_server)
    data = report["data"]
    assert data["errors"] and validation_errors(report) == []
    files, _size = s.source_figures()
    assert data["files_checked"] < files or data["mismatches"] > 0


def test_no_drill_no_report(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    code, _out, err = run(["drill", *s.options()], capsys)  # an empty repository
    assert code == 1 and "no snapshot" in err and "nothing was reported" in err
    backup(s.repo, [str(s.source)])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    code, _out, err = run(["drill", *s.options(), "--scratch", str(busy)], capsys)
    assert code == 1 and "must be empty" in err
    assert stored(fake_server) == [] and len(Spool(s.spool)) == 0


def test_a_refused_report_is_set_aside_and_said(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_server.reject = lambda report: (
        "data.repository_id: no backup repository of this agent's client has this id"
        if report["kind"] == "backup_run"
        else None
    )
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    code, _out, err = run(["backup", *s.options(), str(s.source)], capsys)
    assert code == 1 and "refused the report" in err and "repository_id" in err
    spool = Spool(s.spool)
    assert len(spool) == 0 and [p.name for p in spool.rejected()] == [
        "000000000001-backup_run.json"
    ]


def test_not_enrolled_nothing_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = setup(tmp_path, "http://127.0.0.1:9", CREDENTIAL)
    s.config.unlink()
    code, _out, err = run(["backup", *s.options(), str(s.source)], capsys)
    assert code == 1 and "enrol first" in err
    assert Repository.open(LocalBackend(s.repo_dir), PASSWORD).list_snapshots() == []


def test_backup_reports_are_never_dropped_from_a_full_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_count=3, sync=False)
    run_report = spool.add("backup_run", {"run_id": "r"}, 1.0)
    for i in range(5):
        spool.add("heartbeat", {"uptime_seconds": i}, 2.0 + i)
    assert [e.kind for e in spool.entries()] == ["backup_run", "heartbeat", "heartbeat"]
    assert spool.entries()[0].sequence == run_report["sequence"]


def test_an_adopted_report_replayed_after_a_crash_keeps_its_run_id(tmp_path: Path) -> None:
    """Queued, then the process died before deleting the incoming file: it is queued again
    under a new sequence with the same run id, which the platform records once."""
    incoming = submit(tmp_path, "backup_run", {"run_id": "same"}, 1.0, sync=False)
    content = incoming.read_bytes()
    spool = Spool(tmp_path, sync=False)
    spool.adopt_incoming()
    incoming.write_bytes(content)  # as if the unlink had not happened
    spool.adopt_incoming()
    reports = [r for _, r in spool.batch()]
    assert [r["sequence"] for r in reports] == [1, 2]
    assert {r["data"]["run_id"] for r in reports} == {"same"}
    # An unreadable incoming file is set aside, not retried for ever.
    (spool.incoming_dir / f"{time.time_ns():020d}-{'0' * 12}-backup_run.json").write_text("{")
    assert spool.adopt_incoming() == [] and spool.incoming() == []


def test_the_loop_of_agent_run_queues_what_it_finds_in_incoming(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    outcome = agent_backups.run_backup(
        str(s.repo_dir), PASSWORD, [str(s.source)], spool_dir=s.spool
    )
    submit(s.spool, "backup_run", outcome.data, time.time())
    spool = Spool(s.spool, sync=False)
    machine = {"hostname": "web-01", "os": {"family": "linux", "name": "Debian", "version": "12"}}
    runner = Runner(
        spool, Delivery(load_config(s.config), spool), collect=lambda: machine, sleep=lambda _: None
    )
    with spool.lock():
        runner.run(max_iterations=1)
    assert spool.incoming() == [] and len(spool) == 0
    assert [r["kind"] for r in stored(fake_server)] == ["backup_run", "inventory"]
    assert stored(fake_server)[0]["data"] == outcome.data


def test_status_shows_the_repositories_seen(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s = setup(tmp_path, fake_server.url, CREDENTIAL)
    assert run(["backup", *s.options(), str(s.source)], capsys)[0] == 0
    status = ["status", "--config", str(s.config), "--spool", str(s.spool)]
    code, out, _err = run(status, capsys)
    assert code == 0 and f"backup repository {s.repo_dir}: id {s.repo.id}" in out
    code, out, _err = run([*status, "--json"], capsys)
    assert json.loads(out)["backup_repositories"] == {str(s.repo_dir): s.repo.id}


def test_the_backup_commands_import_no_django() -> None:
    code = (
        "import sys; import infogerance.agent.backups, infogerance.backup.archiver, "
        "infogerance.backup.drill, infogerance.backup.check, infogerance.backup.cli; "
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('django', 'ninja', 'pydantic')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
