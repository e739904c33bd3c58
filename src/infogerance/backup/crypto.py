"""Authenticated encryption as the restic repository format specifies it.

Every encrypted object is ``IV || CIPHERTEXT || MAC``:

* the 16-byte IV is random, used both as the AES-256-CTR initial counter block and as the
  Poly1305-AES nonce;
* the ciphertext is the plaintext encrypted with AES-256 in counter mode (the whole 128-bit
  block is the big-endian counter);
* the MAC is Poly1305-AES over the ciphertext only: with the MAC key ``(k, r)``,
  ``s = AES-128_k(nonce)`` and the Poly1305 one-time key is ``r || s`` (Poly1305 clamps ``r``).

The master key (32 bytes for encryption, 16 + 16 for the MAC) is stored in a key file,
itself encrypted with a key derived from the password by scrypt (64 bytes: the first 32 for
AES-256, then ``k`` and ``r``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

from .errors import IntegrityError

IV_SIZE = 16
MAC_SIZE = 16
OVERHEAD = IV_SIZE + MAC_SIZE

# scrypt refuses to run when it needs more memory than this; restic's calibrated
# parameters stay far below it, and absurd parameters in a hostile key file are refused.
MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024


def _clamp_r(r: bytes) -> bytes:
    """Mask ``r`` as Poly1305 requires (the library clamps too: this keeps keys canonical)."""
    b = bytearray(r)
    for i in (3, 7, 11, 15):
        b[i] &= 15
    for i in (4, 8, 12):
        b[i] &= 252
    return bytes(b)


@dataclass(frozen=True, slots=True)
class Key:
    """A set of keys: AES-256 encryption key, and the Poly1305-AES MAC key ``(k, r)``."""

    encrypt: bytes
    mac_k: bytes
    mac_r: bytes
    # The cipher objects, built once: building them per blob costs more than a small blob.
    _aes256: algorithms.AES = field(init=False, repr=False, compare=False)
    _aes128: algorithms.AES = field(init=False, repr=False, compare=False)
    # One ECB context per thread computes every MAC's ``s``: making one per blob cost 10 µs,
    # a quarter of sealing a small file. ECB keeps no state between blocks.
    _ecb: threading.local = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.encrypt) != 32 or len(self.mac_k) != 16 or len(self.mac_r) != 16:
            raise IntegrityError("invalid key lengths")
        if not any(self.encrypt) or not any(self.mac_k) or not any(self.mac_r):
            raise IntegrityError("invalid key: all zero")
        object.__setattr__(self, "_aes256", algorithms.AES(self.encrypt))
        object.__setattr__(self, "_aes128", algorithms.AES(self.mac_k))
        object.__setattr__(self, "_ecb", threading.local())

    @classmethod
    def random(cls) -> Key:
        return cls(os.urandom(32), os.urandom(16), _clamp_r(os.urandom(16)))

    @classmethod
    def from_kdf_output(cls, raw: bytes) -> Key:
        if len(raw) != 64:
            raise ValueError("the key derivation must give 64 bytes")
        return cls(raw[:32], raw[32:48], raw[48:64])

    # -- the master key as the key file stores it -------------------------------------
    def to_json_dict(self) -> dict[str, object]:
        return {
            "mac": {"k": _b64(self.mac_k), "r": _b64(self.mac_r)},
            "encrypt": _b64(self.encrypt),
        }

    @classmethod
    def from_json_dict(cls, doc: object) -> Key:
        try:
            assert isinstance(doc, dict)
            mac = doc["mac"]
            assert isinstance(mac, dict)
            return cls(_unb64(doc["encrypt"]), _unb64(mac["k"]), _unb64(mac["r"]))
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"malformed master key: {exc}") from exc

    # -- authenticated encryption ------------------------------------------------------
    def _mac(self, nonce: bytes, ciphertext: bytes | memoryview) -> bytes:
        encryptor = getattr(self._ecb, "encryptor", None)
        if encryptor is None:
            encryptor = Cipher(self._aes128, modes.ECB()).encryptor()  # noqa: S305
            self._ecb.encryptor = encryptor
        s = encryptor.update(nonce)  # one block in, one block out
        return Poly1305.generate_tag(self.mac_r + s, ciphertext)

    def encrypt_bytes(self, plaintext: bytes | bytearray | memoryview) -> bytearray:
        # Encrypted in place into the one buffer returned: concatenating IV, ciphertext and
        # MAC copied every blob twice, holding the GIL (the backup's workers are threads).
        n = len(plaintext)
        nonce = os.urandom(IV_SIZE)
        sealed = bytearray(IV_SIZE + n + MAC_SIZE)
        view = memoryview(sealed)
        view[:IV_SIZE] = nonce
        encryptor = Cipher(self._aes256, modes.CTR(nonce)).encryptor()
        # update_into wants room for a block minus one byte more than the input: the MAC's.
        encryptor.update_into(plaintext, view[IV_SIZE:])
        encryptor.finalize()
        view[IV_SIZE + n :] = self._mac(nonce, view[IV_SIZE : IV_SIZE + n])
        return sealed

    def decrypt_bytes(self, data: bytes | memoryview) -> bytes:
        if len(data) < OVERHEAD:
            raise IntegrityError("encrypted data too short")
        view = memoryview(data)
        nonce = bytes(view[:IV_SIZE])
        ciphertext = view[IV_SIZE:-MAC_SIZE]
        mac = bytes(view[-MAC_SIZE:])
        if not hmac.compare_digest(self._mac(nonce, ciphertext), mac):
            raise IntegrityError("ciphertext verification failed (wrong key or damaged data)")
        decryptor = Cipher(self._aes256, modes.CTR(nonce)).decryptor()
        return decryptor.update(ciphertext) + decryptor.finalize()


def derive_key(password: bytes, salt: bytes, n: int, r: int, p: int) -> Key:
    """Derive the user key from a password with scrypt's parameters from a key file."""
    if n < 2 or n & (n - 1) or r < 1 or p < 1:
        raise IntegrityError(f"invalid scrypt parameters N={n} r={r} p={p}")
    needed = 128 * r * (n + p + 2) + 1024 * 1024
    if needed > MAX_SCRYPT_MEMORY:
        raise IntegrityError(f"scrypt parameters need too much memory (N={n} r={r} p={p})")
    raw = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=needed, dklen=64)
    return Key.from_kdf_output(raw)


def _b64(data: bytes | bytearray) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected a base64 string")
    return base64.b64decode(value, validate=True)


b64encode = _b64
b64decode = _unb64
