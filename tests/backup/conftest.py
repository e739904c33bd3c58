"""Fixtures of the backup engine's tests: generated data, fast repositories, restic."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from infogerance.backup.backend import LocalBackend
from infogerance.backup.repository import Repository

PASSWORD = "a-good-test-password"
# Cheap key derivation for speed; the format allows any scrypt parameters.
FAST_SCRYPT = {"N": 1024, "r": 8, "p": 1}


def restic_binary() -> str:
    """The restic binary, or a skip (a failure when CI=true: the oracle must be there)."""
    found = shutil.which("restic")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("restic is required in CI (apt-get install restic)")
    pytest.skip("restic is not installed: the interoperability tests need Debian's restic")


@pytest.fixture
def restic(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = restic_binary()
    password_file = tmp_path / "restic-password"
    password_file.write_text(PASSWORD + "\n")
    cache = tmp_path / "restic-cache"

    def run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [binary, "-r", str(repo), "--password-file", str(password_file), "--no-cache", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "RESTIC_CACHE_DIR": str(cache)},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"restic {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    return run


def make_dataset(root: Path, seed: int = 7) -> Path:
    """A few MiB of varied data: the shapes a backup engine gets wrong."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / "random-1.bin").write_bytes(rng.randbytes(1_500_000))
    (root / "random-2.bin").write_bytes(rng.randbytes(700_000))
    words = ["alpha", "beta", "gamma", "delta", "error", "warning", "request", "ok"]
    lines = (
        f"2026-11-{rng.randint(1, 28):02d} host{rng.randint(1, 9)} "
        f"{' '.join(rng.choice(words) for _ in range(8))}\n"
        for _ in range(40_000)
    )
    (root / "logs").mkdir()
    (root / "logs" / "app.log").write_text("".join(lines))
    # Larger than the 8 MiB maximum chunk: at least two chunks, one cut forced.
    (root / "big.bin").write_bytes(rng.randbytes(9 * 1024 * 1024 + 12_345))
    small = root / "small"
    for d in range(5):
        sub = small / f"d{d}" / "nested" / "deeper"
        sub.mkdir(parents=True)
        for i in range(40):
            (sub / f"f{i}.txt").write_text(f"small file {d}/{i}\n" * rng.randint(0, 30))
    (root / "empty").write_bytes(b"")
    (root / "empty-dir").mkdir()
    (root / "link-to-log").symlink_to("logs/app.log")
    (root / "dangling").symlink_to("does/not/exist")
    private = root / "private.txt"
    private.write_text("secret\n")
    private.chmod(0o600)
    os.link(private, root / "small" / "hard-link-to-private.txt")
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (root / "naïve café.txt").write_text("unicode name\n")
    os.utime(root / "random-2.bin", ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    return root


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "source")


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository.init(LocalBackend(tmp_path / "repo"), PASSWORD, scrypt_params=FAST_SCRYPT)


def tree_digest(root: Path) -> dict[str, tuple[str, object]]:
    """Every entry below root: type and content (bytes, link target), mode for files."""
    result: dict[str, tuple[str, object]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                result[rel] = ("symlink", os.readlink(path))
            elif path.is_dir():
                result[rel] = ("dir", oct(path.stat().st_mode & 0o7777))
            else:
                st = path.stat()
                result[rel] = ("file", (path.read_bytes(), oct(st.st_mode & 0o7777)))
    return result


def assert_same_tree(source: Path, restored: Path, mtimes: bool = True) -> None:
    expected = tree_digest(source)
    got = tree_digest(restored)
    assert sorted(got) == sorted(expected)
    for rel, value in expected.items():
        assert got[rel] == value, rel
    if mtimes:
        for dirpath, dirnames, filenames in os.walk(source):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                other = restored / path.relative_to(source)
                assert os.lstat(other).st_mtime_ns == os.lstat(path).st_mtime_ns, path
