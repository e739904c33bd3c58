"""The S3 backend against a real S3-compatible server (moto's, on loopback), and restic."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infogerance.backup import repository
from infogerance.backup.archiver import backup
from infogerance.backup.backend import FileKind, LocalBackend, open_backend
from infogerance.backup.check import verify
from infogerance.backup.cli import main
from infogerance.backup.errors import BackupError, FileNotFound, RepositoryNotFound
from infogerance.backup.pack import BlobType
from infogerance.backup.prune import prune
from infogerance.backup.repository import Repository
from infogerance.backup.restorer import restore
from infogerance.backup.retention import RetentionPolicy, forget
from infogerance.backup.s3 import Credentials, S3Backend, S3Error, S3Location, sign_v4

from .conftest import FAST_SCRYPT, PASSWORD, assert_same_tree, restic_binary

CREDENTIALS = Credentials("test-access-key", "test-secret-key")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto S3 server started for the session."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("moto[server] is required in CI for the S3 tests")
        pytest.skip("moto[server] is not installed")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/moto-api/")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3_location(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket and prefix per test; credentials in the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return f"s3:{s3_endpoint}/bucket-{uuid.uuid4().hex[:12]}/repo/one"


@pytest.fixture
def s3_repo(s3_location: str) -> Repository:
    return Repository.init(open_backend(s3_location), PASSWORD, scrypt_params=FAST_SCRYPT)


def test_signature_matches_the_aws_examples() -> None:
    """The two signed examples of AWS's Signature Version 4 documentation for S3."""
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    when = dt.datetime(2013, 5, 24, tzinfo=dt.UTC)
    host = "examplebucket.s3.amazonaws.com"
    get = sign_v4(creds, "GET", host, "/test.txt", {}, empty, when, {"Range": "bytes=0-9"})
    assert get["authorization"].endswith(
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    listing = sign_v4(creds, "GET", host, "/", {"max-keys": "2", "prefix": "J"}, empty, when)
    assert listing["authorization"].endswith(
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    )


def test_locations_are_parsed_as_restic_spells_them() -> None:
    loc = S3Location.parse("s3:http://127.0.0.1:9000/bucket/a/b/")
    assert (loc.scheme, loc.host, loc.bucket, loc.prefix) == (
        "http",
        "127.0.0.1:9000",
        "bucket",
        "a/b",
    )
    assert str(loc) == "s3:http://127.0.0.1:9000/bucket/a/b"
    loc = S3Location.parse("s3:s3.example.org/bucket")
    assert (loc.scheme, loc.bucket, loc.prefix) == ("https", "bucket", "")
    with pytest.raises(BackupError, match="no bucket"):
        S3Location.parse("s3:http://127.0.0.1:9000/")
    with pytest.raises(BackupError, match="unsupported repository location"):
        open_backend("ftp://example.org/x")


def test_backend_operations(s3_location: str) -> None:
    backend = S3Backend(s3_location)
    assert not backend.exists()
    backend.create()
    payload = bytes(range(256)) * 40
    name = "ab" + "0" * 62
    backend.write(FileKind.DATA, name, payload)
    assert backend.read(FileKind.DATA, name) == payload
    assert backend.read(FileKind.DATA, name, 100, 50) == payload[100:150]
    assert backend.read(FileKind.DATA, name, -20) == payload[-20:]
    assert backend.read(FileKind.DATA, name, -20, 10) == payload[-20:-10]
    assert backend.read(FileKind.DATA, name, 5000) == payload[5000:]
    assert backend.stat(FileKind.DATA, name) == len(payload)
    with pytest.raises(FileNotFound, match="truncated"):
        backend.read(FileKind.DATA, name, len(payload) - 10, 20)
    assert list(backend.list(FileKind.DATA)) == [(name, len(payload))]

    # Listings page through every key (a page of 2 here) and ignore foreign names.
    names = [f"{i:064x}" for i in range(7)]
    for n in names:
        backend.write(FileKind.SNAPSHOTS, n, n.encode())
    backend.client.request("PUT", "repo/one/snapshots/not-an-id", body=b"x")
    backend.page_size = 2
    assert sorted(backend.list(FileKind.SNAPSHOTS)) == [(n, 64) for n in names]
    backend.delete(FileKind.SNAPSHOTS, names[0])
    backend.delete(FileKind.SNAPSHOTS, names[0])  # deleting a missing object is no error
    assert len(list(backend.list(FileKind.SNAPSHOTS))) == 6

    missing = "cd" + "1" * 62
    with pytest.raises(FileNotFound, match=f"data/{missing} does not exist"):
        backend.read(FileKind.DATA, missing)
    with pytest.raises(FileNotFound):
        backend.stat(FileKind.DATA, missing)


def test_errors_are_clear(s3_location: str, s3_endpoint: str) -> None:
    with pytest.raises(RepositoryNotFound):
        Repository.open(S3Backend(s3_location), PASSWORD)
    unreachable = S3Backend(f"s3:http://127.0.0.1:{_free_port()}/bucket", CREDENTIALS)
    with pytest.raises(S3Error, match="cannot reach"):
        unreachable.exists()
    with pytest.raises(BackupError, match="AWS_ACCESS_KEY_ID"):
        Credentials.from_environment({})


def _data_blobs(repo: Repository) -> list[bytes]:
    """The data blobs (trees differ: the source was copied again, with new inodes)."""
    return sorted(b.id for _p, b in repo.index.entries() if b.type is BlobType.DATA)


def _listing(repo: Repository) -> list[list[tuple[str, str, int, tuple[bytes, ...]]]]:
    """Every snapshot's entries: path, type, size and content (blob IDs)."""

    def walk(tree: bytes, prefix: str) -> list[tuple[str, str, int, tuple[bytes, ...]]]:
        out = []
        for node in repo.load_tree(tree):
            path = f"{prefix}/{node.name}"
            out.append((path, node.type, node.size or 0, tuple(node.content or ())))
            if node.subtree is not None:
                out += walk(node.subtree, path)
        return out

    return [walk(s.tree, "") for s in repo.list_snapshots()]


def test_operations_through_s3_give_the_same_results_as_local_storage(
    tmp_path: Path, dataset: Path, s3_repo: Repository
) -> None:
    local = Repository.init(LocalBackend(tmp_path / "local"), PASSWORD, scrypt_params=FAST_SCRYPT)
    source = tmp_path / "source"
    shutil.copytree(dataset, source, symlinks=True)
    results = {}
    for name, repo in (("s3", s3_repo), ("local", local)):
        _, first = backup(repo, [str(source)], tags=["first"])
        (source / "logs" / "app.log").write_text("changed\n" * 1000)
        _, second = backup(repo, [str(source)])
        (source / "logs" / "app.log").write_text("changed again\n" * 1000)
        _, third = backup(repo, [str(source)])
        shutil.rmtree(source)
        shutil.copytree(dataset, source, symlinks=True)
        results[name] = (first.files_new, second.files_changed, third.files_unmodified)
    assert results["s3"] == results["local"]
    assert _listing(s3_repo) == _listing(local)
    assert _data_blobs(s3_repo) == _data_blobs(local)

    reopened = Repository.open(open_backend(s3_repo.backend.location), PASSWORD)
    first_snapshot = reopened.list_snapshots()[0]
    target = tmp_path / "restored"
    stats = restore(reopened, first_snapshot, str(target), verify=True)
    assert stats.errors == []
    assert_same_tree(dataset, target / source.relative_to("/"))
    report = verify(reopened, read="all")
    assert report.ok, report.errors
    assert report.packs_read == len(list(reopened.backend.list(FileKind.DATA)))

    for repo in (reopened, local):
        forget(repo, RetentionPolicy(last=1))
        prune(repo, delay_ns=0, max_unused=0.0)  # phase 1: condemn
        prune(repo, delay_ns=0, max_unused=0.0)  # phase 2: delete
    assert len(reopened.list_snapshots()) == len(local.list_snapshots()) == 1
    assert _data_blobs(reopened) == _data_blobs(local)
    again = Repository.open(open_backend(s3_repo.backend.location), PASSWORD)
    assert verify(again, read="all").ok
    packs = {n for n, _ in again.backend.list(FileKind.DATA)}
    assert packs == {p.hex() for p, _b in again.index.entries()}


def test_a_missing_pack_gives_the_engines_clear_errors(
    tmp_path: Path, dataset: Path, s3_repo: Repository
) -> None:
    snapshot, _ = backup(s3_repo, [str(dataset / "big.bin")])
    pack = next(p for p, b in s3_repo.index.entries() if b.type is BlobType.DATA).hex()
    s3_repo.backend.delete(FileKind.DATA, pack)
    reopened = Repository.open(open_backend(s3_repo.backend.location), PASSWORD)
    report = verify(reopened, read="structure")
    assert any(e.startswith(f"pack {pack[:16]} is missing") for e in report.errors)
    assert any(a.endswith(f"{dataset}/big.bin") for a in report.affected_files)
    with pytest.raises(FileNotFound, match=f"data/{pack} does not exist"):
        restore(reopened, snapshot, str(tmp_path / "out"))


def test_command_line_with_an_s3_repository(
    tmp_path: Path,
    dataset: Path,
    s3_location: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(repository, "DEFAULT_SCRYPT", FAST_SCRYPT)
    monkeypatch.setenv("INFOGERANCE_BACKUP_PASSWORD", PASSWORD)
    common = ["--repo", s3_location]
    assert main(["backup", "init", *common]) == 0
    assert s3_location.removeprefix("s3:") in capsys.readouterr().out
    assert main(["backup", "run", *common, str(dataset / "small")]) == 0
    assert main(["backup", "run", *common, str(dataset / "small")]) == 0
    assert "unmodified" in capsys.readouterr().out
    assert main(["backup", "snapshots", *common]) == 0
    assert "2 snapshots" in capsys.readouterr().out
    target = tmp_path / "out"
    assert main(["backup", "restore", *common, "latest", "-t", str(target), "--verify"]) == 0
    assert_same_tree(dataset / "small", target / dataset.relative_to("/") / "small")
    assert main(["backup", "verify", *common, "--read-data"]) == 0
    assert main(["backup", "forget", *common, "--keep-last", "1", "--prune"]) == 0
    assert main(["backup", "unlock", *common]) == 0
    assert main(["backup", "init", *common]) == 1
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "")
    assert main(["backup", "snapshots", *common]) == 1
    assert "AWS_ACCESS_KEY_ID" in capsys.readouterr().err


def _restic_s3(location: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = restic_binary()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, "-r", location, "--no-cache", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "RESTIC_PASSWORD": PASSWORD},
        )

    return run


def test_restic_checks_and_restores_what_we_write_to_s3(
    tmp_path: Path, dataset: Path, s3_repo: Repository
) -> None:
    snapshot, _ = backup(s3_repo, [str(dataset)])
    restic = _restic_s3(s3_repo.backend.location)
    check = restic("check", "--read-data")
    if check.returncode != 0 and "unable to open config file" in check.stderr + check.stdout:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: restic cannot talk to moto: {check.stderr.strip()[:300]}")
        pytest.skip(f"restic cannot talk to moto: {check.stderr.strip()[:300]}")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no errors were found" in check.stdout
    target = tmp_path / "restic-restore"
    restored = restic("restore", snapshot.id.hex(), "--target", str(target))
    assert restored.returncode == 0, restored.stderr
    assert_same_tree(dataset, target / dataset.relative_to("/"))

    # And the other way: restic writes a snapshot into our S3 repository, we restore it.
    written = restic("backup", str(dataset / "logs"))
    assert written.returncode == 0, written.stderr
    reopened = Repository.open(open_backend(s3_repo.backend.location), PASSWORD)
    theirs = reopened.find_snapshot("latest")
    assert theirs.paths == [str(dataset / "logs")]
    out = tmp_path / "ours"
    assert restore(reopened, theirs, str(out), verify=True).errors == []
    assert_same_tree(dataset / "logs", out / dataset.relative_to("/") / "logs")
