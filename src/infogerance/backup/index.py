"""The repository index: where each blob lives (pack, offset, length).

Index files are JSON documents (``{"packs": [{"id", "blobs": [{"id", "type", "offset",
"length", "uncompressed_length"?}]}], "supersedes"?: [...]}``) in the unpacked format.

In memory, loaded entries are kept in sorted NumPy structured arrays (64 bytes per blob
instead of several hundred for Python objects), searched by binary search on the first
eight bytes of the ID; entries added during a run sit in a small dict that is merged
into the arrays from time to time. A multi-terabyte repository of 1 MiB chunks therefore
needs tens of MiB, not gigabytes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .errors import IntegrityError
from .formats import parse_id
from .pack import BlobType, PackedBlob

_ENTRY = np.dtype(
    [
        ("prefix", "<u8"),
        ("id", "V32"),
        ("pack", "<u4"),
        ("offset", "<u4"),
        ("length", "<u4"),
        ("ulength", "<u4"),
    ]
)
_MERGE_THRESHOLD = 65536

_Location = tuple[int, int, int, int]  # pack number, offset, length, uncompressed length


class Index:
    """Blob ID → location, for data and tree blobs. Safe to query from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pack_ids: list[bytes] = []
        self._pack_numbers: dict[bytes, int] = {}
        self._arrays: dict[BlobType, np.ndarray[Any, Any]] = {
            t: np.empty(0, dtype=_ENTRY) for t in BlobType
        }
        self._recent: dict[BlobType, dict[bytes, _Location]] = {t: {} for t in BlobType}
        self._loaded: dict[BlobType, list[np.ndarray[Any, Any]]] = {t: [] for t in BlobType}
        # A contiguous copy of the sorted prefixes: searching a strided field view would
        # make numpy copy the whole column on every lookup.
        self._prefixes: dict[BlobType, np.ndarray[Any, Any]] = {
            t: np.empty(0, dtype="<u8") for t in BlobType
        }

    # -- building -------------------------------------------------------------------
    def _pack_number(self, pack_id: bytes) -> int:
        number = self._pack_numbers.get(pack_id)
        if number is None:
            number = len(self._pack_ids)
            self._pack_ids.append(pack_id)
            self._pack_numbers[pack_id] = number
        return number

    def add_pack(self, pack_id: bytes, blobs: Iterable[PackedBlob]) -> None:
        with self._lock:
            number = self._pack_number(pack_id)
            for b in blobs:
                self._recent[b.type][b.id] = (number, b.offset, b.length, b.uncompressed_length)
            if sum(len(r) for r in self._recent.values()) >= _MERGE_THRESHOLD:
                self._merge()

    def add_index_document(self, doc: Any) -> None:
        """Load one index file's JSON document."""
        if not isinstance(doc, dict) or not isinstance(doc.get("packs"), list):
            raise IntegrityError("index file without a list of packs")
        rows: dict[BlobType, list[tuple[bytes, int, int, int, int]]] = {t: [] for t in BlobType}
        with self._lock:
            for pack in doc["packs"]:
                try:
                    number = self._pack_number(parse_id(pack["id"]))
                    for blob in pack.get("blobs") or []:
                        rows[BlobType.from_label(blob["type"])].append(
                            (
                                parse_id(blob["id"]),
                                number,
                                int(blob["offset"]),
                                int(blob["length"]),
                                int(blob.get("uncompressed_length") or 0),
                            )
                        )
                except (KeyError, TypeError, ValueError) as exc:
                    raise IntegrityError(f"malformed index entry: {exc}") from exc
            for blob_type, entries in rows.items():
                if entries:
                    self._loaded[blob_type].append(_to_array(entries))

    def _merge(self) -> None:
        for blob_type, recent in self._recent.items():
            if recent:
                self._loaded[blob_type].append(_to_array([(k, *v) for k, v in recent.items()]))
                self._recent[blob_type] = {}
        self._merge_loaded()

    def _merge_loaded(self) -> None:
        for blob_type, loaded in self._loaded.items():
            if loaded:
                merged = _merge_arrays([self._arrays[blob_type], *loaded])
                self._arrays[blob_type] = merged
                self._prefixes[blob_type] = np.ascontiguousarray(merged["prefix"])
                self._loaded[blob_type] = []

    # -- queries --------------------------------------------------------------------
    def lookup(self, blob_type: BlobType, blob_id: bytes) -> tuple[bytes, PackedBlob] | None:
        """The pack ID and location of a blob, or None."""
        with self._lock:
            self._merge_loaded()
            loc = self._recent[blob_type].get(blob_id)
            if loc is None:
                loc = _search(self._arrays[blob_type], self._prefixes[blob_type], blob_id)
            if loc is None:
                return None
            number, offset, length, ulength = loc
            return self._pack_ids[number], PackedBlob(blob_id, blob_type, offset, length, ulength)

    def has(self, blob_type: BlobType, blob_id: bytes) -> bool:
        with self._lock:
            self._merge_loaded()
            if blob_id in self._recent[blob_type]:
                return True
            return _search(self._arrays[blob_type], self._prefixes[blob_type], blob_id) is not None

    def __len__(self) -> int:
        with self._lock:
            self._merge_loaded()
            return sum(len(a) for a in self._arrays.values()) + sum(
                len(r) for r in self._recent.values()
            )

    def pack_ids(self) -> set[bytes]:
        with self._lock:
            self._merge()
            used = set()
            for array in self._arrays.values():
                used.update(np.unique(array["pack"]).tolist())
            return {self._pack_ids[n] for n in used}

    def entries(self) -> Iterator[tuple[bytes, PackedBlob]]:
        """Every (pack ID, blob location); a blob stored twice appears twice."""
        with self._lock:
            self._merge()
            arrays = dict(self._arrays)
            pack_ids = list(self._pack_ids)
        for blob_type, array in arrays.items():
            for row in array:
                yield (
                    pack_ids[int(row["pack"])],
                    PackedBlob(
                        row["id"].tobytes(),
                        blob_type,
                        int(row["offset"]),
                        int(row["length"]),
                        int(row["ulength"]),
                    ),
                )


def _to_array(entries: list[tuple[bytes, int, int, int, int]]) -> np.ndarray[Any, Any]:
    array = np.empty(len(entries), dtype=_ENTRY)
    ids = b"".join(e[0] for e in entries)
    array["id"] = np.frombuffer(ids, dtype="V32")
    array["prefix"] = np.frombuffer(ids, dtype=">u8").reshape(-1, 4)[:, 0]
    array["pack"] = [e[1] for e in entries]
    array["offset"] = [e[2] for e in entries]
    array["length"] = [e[3] for e in entries]
    array["ulength"] = [e[4] for e in entries]
    return array


def _merge_arrays(arrays: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    merged = np.concatenate(arrays)
    order = np.argsort(merged["prefix"], kind="stable")
    return merged[order]


def _search(
    array: np.ndarray[Any, Any], prefixes: np.ndarray[Any, Any], blob_id: bytes
) -> _Location | None:
    if not len(array):
        return None
    prefix = int.from_bytes(blob_id[:8], "big")
    i = int(prefixes.searchsorted(np.uint64(prefix), side="left"))
    while i < len(array) and int(prefixes[i]) == prefix:
        row = array[i]
        if row["id"].tobytes() == blob_id:
            return int(row["pack"]), int(row["offset"]), int(row["length"]), int(row["ulength"])
        i += 1
    return None


def encode_index(
    packs: list[tuple[bytes, list[PackedBlob]]], supersedes: list[bytes]
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if supersedes:
        doc["supersedes"] = [s.hex() for s in supersedes]
    doc["packs"] = [
        {
            "id": pack_id.hex(),
            "blobs": [
                {
                    "id": b.id.hex(),
                    "type": b.type.label,
                    "offset": b.offset,
                    "length": b.length,
                    **(
                        {"uncompressed_length": b.uncompressed_length}
                        if b.uncompressed_length
                        else {}
                    ),
                }
                for b in blobs
            ],
        }
        for pack_id, blobs in packs
    ]
    return doc
