"""The cyclic garbage collector, paused while millions of objects are built.

Reading an events file and measuring a month build millions of small objects (per-ticket
state, tickets, items, their JSON rows) that hold no reference cycles: reference counting
frees them. The cyclic collector would scan them again and again while they pile up and free
nothing, so it is paused meanwhile. On resuming, the objects born during the pause are moved
to the oldest generation at once (``gc.freeze()`` then ``gc.unfreeze()``) instead of being
scanned by the next young collection: they stay collectable, by the next full collection.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (if it runs) for the ``with`` block."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()
