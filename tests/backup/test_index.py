"""The compact in-memory index: lookups across loaded files, recent additions and merges."""

from __future__ import annotations

import hashlib

import pytest

from infogerance.backup import index as index_module
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
