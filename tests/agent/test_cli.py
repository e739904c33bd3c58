"""`infogerance agent …` end to end: once --print against the schema, enroll, run, status."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infogerance.agent import cli as agent_cli
from infogerance.agent import runner as runner_module
from infogerance.agent.client import AgentConfig, save_config

from .conftest import CREDENTIAL, TOKEN, FakeServer

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "formats" / "agent.schema.json").read_text())


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def validation_errors(instance: Any, schema: dict[str, Any] = SCHEMA) -> list[str]:
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(schema)
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_once_print_follows_the_protocol_and_the_schema(printed: dict[str, Any]) -> None:
    printed = {"reports": printed["reports"]}
    reports = printed["reports"]
    assert [r["kind"] for r in reports] == ["inventory", "performance"]
    assert [r["sequence"] for r in reports] == [1, 2]
    for report in reports:
        assert validation_errors(report) == []
        assert report["format"] == "infogerance-agent/1"
    batch_schema = {  # the request body: the schema's own $defs/batch, reached through its $id
        "$schema": SCHEMA["$schema"],
        "$defs": {"report": SCHEMA},
        "$ref": f"{SCHEMA['$id']}#/$defs/batch",
    }
    assert validation_errors(printed, batch_schema) == []
    assert validation_errors({"reports": []}, batch_schema) != []
    assert validation_errors({"reports": [{"kind": "heartbeat"}]}, batch_schema) != []
    inventory = reports[0]["data"]
    assert {"hostname", "os", "hardware", "disks", "software", "notes"} <= set(inventory)


def test_the_schema_catches_mistakes(printed: dict[str, Any]) -> None:
    report = json.loads(json.dumps(printed["reports"][0]))
    del report["data"]["hostname"]
    report["data"]["software"][0]["source"] = "apt"
    report["sequence"] = 0
    errors = validation_errors(report)
    assert len(errors) >= 3, errors


def test_once_print_pretty(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # quick: no package manager
    assert agent_cli.main(["once", "--print", "--pretty", "--perf-seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('{\n  "reports": [')
    assert [r["kind"] for r in json.loads(out)["reports"]] == ["inventory"]


def test_the_agent_imports_no_django() -> None:
    code = (
        "import sys; import infogerance.agent.cli, infogerance.agent.runner, "
        "infogerance.agent.client, infogerance.agent.collect, infogerance.agent.spool; "
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('django', 'ninja', 'pydantic')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in (ROOT / "src" / "infogerance" / "agent").glob("*.py"):
        imports = re.findall(r"^\s*(?:from|import)\s+(\w+)", path.read_text(), re.MULTILINE)
        assert "django" not in imports, path


def test_add_parser_wires_into_the_main_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="infogerance")
    sub = parser.add_subparsers(dest="command")
    agent_cli.add_parser(sub)
    args = parser.parse_args(["agent", "status", "--config", str(tmp_path / "none.json"),
                              "--spool", str(tmp_path / "spool")])  # fmt: skip
    assert args.func(args) == 1  # not enrolled
    captured = capsys.readouterr()
    assert "not enrolled" in captured.out and "enrol first" in captured.err
    args = parser.parse_args(["agent"])
    assert args.func(args) == 1  # the agent's help, on stderr


def test_enroll_writes_a_private_config_and_status_shows_it(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "etc" / "agent.json"
    code = agent_cli.main(["enroll", "--server", fake_server.url, "--token", TOKEN,
                           "--config", str(config)])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "enrolled as agent agent1 (asset 7, client acme)" in captured.out
    assert "http:// sends the credential in clear" in captured.err
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["credential"] == CREDENTIAL and saved["verify_tls"] is True
    assert saved["heartbeat_seconds"] == 30
    assert fake_server.enrolments[0]["os"]["family"]

    assert agent_cli.main(["status", "--json", "--config", str(config),
                           "--spool", str(tmp_path / "spool")]) == 0  # fmt: skip
    status = json.loads(capsys.readouterr().out)
    assert status["agent_id"] == "agent1" and status["spool"]["reports"] == 0
    assert CREDENTIAL not in json.dumps(status)


def test_enroll_errors_are_one_clear_line(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.json"
    code = agent_cli.main(["enroll", "--server", fake_server.url, "--token", "bad",
                           "--config", str(config)])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("infogerance agent: enrolment token refused")
    assert not config.exists()
    missing = str(tmp_path / "missing.pem")
    code = agent_cli.main(["enroll", "--server", "http://127.0.0.1:9", "--token", "t",
                           "--ca-file", missing, "--config", str(config)])  # fmt: skip
    assert code == 1
    assert "no such file" in capsys.readouterr().err


def test_run_stops_on_401_with_a_message(
    tmp_path: Path,
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keep_signal_handlers: None,
) -> None:
    monkeypatch.setattr(
        runner_module,
        "collect_inventory",
        lambda: {"hostname": "h", "os": {"family": "linux", "name": "D", "version": "12"}},
    )
    config = tmp_path / "agent.json"
    save_config(config, AgentConfig(server=fake_server.url, agent_id="a", credential="iga_revoked"))
    code = agent_cli.main(["run", "--config", str(config), "--spool", str(tmp_path / "spool")])
    assert code == 1
    assert "enrol again" in capsys.readouterr().err
    assert fake_server.stored == {}


def test_run_delivers_and_stops_cleanly_on_sigterm(tmp_path: Path, fake_server: FakeServer) -> None:
    config = tmp_path / "agent.json"
    save_config(
        config,
        AgentConfig(
            server=fake_server.url, agent_id="agent1", credential=CREDENTIAL, heartbeat_seconds=1
        ),
    )
    empty = tmp_path / "bin"
    empty.mkdir()  # no package manager in PATH: a quicker inventory, same loop
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PATH": str(empty)}
    process = subprocess.Popen(
        [sys.executable, "-m", "infogerance.agent", "run", "--config", str(config),
         "--spool", str(tmp_path / "spool")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            kinds = [r["kind"] for r in list(fake_server.stored.values())]
            if "inventory" in kinds and kinds.count("heartbeat") >= 2:
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopping" in err
    stored = [fake_server.stored[rid] for rid in fake_server.order]
    assert [r["sequence"] for r in stored] == list(range(1, len(stored) + 1))
    assert stored[0]["kind"] == "inventory" and stored[0]["data"]["software"]
    for report in stored:
        assert validation_errors(report) == []


def test_the_servers_validator_accepts_what_the_agent_sends(
    printed: dict[str, Any], tmp_path: Path
) -> None:
    """A contract test with the server side of the protocol (pydantic, no database)."""
    payload = pytest.importorskip("infogerance.inventory.payload")
    from infogerance.agent.protocol import make_report
    from infogerance.agent.runner import Runner
    from infogerance.agent.spool import Spool

    runner = Runner(Spool(tmp_path, sync=False), delivery=None, collect=dict)  # type: ignore[arg-type]
    runner.fingerprint = "0" * 64
    heartbeat = make_report("heartbeat", 3, runner._heartbeat(time.time()), time.time())
    parsed = payload.parse_reports({"reports": [*printed["reports"], heartbeat]})
    assert [envelope.kind for envelope, _ in parsed] == ["inventory", "performance", "heartbeat"]
    assert validation_errors(heartbeat) == []
