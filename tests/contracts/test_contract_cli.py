"""`infogerance contract …`: validate, import, export, diff from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infogerance.cli import main

MINIMAL = Path(__file__).parent / "minimal.yaml"


def test_validate_ok(capsys: Any) -> None:
    assert main(["contract", "validate", str(MINIMAL)]) == 0
    assert "valid (TEST-001, 2 service levels, 2 services)" in capsys.readouterr().out


def test_validate_reports_every_error_with_lines(tmp_path: Path, capsys: Any) -> None:
    bad = tmp_path / "bad.yaml"
    text = MINIMAL.read_text(encoding="utf-8")
    bad.write_text(
        text.replace("notice_months: 6", "notice_months: six").replace(
            "metric: gti", "metric: speed"
        ),
        encoding="utf-8",
    )
    assert main(["contract", "validate", str(bad), "--lang", "en"]) == 1
    err = capsys.readouterr().err.splitlines()
    line_a = next(i for i, t in enumerate(text.splitlines(), 1) if "notice_months" in t)
    line_b = next(i for i, t in enumerate(text.splitlines(), 1) if "metric: gti" in t)
    # The column is the value's: "  notice_months: six" puts "six" at column 18.
    assert err[0] == f"{bad}:{line_a}:18: term.notice_months: Expected a whole number."
    assert err[1].startswith(f"{bad}:{line_b}:13: service_levels.0.metric: 'speed' is not one of")
    assert err[2] == f"2 problem(s) in {bad}"
    assert main(["contract", "validate", str(bad), "--json", "--lang", "en"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False
    assert [p["path"] for p in result["problems"]] == [
        "term.notice_months",
        "service_levels.0.metric",
    ]


def test_validate_a_missing_file(capsys: Any) -> None:
    assert main(["contract", "validate", "/nonexistent.yaml"]) == 1
    assert "No such file or directory" in capsys.readouterr().err


@pytest.mark.django_db
def test_import_export_diff(world: Any, tmp_path: Path, capsys: Any) -> None:
    slug = world.victim.slug
    assert main(["contract", "import", str(MINIMAL), "--client", slug]) == 0
    assert "TEST-001 version 1 imported" in capsys.readouterr().out
    exported = tmp_path / "v1.yaml"
    assert main(["contract", "export", "TEST-001", "-o", str(exported)]) == 0
    # The export re-imports to the same terms: nothing new to import.
    assert main(["contract", "import", str(exported), "--client", slug]) == 1
    assert "identical to version 1" in capsys.readouterr().err
    amended = tmp_path / "v2.yaml"
    amended.write_text(
        exported.read_text(encoding="utf-8").replace("compliance: '95'", "compliance: '97'"),
        encoding="utf-8",
    )
    assert (
        main(
            [
                "contract",
                "import",
                str(amended),
                "--client",
                slug,
                "--effective-from",
                "2026-09-01",
                "--note",
                "avenant 1",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["contract", "diff", "TEST-001", "1", "2"]) == 0
    diff = capsys.readouterr().out
    assert "-    compliance: '95'" in diff
    assert "+    compliance: '97'" in diff
    # Export is stable byte for byte.
    assert main(["contract", "export", "TEST-001", "--version", "1"]) == 0
    assert capsys.readouterr().out == exported.read_text(encoding="utf-8")


@pytest.mark.django_db
def test_import_errors(world: Any, capsys: Any) -> None:
    assert main(["contract", "import", str(MINIMAL), "--client", "nope"]) == 1
    assert "--client: no client organisation" in capsys.readouterr().err
    assert (
        main(
            [
                "contract",
                "import",
                str(MINIMAL),
                "--client",
                world.victim.slug,
                "--effective-from",
                "2026-02-30",
            ]
        )
        == 1
    )
    assert "--effective-from: not a date" in capsys.readouterr().err


def test_schema_command(capsys: Any) -> None:
    assert main(["contract", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"].startswith("Infogérance contract")
    assert "service_levels" in schema["properties"]
