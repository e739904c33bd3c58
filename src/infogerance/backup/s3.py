"""A repository in S3-compatible object storage: the `Backend` protocol over HTTP.

Addresses are spelt as restic spells them: ``s3:https://host[:port]/bucket[/prefix]``
(``s3:host/bucket/prefix`` means HTTPS). Objects are laid out as the local backend lays
out files (``prefix/config``, ``prefix/data/ab/abcd…``, ``prefix/keys/…``), which is
restic's default layout, so restic reads what we write and the other way round.

The client is small and ours (standard library only: ``http.client`` and AWS Signature
Version 4 with ``hmac``/``hashlib``), so that the engine, which also runs on client machines
inside the agent, gains no heavy dependency. It uses path-style requests (what MinIO, Ceph,
Garage and moto accept, and what restic's client does for endpoints that are not AWS) and
one keep-alive connection per thread. Credentials come from ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN`` if set), the region from
``AWS_DEFAULT_REGION`` (default ``us-east-1``).

Writes need no temporary object: S3 makes an object visible whole or not at all. The
payload's SHA-256 is signed, so the server refuses a body damaged in transit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import os
import ssl
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .backend import ID_PATTERN, FileKind
from .errors import BackupError, FileNotFound, RepositoryExists, RepositoryNotFound

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_RETRIES = 4  # attempts on connection errors and 5xx answers (every request is idempotent)


class S3Error(BackupError):
    """The object storage refused a request (credentials, bucket, server error)."""


@dataclass(frozen=True)
class S3Location:
    scheme: str
    host: str  # host[:port], as sent in the Host header
    bucket: str
    prefix: str  # without leading or trailing slashes; may be empty

    @classmethod
    def parse(cls, text: str) -> S3Location:
        """``s3:http(s)://host[:port]/bucket[/prefix]`` or ``s3:host/bucket[/prefix]``."""
        if not text.startswith("s3:"):
            raise BackupError(f"not an S3 location: {text!r}")
        rest = text[3:]
        if "://" not in rest:
            rest = "https://" + rest
        parsed = urllib.parse.urlsplit(rest)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise BackupError(f"invalid S3 location {text!r}: s3:http(s)://host[:port]/bucket")
        parts = [p for p in parsed.path.split("/") if p]
        if not parts:
            raise BackupError(f"invalid S3 location {text!r}: no bucket")
        return cls(parsed.scheme, parsed.netloc, parts[0], "/".join(parts[1:]))

    def __str__(self) -> str:
        tail = f"/{self.prefix}" if self.prefix else ""
        return f"s3:{self.scheme}://{self.host}/{self.bucket}{tail}"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None
    region: str = "us-east-1"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        access = env.get("AWS_ACCESS_KEY_ID", "")
        secret = env.get("AWS_SECRET_ACCESS_KEY", "")
        if not access or not secret:
            raise BackupError(
                "S3 repositories need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "in the environment"
            )
        return cls(
            access,
            secret,
            env.get("AWS_SESSION_TOKEN") or None,
            env.get("AWS_DEFAULT_REGION") or "us-east-1",
        )


def parse_xml(body: bytes) -> ET.Element:
    """An S3 answer as XML. S3 never sends a DTD: refusing any declaration shuts out entity
    expansion (the attacks defusedxml guards against) without another dependency."""
    if b"<!" in body:
        raise S3Error("refusing an S3 answer with an XML declaration (DTD or entity)")
    try:
        return ET.fromstring(body)  # noqa: S314 (no DTD: checked above)
    except ET.ParseError as exc:
        raise S3Error(f"malformed S3 answer: {exc}") from exc


def _quote(text: str, safe: str = "-_.~") -> str:
    return urllib.parse.quote(text, safe=safe)


def sign_v4(
    credentials: Credentials,
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str],
    payload_sha256: str,
    now: dt.datetime,
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers that authenticate a request (AWS Signature Version 4, service ``s3``):
    ``extra_headers`` are signed and returned with the others, ``host`` is signed only.

    ``path`` is already URI-encoded (S3 encodes each segment once)."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {k.lower(): v for k, v in (extra_headers or {}).items()}
    headers.update(host=host, **{"x-amz-content-sha256": payload_sha256, "x-amz-date": amz_date})
    if credentials.session_token:
        headers["x-amz-security-token"] = credentials.session_token
    names = sorted(headers)
    canonical_query = "&".join(
        f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items(), key=lambda kv: kv[0])
    )
    canonical_request = "\n".join(
        [
            method,
            path,
            canonical_query,
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{credentials.region}/s3/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (day, credentials.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    del headers["host"]  # http.client sends it
    return headers


@dataclass
class _Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class S3Client:
    """Signed path-style requests to one bucket, one keep-alive connection per thread."""

    def __init__(
        self, location: S3Location, credentials: Credentials, timeout: float = 60.0
    ) -> None:
        self.location = location
        self.credentials = credentials
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.location.scheme == "https":
                conn = http.client.HTTPSConnection(
                    self.location.host, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(self.location.host, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def request(
        self,
        method: str,
        key: str | None,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | bytearray | memoryview = b"",
        headers: Mapping[str, str] | None = None,
    ) -> _Response:
        """One request on the bucket (``key`` None) or an object, retried on transient
        failures; the answer of any status (callers decide what a 404 means)."""
        path = "/" + _quote(self.location.bucket)
        if key is not None:
            path += "/" + _quote(key, safe="-_.~/")
        query = dict(query or {})
        payload_sha256 = hashlib.sha256(body).hexdigest() if len(body) else _EMPTY_SHA256
        url = path + (
            "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else ""
        )
        last_error: Exception | None = None
        for attempt in range(_RETRIES):
            if attempt > 1:  # the first retry is immediate: a kept-alive socket may have gone
                time.sleep(0.5 * 2 ** (attempt - 2))
            signed = sign_v4(
                self.credentials,
                method,
                self.location.host,
                path,
                query,
                payload_sha256,
                dt.datetime.now(dt.UTC),
                headers,
            )
            all_headers = {**signed, "content-length": str(len(body))}
            conn = self._connection()
            try:
                conn.request(method, url, body=body if len(body) else None, headers=all_headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                last_error = exc
                continue
            if response.will_close:
                self._drop_connection()
            if response.status >= 500 or response.status == 429:
                last_error = S3Error(self._describe(method, key, response.status, data))
                continue
            return _Response(response.status, response.headers, data)
        if isinstance(last_error, S3Error):
            raise last_error
        raise S3Error(
            f"cannot reach {self.location.scheme}://{self.location.host}: {last_error}"
        ) from last_error

    def _describe(self, method: str, key: str | None, status: int, body: bytes) -> str:
        code = message = ""
        if body.startswith(b"<"):
            try:
                root = parse_xml(body)
                code = root.findtext("Code") or ""
                message = root.findtext("Message") or ""
            except S3Error:
                pass
        target = f"{self.location.bucket}/{key}" if key else self.location.bucket
        detail = f": {code}" + (f" ({message})" if message else "") if code else ""
        return f"S3 {method} {target} failed with HTTP {status}{detail}"

    def fail(self, method: str, key: str | None, response: _Response) -> S3Error:
        if response.status == 403:
            return S3Error(
                self._describe(method, key, response.status, response.body)
                + " — check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION"
            )
        return S3Error(self._describe(method, key, response.status, response.body))


class S3Backend:
    """A repository under a prefix of an S3 bucket, in restic's default layout."""

    page_size: int | None = None  # keys per listing request; None: the server's (1,000)
    # Uploads are latency-bound: four in flight (restic uses five connections for S3).
    write_concurrency = 4

    def __init__(self, location: str | S3Location, credentials: Credentials | None = None) -> None:
        self._location = (
            location if isinstance(location, S3Location) else S3Location.parse(location)
        )
        self.client = S3Client(self._location, credentials or Credentials.from_environment())

    @property
    def location(self) -> str:
        return str(self._location)

    def _dir(self, kind: FileKind) -> str:
        prefix = self._location.prefix
        return f"{prefix}/{kind.value}/" if prefix else f"{kind.value}/"

    def _key(self, kind: FileKind, name: str) -> str:
        if kind is FileKind.CONFIG:
            prefix = self._location.prefix
            return f"{prefix}/config" if prefix else "config"
        if not ID_PATTERN.match(name):
            raise BackupError(f"invalid file name {name!r}")
        if kind is FileKind.DATA:
            return f"{self._dir(kind)}{name[:2]}/{name}"
        return self._dir(kind) + name

    def create(self) -> None:
        head = self.client.request("HEAD", None)
        if head.status == 404:
            region = self.client.credentials.region
            body = b""
            if region != "us-east-1":
                body = (
                    '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                    f"<LocationConstraint>{region}</LocationConstraint>"
                    "</CreateBucketConfiguration>"
                ).encode()
            made = self.client.request("PUT", None, body=body)
            # 409: created meanwhile by someone else (BucketAlreadyOwnedByYou) is fine.
            if made.status not in (200, 409):
                raise self.client.fail("PUT", None, made)
        elif head.status != 200:
            raise self.client.fail("HEAD", None, head)
        if self.exists():
            raise RepositoryExists(f"a repository already exists at {self.location}")

    def exists(self) -> bool:
        key = self._key(FileKind.CONFIG, "config")
        response = self.client.request("HEAD", key)
        if response.status == 404:
            return False
        if response.status != 200:
            raise self.client.fail("HEAD", key, response)
        return True

    def read(self, kind: FileKind, name: str, offset: int = 0, length: int | None = None) -> bytes:
        key = self._key(kind, name)
        if offset < 0 and length is not None:
            size = self.stat(kind, name)
            offset = max(0, size + offset)
        headers: dict[str, str] = {}
        if offset < 0:
            headers["range"] = f"bytes={offset}"  # the last -offset bytes
        elif length is not None:
            if length == 0:
                return b""
            headers["range"] = f"bytes={offset}-{offset + length - 1}"
        elif offset > 0:
            headers["range"] = f"bytes={offset}-"
        response = self.client.request("GET", key, headers=headers)
        if response.status == 404:
            if kind is FileKind.CONFIG:
                raise RepositoryNotFound(f"no repository at {self.location}")
            raise FileNotFound(f"{kind.value}/{name} does not exist")
        if response.status == 416:
            raise FileNotFound(f"{kind.value}/{name} is truncated")
        if response.status not in (200, 206):
            raise self.client.fail("GET", key, response)
        data = response.body
        if response.status == 200 and headers:
            # A server that ignores Range sends the whole object: cut the range out of it.
            start = max(0, len(data) + offset) if offset < 0 else offset
            data = data[start : None if length is None else start + length]
        if length is not None and len(data) != length:
            raise FileNotFound(f"{kind.value}/{name} is truncated")
        return data

    def write(self, kind: FileKind, name: str, data: bytes | bytearray | memoryview) -> None:
        key = self._key(kind, name)
        response = self.client.request(
            "PUT", key, body=data, headers={"content-type": "application/octet-stream"}
        )
        if response.status != 200:
            raise self.client.fail("PUT", key, response)

    def list(self, kind: FileKind) -> Iterator[tuple[str, int]]:
        if kind is FileKind.CONFIG:
            if self.exists():
                yield "config", self.stat(FileKind.CONFIG, "config")
            return
        prefix = self._dir(kind)
        token: str | None = None
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if self.page_size:
                query["max-keys"] = str(self.page_size)
            if token:
                query["continuation-token"] = token
            response = self.client.request("GET", None, query=query)
            if response.status != 200:
                raise self.client.fail("GET", None, response)
            root = parse_xml(response.body)
            for item in root.iter(f"{_NS}Contents"):
                key = item.findtext(f"{_NS}Key") or ""
                name = key.rsplit("/", 1)[-1]
                # data/ab/<id> only (restic's layout); other kinds have no sub-directories.
                depth = key[len(prefix) :].count("/")
                if ID_PATTERN.match(name) and depth == (1 if kind is FileKind.DATA else 0):
                    yield name, int(item.findtext(f"{_NS}Size") or 0)
            truncated = (root.findtext(f"{_NS}IsTruncated") or "").lower() == "true"
            token = root.findtext(f"{_NS}NextContinuationToken")
            if not truncated or not token:
                return

    def stat(self, kind: FileKind, name: str) -> int:
        key = self._key(kind, name)
        response = self.client.request("HEAD", key)
        if response.status == 404:
            raise FileNotFound(f"{kind.value}/{name} does not exist")
        if response.status != 200:
            raise self.client.fail("HEAD", key, response)
        return int(response.headers.get("content-length", "0"))

    def delete(self, kind: FileKind, name: str) -> None:
        key = self._key(kind, name)
        response = self.client.request("DELETE", key)
        if response.status not in (200, 204, 404):
            raise self.client.fail("DELETE", key, response)
