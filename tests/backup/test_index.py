"""The compact in-memory index: lookups across loaded files, recent additions and merges."""

from __future__ import annotations

import hashlib

import pytest

from infogerance.backup import index as index_module
from infogerance.backup.errors import IntegrityError
from infogerance.backup.index import Index, encode_index
from infogerance.backup.pack import BlobType, PackedBlob


def _id(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def test_lookups_across_documents_and_recent_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_MERGE_THRESHOLD", 100)
    index = Index()
    packs = [
        (
            _id(10_000 + p),
            [PackedBlob(_id(p * 50 + i), BlobType.DATA, i * 10, 10, i) for i in range(50)],
        )
        for p in range(20)
    ]
    index.add_index_document(encode_index(packs[:10], []))
    index.add_index_document(encode_index(packs[10:15], []))
    for pack_id, blobs in packs[15:]:
        index.add_pack(pack_id, blobs)  # crosses the merge threshold
    index.add_pack(_id(99_999), [PackedBlob(_id(1), BlobType.TREE, 0, 40)])
    assert len(index) == 1001
    for pack_id, blobs in packs:
        for blob in blobs:
            assert index.lookup(BlobType.DATA, blob.id) == (pack_id, blob)
    assert index.has(BlobType.TREE, _id(1))
    assert index.lookup(BlobType.TREE, _id(2)) is None  # a data blob is not a tree blob
    assert not index.has(BlobType.DATA, _id(123_456))
    assert len(index.pack_ids()) == 21
    assert sum(1 for _ in index.entries()) == 1001


def test_ids_sharing_a_prefix() -> None:
    index = Index()
    a = b"\x01" * 8 + b"\x00" * 24
    b = b"\x01" * 8 + b"\xff" * 24
    index.add_index_document(
        encode_index(
            [(_id(1), [PackedBlob(a, BlobType.DATA, 0, 40), PackedBlob(b, BlobType.DATA, 40, 50)])],
            [],
        )
    )
    assert index.lookup(BlobType.DATA, b) == (_id(1), PackedBlob(b, BlobType.DATA, 40, 50))
    assert index.lookup(BlobType.DATA, a) == (_id(1), PackedBlob(a, BlobType.DATA, 0, 40))
    assert index.lookup(BlobType.DATA, b"\x01" * 8 + b"\x55" * 24) is None


def test_missing_answers_for_many_ids_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_MERGE_THRESHOLD", 100)
    index = Index()
    assert index.missing(BlobType.DATA, [_id(1)]) == {_id(1)}  # empty index
    shared_a = b"\x02" * 8 + b"\x00" * 24
    shared_b = b"\x02" * 8 + b"\xff" * 24
    loaded = [_id(n) for n in range(300)] + [shared_a, shared_b]
    index.add_index_document(
        encode_index(
            [(_id(10_000), [PackedBlob(b, BlobType.DATA, 0, 10) for b in loaded])],
            [],
        )
    )
    index.add_pack(_id(10_001), [PackedBlob(_id(500), BlobType.DATA, 0, 10)])  # recent
    index.add_pack(_id(10_002), [PackedBlob(_id(600), BlobType.TREE, 0, 10)])
    present = [*loaded, _id(500)]
    assert index.missing(BlobType.DATA, present) == set()
    assert index.missing(BlobType.DATA, []) == set()
    absent = [_id(700), b"\x02" * 8 + b"\x55" * 24, _id(600), b"short"]
    assert index.missing(BlobType.DATA, present[::-1] + absent) == set(absent)
    assert index.missing(BlobType.TREE, [_id(600), _id(1)]) == {_id(1)}
    for blob_id in present + absent:  # the same answers as one lookup at a time
        assert (blob_id in index.missing(BlobType.DATA, [blob_id])) != index.has(
            BlobType.DATA, blob_id
        )


@pytest.mark.parametrize(
    "blob",
    [
        {"id": "g" * 64, "type": "data", "offset": 0, "length": 1},
        {"id": "a" * 63, "type": "data", "offset": 0, "length": 1},
        {"id": 7, "type": "data", "offset": 0, "length": 1},
        {"id": "a" * 64, "type": "blob", "offset": 0, "length": 1},
        {"id": "a" * 64, "type": ["data"], "offset": 0, "length": 1},
        {"id": "a" * 64, "type": "data", "offset": -1, "length": 1},
        {"id": "a" * 64, "type": "data", "offset": 2**32, "length": 1},
        {"id": "a" * 64, "type": "data", "offset": 1e30, "length": 1},
        {"id": "a" * 64, "type": "data", "offset": None, "length": 1},
        {"id": "a" * 64, "type": "data", "length": 1},
        "not an object",
    ],
)
def test_malformed_index_entries_are_refused(blob: object) -> None:
    good = {"id": "b" * 64, "type": "tree", "offset": 0, "length": 1}
    doc = {"packs": [{"id": "c" * 64, "blobs": [good, blob]}]}
    with pytest.raises(IntegrityError):
        Index().add_index_document(doc)


def test_index_entries_as_restic_may_write_them() -> None:
    """Upper-case hex, numbers as floats or strings: read as before (``int()``)."""
    index = Index()
    doc = {
        "packs": [
            {
                "id": "c" * 64,
                "blobs": [
                    {"id": "A" * 64, "type": "tree", "offset": "12", "length": 40.0},
                    {
                        "id": "b" * 64,
                        "type": "data",
                        "offset": 52,
                        "length": 50,
                        "uncompressed_length": 90,
                    },
                ],
            },
            {"id": "d" * 64, "blobs": None},
        ]
    }
    index.add_index_document(doc)
    assert index.lookup(BlobType.TREE, b"\xaa" * 32) == (
        b"\xcc" * 32,
        PackedBlob(b"\xaa" * 32, BlobType.TREE, 12, 40),
    )
    assert index.lookup(BlobType.DATA, b"\xbb" * 32) == (
        b"\xcc" * 32,
        PackedBlob(b"\xbb" * 32, BlobType.DATA, 52, 50, 90),
    )
    assert len(index) == 2
