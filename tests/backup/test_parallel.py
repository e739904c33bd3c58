"""The backup's parallel machinery: chunking in blocks, sealing processes, deferred trees."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyfastcdc
import pytest
import zstandard

from infogerance.backup import archiver as archiver_module
from infogerance.backup.archiver import Archiver, backup, final_cuts
from infogerance.backup.backend import FileKind, LocalBackend
from infogerance.backup.errors import WorkerFailed
from infogerance.backup.locks import remove_stale_locks
from infogerance.backup.pack import BlobType
from infogerance.backup.repository import Repository
from infogerance.backup.restorer import restore
from infogerance.backup.sealer import SealerPool

from .conftest import FAST_SCRYPT, PASSWORD, assert_same_tree


def _chunk_in_blocks(chunker: pyfastcdc.FastCDC, data: bytes, block: int) -> list[int]:
    """Chunk lengths as the archiver finds them: blocks re-read from the first open chunk."""
    lengths: list[int] = []
    offset = 0
    while True:
        piece = data[offset : offset + block]
        eof = offset + block >= len(data)
        found = final_cuts(chunker, memoryview(piece), eof)
        assert found or eof, "a block of at least max_size bytes always ends a chunk"
        lengths += found
        offset += sum(found)
        if eof:
            return lengths


@pytest.mark.parametrize("seed", range(12))
def test_block_chunking_matches_chunking_the_whole_stream(seed: int) -> None:
    rng = random.Random(seed)
    min_size, avg_size, max_size = rng.choice([(64, 256, 1024), (256, 1024, 4096)])
    chunker = pyfastcdc.FastCDC(avg_size, min_size=min_size, max_size=max_size)
    size = rng.randint(0, 40 * max_size)
    shape = seed % 3
    if shape == 0:
        data = rng.randbytes(size)
    elif shape == 1:  # no cut point anywhere: every chunk is cut at max_size
        data = (b"abc" * (size // 3 + 1))[:size]
    else:  # few distinct bytes: long stretches without a cut
        data = bytes(rng.choice(b"ab\n ") for _ in range(size))
    expected = [c.length for c in chunker.cut_stream(io.BytesIO(data))]
    for block in (max_size, max_size + 1, 3 * max_size + 17):
        assert _chunk_in_blocks(chunker, data, block) == expected


def _data_blobs(repo: Repository) -> set[bytes]:
    reopened = Repository.open(repo.backend, PASSWORD)
    return {blob.id for _pack, blob in reopened.index.entries() if blob.type is BlobType.DATA}


def test_processes_and_threads_store_the_same_snapshot(tmp_path: Path, dataset: Path) -> None:
    def fresh(name: str) -> Repository:
        return Repository.init(LocalBackend(tmp_path / name), PASSWORD, scrypt_params=FAST_SCRYPT)

    # A first read may update access times, which the trees record: read everything once.
    backup(fresh("warm-up"), [str(dataset)], processes=0)
    threads_repo, processes_repo = fresh("threads"), fresh("processes")
    by_threads, _ = backup(threads_repo, [str(dataset)], processes=0)
    archiver = Archiver(processes_repo, processes=2)
    by_processes = archiver.run([str(dataset)])
    assert archiver.stats.errors == []
    assert by_processes.tree == by_threads.tree  # the same trees, byte for byte
    assert _data_blobs(processes_repo) == _data_blobs(threads_repo)
    target = tmp_path / "out"
    restore(processes_repo, by_processes, str(target), verify=True)
    assert_same_tree(dataset, target / dataset.relative_to("/"))


def test_sealing_processes_seal_as_the_repository_does(repo: Repository) -> None:
    pool = SealerPool(repo.key, compress=True, processes=2)
    try:
        blobs = [(bytes([i]) * 32, (b"log line %d\n" % i) * (i * 50)) for i in range(40)]
        blobs.append((b"\xff" * 32, os.urandom(5000)))  # incompressible: stored as it is
        futures = [pool.submit(blobs[i : i + 7]) for i in range(0, len(blobs), 7)]
        sealed = [item for future in futures for item in future.result(timeout=60)]
    finally:
        pool.shutdown()
    assert [blob_id for blob_id, _, _ in sealed] == [blob_id for blob_id, _ in blobs]
    for (_, plaintext), (_, encrypted, ulen) in zip(blobs, sealed, strict=True):
        opened = repo.key.decrypt_bytes(bytes(encrypted))
        if ulen:
            assert ulen == len(plaintext)
            opened = zstandard.ZstdDecompressor().decompress(opened, max_output_size=ulen)
        assert opened == plaintext
    assert sealed[-1][2] == 0  # random bytes do not compress: stored as they are


def test_a_killed_sealing_process_stops_the_backup_clearly(
    tmp_path: Path,
    dataset: Path,
    repo: Repository,
    restic: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(archiver_module, "BATCH_CHUNKS", 4)  # start the processes early
    killed: list[int] = []

    def kill_sealers(stats: Any, path: str) -> None:
        sealers = archiver._sealers
        if sealers is not None and not killed:
            for worker in sealers._workers:
                worker.process.kill()
                killed.append(worker.process.pid)

    archiver = Archiver(repo, processes=2, progress=kill_sealers, pack_size=200_000)
    with pytest.raises(WorkerFailed, match="sealing process"):
        archiver.run([str(dataset)])
    assert killed
    assert repo.list_snapshots() == []
    assert "no errors were found" in restic(tmp_path / "repo", "check", "--read-data").stdout
    reopened = Repository.open(repo.backend, PASSWORD)
    snapshot, stats = backup(reopened, [str(dataset)])
    assert stats.errors == []
    target = tmp_path / "out"
    restore(reopened, snapshot, str(target), verify=True)
    assert_same_tree(dataset, target / dataset.relative_to("/"))


CHILD = """
import os, sys, time
from infogerance.backup import archiver as archiver_module
from infogerance.backup.archiver import Archiver
from infogerance.backup.backend import FileKind, LocalBackend
from infogerance.backup.repository import Repository
repo = Repository.open(LocalBackend(sys.argv[1]), sys.argv[2])
def stall(stats, path):
    sealers = archiver._sealers
    if sealers is not None:
        print(" ".join(str(w.process.pid) for w in sealers._workers), flush=True)
        time.sleep(60)
archiver_module.BATCH_CHUNKS = 4
archiver = Archiver(repo, processes=2, progress=stall)
archiver.run([sys.argv[3]])
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sealing_processes_die_with_a_killed_backup(
    tmp_path: Path, dataset: Path, repo: Repository, restic: Callable[..., Any]
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "repo"), PASSWORD, str(dataset)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    pids = [int(p) for p in child.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)
    remove_stale_locks(repo)
    assert "no errors were found" in restic(tmp_path / "repo", "check").stdout


def test_many_pieces_are_written_in_order(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "repo")
    backend.create()
    parts = [os.urandom(random.Random(i).randint(0, 300)) for i in range(3000)]
    name = "ab" * 32
    backend.write_parts(FileKind.DATA, name, parts)  # more pieces than one writev takes
    assert backend.read(FileKind.DATA, name) == b"".join(parts)


def test_threads_seal_small_files_when_no_process_can_start(
    tmp_path: Path, dataset: Path, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(*args: Any, **kwargs: Any) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(archiver_module, "SealerPool", no_process)
    archiver = Archiver(repo, processes=2)
    snapshot = archiver.run([str(dataset)])
    assert archiver.stats.errors == []
    assert archiver.processes == 0
    target = tmp_path / "out"
    restore(repo, snapshot, str(target), verify=True)
    assert_same_tree(dataset, target / dataset.relative_to("/"))
