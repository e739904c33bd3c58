"""Keep glibc from returning every freed chunk buffer to the kernel.

Chunks and packs are buffers of 0.5 to 16 MiB. By default glibc serves such sizes with
``mmap`` and gives them back with ``munmap`` (or trims the heap), so each new buffer costs
a round of page faults: on a virtual machine we measured a 1 MiB copy at 300 MB/s instead of
5 GB/s, and encryption three times slower. Raising the mmap and trim thresholds lets freed
buffers be reused. The memory kept is bounded by the thresholds (per arena), well within
the engine's budget. Process-wide and idempotent; a no-op without glibc.
"""

from __future__ import annotations

import ctypes
import os
import threading

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's maximum on 64-bit systems
_TRIM_THRESHOLD = 64 * 1024 * 1024

_done = False
_lock = threading.Lock()


def tune_allocator() -> bool:
    """Apply the thresholds once; False when not possible (not glibc) or disabled."""
    global _done
    with _lock:
        if _done:
            return True
        if os.environ.get("INFOGERANCE_BACKUP_MALLOC_TUNING", "1") == "0":
            return False
        try:
            # The running process's own symbols: no library search (find_library would
            # run ldconfig).
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            return False
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))
        ok = bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)) and ok
        _done = ok
        return ok
