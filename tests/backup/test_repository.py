"""Creating and opening repositories: keys, passwords, versions, the file encodings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from infogerance.backup.backend import FileKind, LocalBackend
from infogerance.backup.crypto import Key
from infogerance.backup.errors import (
    IntegrityError,
    RepositoryExists,
    RepositoryNotFound,
    UnsupportedRepositoryVersion,
    WrongPassword,
)
from infogerance.backup.pack import BlobType, PackBuilder, decode_pack_header, split_pack_trailer
from infogerance.backup.repository import Repository, random_chunker_polynomial

from .conftest import FAST_SCRYPT, PASSWORD


def test_open_with_the_password(tmp_path: Path, repo: Repository) -> None:
    again = Repository.open(LocalBackend(tmp_path / "repo"), PASSWORD)
    assert again.id == repo.id
    assert again.key == repo.key
    assert again.version == 2


def test_wrong_password_is_a_clear_error(tmp_path: Path, repo: Repository) -> None:
    with pytest.raises(WrongPassword, match="wrong password"):
        Repository.open(LocalBackend(tmp_path / "repo"), "not-the-password")


def test_missing_repository(tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFound):
        Repository.open(LocalBackend(tmp_path / "nothing"), PASSWORD)


def test_init_refuses_an_existing_repository(tmp_path: Path, repo: Repository) -> None:
    with pytest.raises(RepositoryExists):
        Repository.init(LocalBackend(tmp_path / "repo"), PASSWORD, scrypt_params=FAST_SCRYPT)


def test_unknown_version_is_refused(tmp_path: Path, repo: Repository) -> None:
    config = dict(repo.config, version=3)
    repo.backend.write(FileKind.CONFIG, "config", repo.key.encrypt_bytes(orjson.dumps(config)))
    with pytest.raises(UnsupportedRepositoryVersion, match="version 3 is not supported"):
        Repository.open(LocalBackend(tmp_path / "repo"), PASSWORD)


def test_key_file_layout(tmp_path: Path, repo: Repository) -> None:
    [(name, _size)] = list(repo.backend.list(FileKind.KEYS))
    raw = (tmp_path / "repo" / "keys" / name).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == name
    doc = orjson.loads(raw)
    assert doc["kdf"] == "scrypt"
    assert (doc["N"], doc["r"], doc["p"]) == (1024, 8, 1)
    assert set(doc) >= {"created", "username", "hostname", "salt", "data"}
    # The config is encrypted plain JSON (never compressed) with the three fields.
    plain = repo.key.decrypt_bytes((tmp_path / "repo" / "config").read_bytes())
    config = orjson.loads(plain)
    assert set(config) == {"version", "id", "chunker_polynomial"}
    assert (tmp_path / "repo" / "data" / "00").is_dir()
    assert (tmp_path / "repo" / "data" / "ff").is_dir()


def test_unpacked_files_are_compressed_json(repo: Repository) -> None:
    file_id = repo.save_unpacked(FileKind.SNAPSHOTS, {"hello": "world" * 100})
    data = repo.backend.read(FileKind.SNAPSHOTS, file_id.hex())
    assert hashlib.sha256(data).digest() == file_id
    assert repo.key.decrypt_bytes(data)[0] == 2
    assert repo.load_unpacked(FileKind.SNAPSHOTS, file_id.hex()) == {"hello": "world" * 100}


def test_encryption_detects_tampering() -> None:
    key = Key.random()
    sealed = bytearray(key.encrypt_bytes(b"some plaintext"))
    assert key.decrypt_bytes(bytes(sealed)) == b"some plaintext"
    assert len(sealed) == len(b"some plaintext") + 32
    sealed[20] ^= 1
    with pytest.raises(IntegrityError):
        key.decrypt_bytes(bytes(sealed))
    with pytest.raises(IntegrityError):
        Key.random().decrypt_bytes(key.encrypt_bytes(b"x"))


def test_pack_round_trip() -> None:
    key = Key.random()
    builder = PackBuilder(BlobType.DATA)
    builder.add(b"\x01" * 32, key.encrypt_bytes(b"abc"), 0)
    builder.add(b"\x02" * 32, key.encrypt_bytes(b"zstd-frame"), 1000)
    data, blobs = builder.finish(key)
    length = split_pack_trailer(bytes(data[-4:]), len(data))
    header = decode_pack_header(key, bytes(data[-4 - length : -4]), len(data))
    assert header == blobs
    assert [b.uncompressed_length for b in header] == [0, 1000]
    assert header[1].offset == 3 + 32


def test_chunker_polynomial_is_irreducible_degree_53() -> None:
    poly = random_chunker_polynomial()
    assert poly.bit_length() == 54
    # No factor of degree 1..26 divides it: check by brute force on small degrees.
    from infogerance.backup.repository import _poly_mod

    for divisor in range(2, 1 << 9):
        assert _poly_mod(poly, divisor) != 0 or divisor == poly
