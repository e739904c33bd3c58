"""Pack files: blobs encrypted one by one, then the encrypted header and its length.

Layout: ``EncryptedBlob1 || … || EncryptedBlobN || EncryptedHeader || Header_Length``,
``Header_Length`` being the length of the encrypted header as a 4-byte little-endian
integer. The plaintext header has one entry per blob:

* type 0 (data) or 1 (tree): ``type || uint32 length || 32-byte plaintext SHA-256``;
* type 2 (compressed data) or 3 (compressed tree):
  ``type || uint32 length || uint32 uncompressed length || SHA-256``.

A pack ID is the SHA-256 of the whole file. Data and tree blobs go to separate packs.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from dataclasses import dataclass

from .crypto import OVERHEAD, Key
from .errors import IntegrityError

_PLAIN = struct.Struct("<BI32s")
_COMPRESSED = struct.Struct("<BII32s")
_LENGTH = struct.Struct("<I")

# A header larger than this is damage or hostility, not a pack we could have written.
MAX_HEADER_SIZE = 64 * 1024 * 1024


class BlobType(enum.IntEnum):
    DATA = 0
    TREE = 1

    @property
    def label(self) -> str:
        return "data" if self is BlobType.DATA else "tree"

    @classmethod
    def from_label(cls, label: object) -> BlobType:
        if label == "data":
            return cls.DATA
        if label == "tree":
            return cls.TREE
        raise IntegrityError(f"unknown blob type {label!r}")


@dataclass(frozen=True, slots=True)
class PackedBlob:
    """Where a blob lies in its pack. ``uncompressed_length`` is 0 for a stored blob."""

    id: bytes
    type: BlobType
    offset: int
    length: int
    uncompressed_length: int = 0

    @property
    def plaintext_length(self) -> int:
        return self.uncompressed_length or self.length - OVERHEAD


def encode_header(blobs: list[PackedBlob]) -> bytes:
    parts = []
    for b in blobs:
        if b.uncompressed_length:
            parts.append(_COMPRESSED.pack(b.type + 2, b.length, b.uncompressed_length, b.id))
        else:
            parts.append(_PLAIN.pack(b.type, b.length, b.id))
    return b"".join(parts)


def parse_header(header: bytes) -> list[PackedBlob]:
    blobs: list[PackedBlob] = []
    pos = 0
    offset = 0
    while pos < len(header):
        kind = header[pos]
        if kind in (0, 1):
            if pos + _PLAIN.size > len(header):
                raise IntegrityError("pack header truncated")
            _, length, blob_id = _PLAIN.unpack_from(header, pos)
            blobs.append(PackedBlob(blob_id, BlobType(kind), offset, length))
            pos += _PLAIN.size
        elif kind in (2, 3):
            if pos + _COMPRESSED.size > len(header):
                raise IntegrityError("pack header truncated")
            _, length, ulength, blob_id = _COMPRESSED.unpack_from(header, pos)
            blobs.append(PackedBlob(blob_id, BlobType(kind - 2), offset, length, ulength))
            pos += _COMPRESSED.size
        else:
            raise IntegrityError(f"invalid blob type {kind} in pack header")
        offset += length
    return blobs


def split_pack_trailer(tail: bytes, pack_size: int) -> int:
    """The encrypted header's length, read from the last four bytes of a pack."""
    if pack_size < 4 + OVERHEAD or len(tail) < 4:
        raise IntegrityError("pack file too short")
    (header_length,) = _LENGTH.unpack(tail[-4:])
    if header_length < OVERHEAD or header_length + 4 > pack_size:
        raise IntegrityError(f"invalid pack header length {header_length}")
    if header_length > MAX_HEADER_SIZE:
        raise IntegrityError("pack header too large")
    return header_length


def decode_pack_header(key: Key, encrypted_header: bytes, pack_size: int) -> list[PackedBlob]:
    blobs = parse_header(key.decrypt_bytes(encrypted_header))
    end = blobs[-1].offset + blobs[-1].length if blobs else 0
    if end + len(encrypted_header) + 4 != pack_size:
        raise IntegrityError("pack header does not match the pack size")
    return blobs


class PackBuilder:
    """Collects encrypted blobs of one type in memory until the pack is finished.

    The blobs are kept as they came, not copied into one buffer: the local backend writes
    them with one ``writev``, so a blob's bytes are copied once, by the kernel. The pack's
    SHA-256 (its ID) is computed as blobs come: in a backup that is the thread that adds
    them, which has time to spare, rather than the thread that writes packs, which had
    none with incompressible data.
    """

    def __init__(self, blob_type: BlobType) -> None:
        self.blob_type = blob_type
        self.parts: list[bytes | bytearray] = []
        self.size = 0
        self.blobs: list[PackedBlob] = []
        self._digest = hashlib.sha256()

    def __len__(self) -> int:
        return len(self.blobs)

    def add(self, blob_id: bytes, encrypted: bytes | bytearray, uncompressed_length: int) -> None:
        self.blobs.append(
            PackedBlob(blob_id, self.blob_type, self.size, len(encrypted), uncompressed_length)
        )
        self.parts.append(encrypted)
        self.size += len(encrypted)
        self._digest.update(encrypted)

    def finish_parts(self, key: Key) -> tuple[list[bytes | bytearray], list[PackedBlob], bytes]:
        """The pack's bytes in pieces, its blobs and its ID; the builder is emptied."""
        header = key.encrypt_bytes(encode_header(self.blobs))
        trailer = _LENGTH.pack(len(header))
        digest = self._digest
        digest.update(header)
        digest.update(trailer)
        parts = self.parts
        parts.append(header)
        parts.append(trailer)
        blobs = self.blobs
        self.parts = []
        self.size = 0
        self.blobs = []
        self._digest = hashlib.sha256()
        return parts, blobs, digest.digest()

    def finish(self, key: Key) -> tuple[bytes, list[PackedBlob]]:
        """The pack's bytes (its ID is their SHA-256) and its blobs; the builder is emptied."""
        parts, blobs, _ = self.finish_parts(key)
        return b"".join(parts), blobs
