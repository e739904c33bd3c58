"""The `backup` command layer: arguments, passwords, exit codes, messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from infogerance.backup import repository
from infogerance.backup.cli import main

from .conftest import FAST_SCRYPT, PASSWORD, assert_same_tree


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository, "DEFAULT_SCRYPT", FAST_SCRYPT)
    monkeypatch.delenv("INFOGERANCE_BACKUP_PASSWORD", raising=False)
    monkeypatch.delenv("INFOGERANCE_BACKUP_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("INFOGERANCE_BACKUP_REPOSITORY", raising=False)


def test_full_cycle(
    tmp_path: Path,
    dataset: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n")
    repo = str(tmp_path / "repo")
    common = ["--repo", repo, "--password-file", str(password_file)]
    assert main(["backup", "init", *common]) == 0
    assert main(["backup", "run", *common, str(dataset), "--tag", "daily"]) == 0
    out = capsys.readouterr().out
    assert "snapshot" in out and "saved" in out

    # The password from the environment works as well as the file.
    monkeypatch.setenv("INFOGERANCE_BACKUP_PASSWORD", PASSWORD)
    assert main(["backup", "run", "--repo", repo, str(dataset)]) == 0
    assert "unmodified" in capsys.readouterr().out
    assert main(["backup", "snapshots", "--repo", repo]) == 0
    assert "2 snapshots" in capsys.readouterr().out
    assert main(["backup", "ls", "--repo", repo, "latest", str(dataset / "logs")]) == 0
    assert f"{dataset}/logs/app.log" in capsys.readouterr().out
    target = tmp_path / "out"
    assert main(["backup", "restore", "--repo", repo, "latest", "-t", str(target), "--verify"]) == 0
    assert_same_tree(dataset, target / dataset.relative_to("/"))
    scratch = str(tmp_path / "drill")
    assert main(["backup", "drill", "--repo", repo, "latest", "--scratch", scratch, "--json"]) == 0
    assert '"ok":true' in capsys.readouterr().out
    assert main(["backup", "verify", "--repo", repo, "--read-subset", "1/2"]) == 0
    assert main(["backup", "verify", "--repo", repo, "--read-data"]) == 0
    assert main(["backup", "forget", "--repo", repo, "--keep-last", "1", "--prune"]) == 0
    assert "removed 1 snapshots" in capsys.readouterr().out
    assert main(["backup", "prune", "--repo", repo, "--delay", "0h"]) == 0
    assert main(["backup", "unlock", "--repo", repo]) == 0


def test_errors_exit_1_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = str(tmp_path / "repo")
    assert main(["backup", "init", "--repo", repo]) == 1
    assert "no password" in capsys.readouterr().err
    monkeypatch.setenv("INFOGERANCE_BACKUP_PASSWORD", PASSWORD)
    assert main(["backup", "snapshots", "--repo", repo]) == 1
    assert "no repository" in capsys.readouterr().err
    assert main(["backup", "init", "--repo", repo]) == 0
    assert main(["backup", "run", "--repo", repo, str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["backup", "restore", "--repo", repo, "latest", "-t", str(tmp_path / "t")]) == 1
    assert "no snapshot" in capsys.readouterr().err
    monkeypatch.setenv("INFOGERANCE_BACKUP_PASSWORD", "wrong")
    assert main(["backup", "snapshots", "--repo", repo]) == 1
    assert "wrong password" in capsys.readouterr().err
    assert main(["backup", "forget", "--repo", repo]) == 1
