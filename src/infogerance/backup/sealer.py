"""Sealing blobs (compress when it helps, then encrypt), here or in worker processes.

`seal` is the one definition, used by `Repository.seal_blob` in the backup's threads and by
`SealerPool`'s processes. The processes exist for small files: sealing one takes tens of
microseconds of Python between calls that release the GIL, and with threads the walk and
the sealers spent much of their time handing the GIL to each other (20,000 files of 5 KB
took as long with two threads as with one). A process has its own GIL. Large files'
chunks stay with threads, which share their buffers: handing a process a chunk would cost
more copies than sealing it.

A worker is ``python -c`` importing this module with its parent's ``sys.path``, not a
`multiprocessing` child: those import the parent's ``__main__`` again, which runs a
script without a ``__main__`` guard a second time. It reads the master key once, then
batches of (blob ID, plaintext), already hashed and deduplicated by the parent, and answers
each with the sealed blobs, in order, over its standard input and output (frames of an
8-byte length and a pickle: both ends are this module). It is a direct child of the
process that runs the backup (so its CPU time counts as that process's children's), and
ends with it: at the end of its input, or killed by the kernel if its parent dies
(``PR_SET_PDEATHSIG``, with a check of the parent's PID where that is missing).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from typing import IO, Any

import zstandard

from .crypto import Key
from .errors import WorkerFailed

ZSTD_LEVEL = 3

SealedBlob = tuple[bytes, bytearray, int]  # blob ID, encrypted blob, uncompressed length

_FRAME = struct.Struct("<Q")
_PR_SET_PDEATHSIG = 1
_PIPE_SIZE = 1024 * 1024  # Linux's default maximum for unprivileged processes
_BOOTSTRAP = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from infogerance.backup.sealer import worker_main; worker_main()"
)


def seal(
    key: Key, compressor: zstandard.ZstdCompressor | None, plaintext: bytes | bytearray | memoryview
) -> tuple[bytearray, int]:
    """The encrypted blob and its uncompressed length (0 when stored as is).

    With a compressor (repository format 2) the blob is compressed, and stored compressed
    only when that is shorter.
    """
    if compressor is not None:
        compressed = compressor.compress(plaintext)
        if len(compressed) < len(plaintext):
            return key.encrypt_bytes(compressed), len(plaintext)
    return key.encrypt_bytes(plaintext), 0


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# -- framing ------------------------------------------------------------------------------
def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_FRAME.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None at the end of the stream (a cut frame counts as the end)."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (length,) = _FRAME.unpack(head)
    payload = stream.read(length)
    return payload if len(payload) == length else None


# -- the worker ---------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:  # where prctl is missing: notice within a second
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def worker_main() -> None:
    """A sealing process: see the module's documentation."""
    # ^C reaches the whole process group: the parent decides, and closes our input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not break the frames
    first = _read_frame(requests)
    if first is None:
        return
    parent, encrypt, mac_k, mac_r, compress = pickle.loads(first)  # noqa: S301 - our parent
    _die_with_parent(parent)
    key = Key(encrypt, mac_k, mac_r)
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL) if compress else None
    while (frame := _read_frame(requests)) is not None:
        blobs: Sequence[tuple[bytes, bytes]] = pickle.loads(frame)  # noqa: S301
        try:
            answer: tuple[str, Any] = (
                "ok",
                [(blob_id, *seal(key, compressor, data)) for blob_id, data in blobs],
            )
        except Exception as exc:  # reported to the parent, which stops the backup
            answer = ("error", f"{type(exc).__name__}: {exc}")
        _write_frame(answers, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


# -- the pool -----------------------------------------------------------------------------
class _Worker:
    def __init__(self, init: bytes) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed code
            [sys.executable, "-c", _BOOTSTRAP, json.dumps(sys.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        with contextlib.suppress(OSError, AttributeError, ImportError):  # room for a batch
            import fcntl

            fcntl.fcntl(self.process.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self.requests: IO[bytes] = self.process.stdin
        self.answers: IO[bytes] = self.process.stdout
        self.waiting: deque[Future[list[SealedBlob]]] = deque()
        self.lock = threading.Lock()
        self.failure: str | None = None
        _write_frame(self.requests, init)
        self.reader = threading.Thread(target=self._read, daemon=True, name="sealer-answers")
        self.reader.start()

    def _read(self) -> None:
        error = "it ended"
        while (frame := _read_frame(self.answers)) is not None:
            status, value = pickle.loads(frame)  # noqa: S301 - our child
            with self.lock:
                future = self.waiting.popleft()
            with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
                if status == "ok":
                    future.set_result(value)
                else:
                    future.set_exception(WorkerFailed(f"a sealing process failed: {value}"))
            if status != "ok":
                error = f"it failed: {value}"
                break
        with contextlib.suppress(Exception):
            code = self.process.wait(timeout=5)
            error += f" (exit status {code})" if code >= 0 else f" (killed by signal {-code})"
        self.fail(f"a sealing process stopped before finishing its work: {error}")

    def fail(self, message: str) -> None:
        with self.lock:
            self.failure = self.failure or message
            waiting = list(self.waiting)
            self.waiting.clear()
        for future in waiting:
            with contextlib.suppress(InvalidStateError):
                future.set_exception(WorkerFailed(message))

    def submit(self, payload: bytes) -> Future[list[SealedBlob]]:
        future: Future[list[SealedBlob]] = Future()
        with self.lock:
            if self.failure:
                raise WorkerFailed(self.failure)
            self.waiting.append(future)
        try:
            _write_frame(self.requests, payload)
        except OSError as exc:  # the worker is gone: its reader fails what waits
            self.fail(f"a sealing process stopped accepting work: {exc}")
        return future

    def close(self, *, kill: bool) -> None:
        with contextlib.suppress(OSError):
            self.requests.close()
        if kill:
            with contextlib.suppress(OSError):
                self.process.kill()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        with contextlib.suppress(OSError):
            self.answers.close()


class SealerPool:
    """Processes that seal batches of blobs with one repository's key, in the order given
    to each; a batch goes to the process with the fewest batches waiting."""

    def __init__(self, key: Key, *, compress: bool, processes: int) -> None:
        init = pickle.dumps((os.getpid(), key.encrypt, key.mac_k, key.mac_r, compress))
        self._workers: list[_Worker] = []
        try:
            for _ in range(max(1, processes)):
                self._workers.append(_Worker(init))
        except BaseException:
            self.shutdown(cancel=True)
            raise

    def submit(self, blobs: list[tuple[bytes, bytes]]) -> Future[list[SealedBlob]]:
        payload = pickle.dumps(blobs, protocol=pickle.HIGHEST_PROTOCOL)
        worker = min(self._workers, key=lambda w: len(w.waiting))
        return worker.submit(payload)

    def shutdown(self, *, cancel: bool = False) -> None:
        """Stop the workers (after the batches given, unless `cancel`) and reap them."""
        for worker in self._workers:
            worker.close(kill=cancel)
        self._workers = []
