"""Opening and creating repositories; reading and writing their encrypted files and blobs.

`Repository` ties a `Backend` to the master key: it creates a repository (``config`` and a
first key file), opens one with a password, saves and loads the "unpacked" files (index,
snapshots, locks: ``IV || ciphertext || MAC`` whose plaintext is JSON, or byte ``2`` and a
zstd frame of JSON in format version 2), loads the index and reads blobs from packs.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson
import zstandard

from .backend import Backend, FileKind
from .crypto import OVERHEAD, Key, b64decode, b64encode, derive_key
from .errors import (
    BackupError,
    FileNotFound,
    IntegrityError,
    InvalidInput,
    RepositoryNotFound,
    UnsupportedRepositoryVersion,
    WrongPassword,
)
from .formats import Node, Snapshot, decode_tree, format_time
from .pack import BlobType, PackedBlob
from .sealer import ZSTD_LEVEL, seal

if TYPE_CHECKING:  # imported when the index is loaded: NumPy takes 0.1 s to import
    from .index import Index

SUPPORTED_VERSIONS = (1, 2)
DEFAULT_SCRYPT = {"N": 32768, "r": 8, "p": 1}
_TREE_CACHE_SIZE = 256

_local = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        _local.compressor = compressor
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = zstandard.ZstdDecompressor()
        _local.decompressor = decompressor
    return decompressor


def random_chunker_polynomial() -> int:
    """A random irreducible polynomial of degree 53 over GF(2), as the config records.

    The format requires the field; our FastCDC chunker does not use it, but restic (which
    may back up into our repositories) does and checks that it is irreducible. Rabin's test:
    with 53 prime, f is irreducible iff x^(2^53) = x (mod f) and gcd(x^2 - x, f) = 1.
    """
    while True:
        f = int.from_bytes(os.urandom(8), "big") & ((1 << 53) - 1) | (1 << 53) | 1
        if _poly_gcd(f, 0b110) != 1:  # x^2 + x
            continue
        power = 0b10  # x
        for _ in range(53):
            power = _poly_mulmod(power, power, f)
        if power == 0b10:
            return f


def _poly_mod(a: int, f: int) -> int:
    degree = f.bit_length() - 1
    while a.bit_length() - 1 >= degree:
        a ^= f << (a.bit_length() - 1 - degree)
    return a


def _poly_mulmod(a: int, b: int, f: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
    return _poly_mod(result, f)


def _poly_gcd(a: int, b: int) -> int:
    while b:
        a, b = b, _poly_mod(a, b)
    return a


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class Repository:
    """An open repository: backend, master key, config and (lazily) the index."""

    def __init__(self, backend: Backend, key: Key, config: dict[str, Any], key_id: str) -> None:
        self.backend = backend
        self.key = key
        self.config = config
        self.key_id = key_id
        self.version: int = int(config["version"])
        self._index: Index | None = None
        self._index_lock = threading.Lock()
        self._tree_cache: OrderedDict[bytes, list[Node]] = OrderedDict()
        self._tree_cache_lock = threading.Lock()

    @property
    def id(self) -> str:
        return str(self.config["id"])

    @property
    def compression(self) -> bool:
        return self.version >= 2

    # -- creation and opening --------------------------------------------------------
    @classmethod
    def init(
        cls,
        backend: Backend,
        password: str | bytes,
        *,
        version: int = 2,
        scrypt_params: dict[str, int] | None = None,
    ) -> Repository:
        if version not in SUPPORTED_VERSIONS:
            raise UnsupportedRepositoryVersion(f"cannot create a repository of version {version}")
        backend.create()
        master = Key.random()
        config = {
            "version": version,
            "id": os.urandom(32).hex(),
            "chunker_polynomial": f"{random_chunker_polynomial():x}",
        }
        key_id = add_key(backend, master, password, scrypt_params=scrypt_params)
        # The config stays plain JSON (never compressed): its version must be readable first.
        backend.write(FileKind.CONFIG, "config", master.encrypt_bytes(orjson.dumps(config)))
        return cls(backend, master, config, key_id)

    @classmethod
    def open(cls, backend: Backend, password: str | bytes) -> Repository:
        if not backend.exists():
            raise RepositoryNotFound(f"no repository at {backend.location}")
        master, key_id = open_master_key(backend, password)
        try:
            plaintext = master.decrypt_bytes(backend.read(FileKind.CONFIG, "config"))
        except IntegrityError as exc:
            raise IntegrityError(f"the repository config cannot be decrypted: {exc}") from exc
        config = _decode_unpacked(plaintext)
        if not isinstance(config, dict) or "version" not in config:
            raise IntegrityError("the repository config is malformed")
        version = config.get("version")
        if version not in SUPPORTED_VERSIONS:
            raise UnsupportedRepositoryVersion(
                f"repository format version {version!r} is not supported "
                f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))})"
            )
        if not isinstance(config.get("id"), str):
            raise IntegrityError("the repository config has no id")
        return cls(backend, master, config, key_id)

    # -- unpacked files ---------------------------------------------------------------
    def save_unpacked(self, kind: FileKind, doc: Any) -> bytes:
        plaintext = orjson.dumps(doc)
        if self.compression:
            plaintext = b"\x02" + _compressor().compress(plaintext)
        data = self.key.encrypt_bytes(plaintext)
        file_id = hashlib.sha256(data).digest()
        self.backend.write(kind, file_id.hex(), data)
        return file_id

    def load_unpacked(self, kind: FileKind, name: str) -> Any:
        data = self.backend.read(kind, name)
        if hashlib.sha256(data).hexdigest() != name:
            raise IntegrityError(f"{kind.value}/{name}: content does not match its name")
        try:
            return _decode_unpacked(self.key.decrypt_bytes(data))
        except IntegrityError as exc:
            raise IntegrityError(f"{kind.value}/{name}: {exc}") from exc

    # -- index ------------------------------------------------------------------------
    @property
    def index(self) -> Index:
        with self._index_lock:
            if self._index is None:
                self._index = self._load_index()
            return self._index

    def reload_index(self) -> Index:
        with self._index_lock:
            self._index = self._load_index()
            return self._index

    def use_index(self, index: Index) -> None:
        with self._index_lock:
            self._index = index

    def _load_index(self) -> Index:
        from .index import Index

        index = Index()
        for name, _size in self.backend.list(FileKind.INDEX):
            try:
                doc = self.load_unpacked(FileKind.INDEX, name)
            except FileNotFound:
                continue  # removed by a concurrent prune after listing
            index.add_index_document(doc)
        return index

    # -- blobs ------------------------------------------------------------------------
    def seal_blob(self, plaintext: bytes | bytearray | memoryview) -> tuple[bytearray, int]:
        """Compress (when it helps, in version 2) and encrypt a blob.

        Returns the encrypted bytes and the uncompressed length (0 when stored as is).
        """
        return seal(self.key, _compressor() if self.compression else None, plaintext)

    def open_blob(self, encrypted: bytes | memoryview, blob: PackedBlob, verify: bool) -> bytes:
        """Decrypt (and decompress) a blob read from a pack; check its hash if asked."""
        if len(encrypted) != blob.length:
            raise IntegrityError(f"blob {blob.id.hex()[:16]}: truncated")
        try:
            plaintext = self.key.decrypt_bytes(encrypted)
        except IntegrityError as exc:
            raise IntegrityError(f"blob {blob.id.hex()[:16]}: {exc}") from exc
        if blob.uncompressed_length:
            try:
                plaintext = _decompressor().decompress(
                    plaintext, max_output_size=blob.uncompressed_length
                )
            except zstandard.ZstdError as exc:
                raise IntegrityError(f"blob {blob.id.hex()[:16]}: bad zstd data: {exc}") from exc
            if len(plaintext) != blob.uncompressed_length:
                raise IntegrityError(f"blob {blob.id.hex()[:16]}: wrong uncompressed length")
        if verify and hashlib.sha256(plaintext).digest() != blob.id:
            raise IntegrityError(f"blob {blob.id.hex()[:16]}: content does not match its ID")
        return plaintext

    def read_blob(self, blob_type: BlobType, blob_id: bytes, verify: bool = True) -> bytes:
        found = self.index.lookup(blob_type, blob_id)
        if found is None:
            raise FileNotFound(f"{blob_type.label} blob {blob_id.hex()} is not in the index")
        pack_id, blob = found
        data = self.backend.read(FileKind.DATA, pack_id.hex(), blob.offset, blob.length)
        return self.open_blob(data, blob, verify)

    def load_tree(self, tree_id: bytes) -> list[Node]:
        with self._tree_cache_lock:
            cached = self._tree_cache.get(tree_id)
            if cached is not None:
                self._tree_cache.move_to_end(tree_id)
                return cached
        nodes = decode_tree(self.read_blob(BlobType.TREE, tree_id))
        with self._tree_cache_lock:
            self._tree_cache[tree_id] = nodes
            while len(self._tree_cache) > _TREE_CACHE_SIZE:
                self._tree_cache.popitem(last=False)
        return nodes

    # -- snapshots ----------------------------------------------------------------------
    def list_snapshots(self) -> list[Snapshot]:
        snapshots = []
        for name, _size in self.backend.list(FileKind.SNAPSHOTS):
            try:
                doc = self.load_unpacked(FileKind.SNAPSHOTS, name)
            except FileNotFound:
                continue
            snapshots.append(Snapshot.from_json_dict(doc, bytes.fromhex(name)))
        snapshots.sort(key=lambda s: (s.time, s.id))
        return snapshots

    def find_snapshot(
        self, ref: str, *, hostname: str | None = None, paths: list[str] | None = None
    ) -> Snapshot:
        """A snapshot by ID, unique ID prefix, or ``latest`` (optionally of a host/paths)."""
        snapshots = self.list_snapshots()
        if ref == "latest":
            candidates = [
                s
                for s in snapshots
                if (hostname is None or s.hostname == hostname)
                and (paths is None or sorted(s.paths) == sorted(paths))
            ]
            if not candidates:
                raise InvalidInput("no snapshot found")
            return candidates[-1]
        ref = ref.lower()
        matches = [s for s in snapshots if s.id.hex().startswith(ref)]
        if not ref or len(matches) != 1:
            raise InvalidInput(
                f"snapshot {ref!r} is ambiguous" if matches else f"no snapshot {ref!r}"
            )
        return matches[0]

    def save_snapshot(self, snapshot: Snapshot) -> bytes:
        snapshot.id = self.save_unpacked(FileKind.SNAPSHOTS, snapshot.to_json_dict())
        return snapshot.id


# -- key files ----------------------------------------------------------------------------
def add_key(
    backend: Backend,
    master: Key,
    password: str | bytes,
    *,
    scrypt_params: dict[str, int] | None = None,
) -> str:
    """Write a key file that opens the master key with this password; return its name."""
    params = dict(scrypt_params or DEFAULT_SCRYPT)
    salt = os.urandom(64)
    user_key = derive_key(_password_bytes(password), salt, params["N"], params["r"], params["p"])
    doc = {
        "created": format_time(time.time_ns()),
        "username": current_user(),
        "hostname": socket.gethostname(),
        "kdf": "scrypt",
        "N": params["N"],
        "r": params["r"],
        "p": params["p"],
        "salt": b64encode(salt),
        "data": b64encode(user_key.encrypt_bytes(orjson.dumps(master.to_json_dict()))),
    }
    data = orjson.dumps(doc)
    name = hashlib.sha256(data).hexdigest()
    backend.write(FileKind.KEYS, name, data)
    return name


def open_master_key(backend: Backend, password: str | bytes) -> tuple[Key, str]:
    """Try every key file with the password; `WrongPassword` when none opens."""
    secret = _password_bytes(password)
    names = sorted(name for name, _ in backend.list(FileKind.KEYS))
    if not names:
        raise BackupError(f"the repository at {backend.location} has no key file")
    for name in names:
        try:
            doc = orjson.loads(backend.read(FileKind.KEYS, name))
            if doc.get("kdf") != "scrypt":
                continue
            user_key = derive_key(
                secret, b64decode(doc["salt"]), int(doc["N"]), int(doc["r"]), int(doc["p"])
            )
            encrypted = b64decode(doc["data"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            continue
        if len(encrypted) < OVERHEAD:
            continue
        try:
            plaintext = user_key.decrypt_bytes(encrypted)
        except IntegrityError:
            continue
        try:
            return Key.from_json_dict(orjson.loads(plaintext)), name
        except orjson.JSONDecodeError as exc:
            raise IntegrityError(f"key file {name}: master key is not JSON") from exc
    raise WrongPassword()


def _password_bytes(password: str | bytes) -> bytes:
    if isinstance(password, str):
        password = password.encode("utf-8")
    if not password:
        raise InvalidInput("an empty password is not allowed")
    return password


def _decode_unpacked(plaintext: bytes) -> Any:
    if not plaintext:
        raise IntegrityError("empty file")
    first = plaintext[0]
    if first in (0x5B, 0x7B):  # '[' or '{': the whole plaintext is JSON
        payload = plaintext
    elif first == 2:
        try:
            payload = _decompressor().decompressobj().decompress(plaintext[1:])
        except zstandard.ZstdError as exc:
            raise IntegrityError(f"bad zstd data: {exc}") from exc
    else:
        raise IntegrityError(f"unknown encoding version {first}")
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise IntegrityError(f"not JSON: {exc}") from exc
