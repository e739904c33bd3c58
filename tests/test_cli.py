"""The `infogerance` command: clear messages on bad configuration, a real server, a worker."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infogerance import __version__

EXE = [sys.executable, "-m", "infogerance"]


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INFOGERANCE_")}
    environment.update({"INFOGERANCE_HOME": str(home), **env})
    return subprocess.run(
        [*EXE, *args], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_version(tmp_path: Path) -> None:
    result = run(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"infogerance {__version__}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"INFOGERANCE_DATABASE_URL": "mysql://u:p@h/db"},
            "INFOGERANCE_DATABASE_URL: unsupported database 'mysql' in mysql://u:***@h/db",
        ),
        ({"INFOGERANCE_EMAIL_PORT": "abc"}, "INFOGERANCE_EMAIL_PORT: expected an integer"),
        ({"INFOGERANCE_DEBUG": "maybe"}, "INFOGERANCE_DEBUG: expected true or false"),
        ({"INFOGERANCE_SECRET_KEY": "short"}, "INFOGERANCE_SECRET_KEY: must be at least 32"),
        ({"INFOGERANCE_TIME_ZONE": "Mars/Olympus"}, "INFOGERANCE_TIME_ZONE: unknown time zone"),
        ({"INFOGERANCE_EMAIL_BACKEND": "pigeon"}, "INFOGERANCE_EMAIL_BACKEND: expected one of"),
        ({"INFOGERANCE_PORT": "eighty"}, "INFOGERANCE_PORT: expected an integer"),
        ({"INFOGERANCE_API_TOKEN_DAYS": "400"}, "INFOGERANCE_API_TOKEN_DAYS: 400 is above"),
        (
            {"INFOGERANCE_ALLOWED_HOSTS": "x", "INFOGERANCE_CSRF_TRUSTED_ORIGINS": "example.org"},
            "INFOGERANCE_CSRF_TRUSTED_ORIGINS: 'example.org' must start with",
        ),
    ],
)
def test_bad_configuration_is_one_clear_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run(["init"], tmp_path, **env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"infogerance: configuration error: {message}")


def test_unreachable_database_names_its_url_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://bob:s3cret-pw@127.0.0.1:9/nowhere"
    result = run(["init"], tmp_path, INFOGERANCE_DATABASE_URL=url)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr
    assert "cannot reach the database at postgresql://bob:***@127.0.0.1:9/nowhere" in result.stderr


def test_secret_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    assert run(["init"], tmp_path).returncode == 0
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    assert run(["init"], tmp_path).returncode == 0
    assert key_file.read_text() == first
    assert len(first.strip()) >= 32


def test_an_empty_trail_can_be_anchored(tmp_path: Path) -> None:
    assert run(["manage", "migrate", "-v0"], tmp_path).returncode == 0
    first = run(["audit", "verify"], tmp_path)
    assert first.returncode == 0
    head = first.stdout.strip().rsplit("Head: ", 1)[1]
    assert head == "0:" + "0" * 64
    assert run(["audit", "verify", "--expect-head", head], tmp_path).returncode == 0


def test_file_commands_need_no_instance_and_speak_both_languages(tmp_path: Path) -> None:
    """contract validate and sla evaluate only read files: a broken instance configuration
    does not concern them, and their messages still follow --lang."""
    contract = Path(__file__).resolve().parents[1] / "examples" / "contrat-infogerance-globale.yaml"
    broken = {"INFOGERANCE_DATABASE_URL": "mysql://u:p@h/db", "INFOGERANCE_DEBUG": "maybe"}
    broken["DJANGO_SETTINGS_MODULE"] = ""  # as for a user (pytest-django sets it for the tests)
    valid = run(["contract", "validate", str(contract)], tmp_path / "none", **broken)
    assert valid.returncode == 0, valid.stderr
    assert "valid (NL-BM-2026-001, 19 service levels, 7 services)" in valid.stdout
    incomplete = tmp_path / "c.yaml"
    incomplete.write_text("reference: x\n", encoding="utf-8")
    for lang, message in (("en", "fees: This field is required."), ("fr", "fees: Ce champ est")):
        invalid = run(
            ["contract", "validate", str(incomplete), "--lang", lang], tmp_path / "none", **broken
        )
        assert invalid.returncode == 1 and message in invalid.stderr
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "ticket_event", "ticket": "T1"}\n', encoding="utf-8")
    bad = run(
        ["sla", "evaluate", "--contract", str(contract), "--events", str(events),
         "--period", "2026-03"],
        tmp_path / "none",
        **broken,
    )  # fmt: skip
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "events.jsonl:1: seq: required on every ticket_event line, but missing" in bad.stderr
    assert not (tmp_path / "none").exists()  # nothing created for an instance


def test_commands_need_an_initialised_instance(tmp_path: Path) -> None:
    result = run(["audit", "verify"], tmp_path)
    assert result.returncode == 2
    assert "run 'infogerance init' first" in result.stderr


def test_init_createuser_demo_and_verify(tmp_path: Path) -> None:
    assert run(["init"], tmp_path).returncode == 0
    created = subprocess.run(
        [
            *EXE,
            "createuser",
            "boss@acme.example",
            "--organization",
            "acme",
            "--role",
            "provider_admin",
            "--create-provider",
            "Acme Services",
            "--password-stdin",
        ],
        input="a-long-enough-password\n",
        capture_output=True,
        text=True,
        check=False,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("INFOGERANCE_")},
            "INFOGERANCE_HOME": str(tmp_path),
        },
    )
    assert created.returncode == 0, created.stderr
    assert "boss@acme.example is Provider administrator of Acme Services" in created.stdout
    duplicate = run(
        [
            "createuser",
            "boss@acme.example",
            "--organization",
            "acme",
            "--role",
            "provider_engineer",
            "--no-password",
        ],
        tmp_path,
    )
    assert duplicate.returncode == 1
    assert "email: This person is already a member." in duplicate.stderr
    wrong_org = run(
        [
            "createuser",
            "x@acme.example",
            "--organization",
            "nope",
            "--role",
            "client_user",
            "--no-password",
        ],
        tmp_path,
    )
    assert wrong_org.returncode == 1
    assert "--organization: no organisation" in wrong_org.stderr
    first = run(["demo"], tmp_path)
    assert first.returncode == 0
    assert "Demo data loaded." in first.stdout
    assert "admin@nordline.example" in first.stdout
    second = run(["demo"], tmp_path)
    assert "already present (instance reused)" in second.stdout
    verify = run(["audit", "verify"], tmp_path)
    assert verify.returncode == 0
    assert verify.stdout.startswith("OK: ")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_the_production_server_and_a_worker(tmp_path: Path) -> None:
    assert run(["demo"], tmp_path).returncode == 0
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INFOGERANCE_")}
    environment["INFOGERANCE_HOME"] = str(tmp_path)
    process = subprocess.Popen(
        [*EXE, "serve", "--port", str(port), "--workers", "1"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body: Any = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
                    server = r.headers["Server"]
                break
            except OSError:
                time.sleep(0.3)
        assert body == '{"status": "ok"}', "the server did not answer in 30 s"
        assert server == "granian"  # the production server, never runserver
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:
            page = r.read().decode()
            assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert 'lang="fr"' in page
        assert "/static/infogerance/css/app.css" in page
        # The embedded worker ran the scheduler: today's audit verification was queued and run.
        deadline = time.monotonic() + 30
        verified = ""
        while time.monotonic() < deadline and "OK" not in verified:
            time.sleep(0.5)
            check = run(
                [
                    "manage",
                    "shell",
                    "-c",
                    "from infogerance.audit.models import AuditEvent as E;"
                    "print('OK' if E.objects.filter(action='audit.chain_verified')"
                    ".exists() else 'no')",
                ],
                tmp_path,
            )
            verified = check.stdout
        assert "OK" in verified
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    leftover = subprocess.run(
        ["pgrep", "-f", f"INFOGERANCE_HOME={tmp_path}"], capture_output=True, check=False
    )
    assert leftover.returncode != 0 or not leftover.stdout
