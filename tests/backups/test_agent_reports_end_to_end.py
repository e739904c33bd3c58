"""`infogerance agent backup` and `agent drill` as separate processes against a real
`infogerance serve` with the demo's data: the run and the drill are recorded on the demo
client's repository and the agent's asset; a drill made while the server is down is recorded
with the next delivery, once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infogerance.backup.backend import LocalBackend
from infogerance.backup.repository import Repository
from tests.agent.backup_helpers import PASSWORD, make_source
from tests.inventory.test_agent_end_to_end import Server, _free_port, demo_with_token, run


def recorded(home: Path, repository_id: str) -> dict[str, Any]:
    script = (
        "import json;"
        "from infogerance.backups.models import BackupRun, RestoreDrill;"
        "from infogerance.inventory.models import Agent;"
        f"runs = BackupRun.objects.filter(repository__repository_id={repository_id!r});"
        f"drills = RestoreDrill.objects.filter(repository__repository_id={repository_id!r});"
        "agent = Agent.objects.filter(revoked_at=None).order_by('-pk').first();"
        "print(json.dumps({"
        "'runs': [[r.status, r.asset_id, r.organization.slug, r.files] for r in runs],"
        "'drills': [[d.passed, d.asset_id, d.files_checked] for d in drills],"
        "'asset': agent.asset_id, 'last_sequence': agent.last_sequence,"
        "'stored': agent.reports_stored}))"
    )
    result = run(["manage", "shell", "-c", script], home)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_agent_reports_its_backups_to_a_real_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    token = demo_with_token(home)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    repo_dir, source = tmp_path / "repo", make_source(tmp_path / "src")
    repo = ["--repo", str(repo_dir), "--password-file", str(password_file)]
    assert run(["backup", "init", *repo], home).returncode == 0
    repository_id = Repository.open(LocalBackend(repo_dir), PASSWORD).id
    declare = (
        "from infogerance.backups.services import create_repository;"
        "from infogerance.core.actors import SystemActor;"
        "from infogerance.tenancy.models import Organization;"
        "create_repository(actor=SystemActor('cli'), client=Organization.objects.get("
        f"slug='martin'), name='agent', location={str(repo_dir)!r}, service_code='SAUV', "
        f"repository_id={repository_id!r})"
    )
    declared = run(["manage", "shell", "-c", declare], home)
    assert declared.returncode == 0, declared.stderr
    server = Server(home, _free_port())
    config = ["--config", str(tmp_path / "agent.json")]
    agent = [*config, "--spool", str(tmp_path / "spool")]
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        enrolled = run(["agent", "enroll", "--server", url, "--token", token, *config], home)
        assert enrolled.returncode == 0, enrolled.stderr
        first = run(["agent", "backup", *agent, *repo, str(source)], home)
        assert first.returncode == 0, first.stderr
        assert "reported to" in first.stdout
        server.stop()
        drill = run(["agent", "drill", *agent, *repo], home)  # the server is down
        assert drill.returncode == 0 and "waits in" in drill.stderr, drill.stderr
        server.start()
        second = run(["agent", "backup", *agent, *repo, str(source)], home)
        assert second.returncode == 0, second.stderr
    finally:
        server.stop()
    facts = recorded(home, repository_id)
    files = sum(1 for p in source.rglob("*") if p.is_file())
    assert facts["runs"] == [["success", facts["asset"], "martin", files]] * 2
    assert facts["drills"] == [[True, facts["asset"], files]]
    # A run, the drill (sent with the second run), the second run: each stored once.
    assert (facts["last_sequence"], facts["stored"]) == (3, 3)
