"""What the tests of `agent backup` and `agent drill` share: a repository, data, damage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from infogerance.agent.client import AgentConfig, save_config
from infogerance.backup.backend import LocalBackend
from infogerance.backup.pack import BlobType
from infogerance.backup.repository import Repository

PASSWORD = "a-good-test-password"
FAST_SCRYPT = {"N": 1024, "r": 8, "p": 1}  # cheap key derivation; any parameters are valid


@dataclass
class Setup:
    """An enrolled agent's files, a repository and the data to back up."""

    config: Path
    spool: Path
    repo_dir: Path
    password_file: Path
    source: Path
    repo: Repository

    def options(self) -> list[str]:
        return [
            "--config", str(self.config), "--spool", str(self.spool),
            "--repo", str(self.repo_dir), "--password-file", str(self.password_file),
        ]  # fmt: skip

    def source_figures(self) -> tuple[int, int]:
        """Regular files below the source and their total size."""
        files = [p for p in self.source.rglob("*") if p.is_file() and not p.is_symlink()]
        return len(files), sum(p.stat().st_size for p in files)


def make_source(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "report.txt").write_text("quarterly figures\n" * 400)
    (root / "data.bin").write_bytes(os.urandom(300_000))
    (root / "sub").mkdir()
    for i in range(5):
        (root / "sub" / f"note-{i}.txt").write_text(f"note {i}\n" * (i + 1))
    (root / "empty").write_bytes(b"")
    return root


def setup(tmp_path: Path, server: str, credential: str, asset_id: int | None = 7) -> Setup:
    config = tmp_path / "agent.json"
    save_config(
        config,
        AgentConfig(server=server, agent_id="agent1", credential=credential, asset_id=asset_id),
    )
    password_file = tmp_path / "repository-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    repo_dir = tmp_path / "repo"
    repo = Repository.init(LocalBackend(repo_dir), PASSWORD, scrypt_params=FAST_SCRYPT)
    return Setup(
        config, tmp_path / "spool", repo_dir, password_file, make_source(tmp_path / "src"), repo
    )


def corrupt_a_data_pack(repo_dir: Path, password: str = PASSWORD) -> str:
    """Flip a byte in the middle of a pack of file contents; returns the pack's id."""
    repo = Repository.open(LocalBackend(repo_dir), password)
    pack_id = next(pack for pack, blob in repo.index.entries() if blob.type is BlobType.DATA)
    path = repo_dir / "data" / pack_id.hex()[:2] / pack_id.hex()
    path.chmod(0o600)
    content = bytearray(path.read_bytes())
    content[len(content) // 3] ^= 0xFF
    path.write_bytes(bytes(content))
    return pack_id.hex()
