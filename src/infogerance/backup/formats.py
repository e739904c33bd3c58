"""The JSON documents of the repository: trees, nodes, snapshots, and their encodings.

Field names and encodings follow restic's design document: IDs are lower-case hex
strings, times are RFC 3339 with nanoseconds and a numeric zone offset, file modes are
Go's ``os.FileMode`` (permission bits plus type flags in the high bits, e.g. a directory
has bit 31 set), so that restic reads what we write and we read what restic writes.
Unknown fields are ignored on reading.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import stat
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import IntegrityError

# --- Go os.FileMode ------------------------------------------------------------------
GO_DIR = 1 << 31
GO_SYMLINK = 1 << 27
GO_DEVICE = 1 << 26
GO_NAMED_PIPE = 1 << 25
GO_SOCKET = 1 << 24
GO_SETUID = 1 << 23
GO_SETGID = 1 << 22
GO_CHAR_DEVICE = 1 << 21
GO_STICKY = 1 << 20


def go_mode(st_mode: int) -> int:
    """Unix ``st_mode`` to Go's ``os.FileMode``."""
    mode = st_mode & 0o777
    if st_mode & stat.S_ISUID:
        mode |= GO_SETUID
    if st_mode & stat.S_ISGID:
        mode |= GO_SETGID
    if st_mode & stat.S_ISVTX:
        mode |= GO_STICKY
    fmt = stat.S_IFMT(st_mode)
    mode |= {
        stat.S_IFDIR: GO_DIR,
        stat.S_IFLNK: GO_SYMLINK,
        stat.S_IFBLK: GO_DEVICE,
        stat.S_IFCHR: GO_DEVICE | GO_CHAR_DEVICE,
        stat.S_IFIFO: GO_NAMED_PIPE,
        stat.S_IFSOCK: GO_SOCKET,
    }.get(fmt, 0)
    return mode


def unix_permissions(mode: int) -> int:
    """The bits of a Go ``os.FileMode`` that ``chmod`` takes."""
    perm = mode & 0o777
    if mode & GO_SETUID:
        perm |= stat.S_ISUID
    if mode & GO_SETGID:
        perm |= stat.S_ISGID
    if mode & GO_STICKY:
        perm |= stat.S_ISVTX
    return perm


# --- times ---------------------------------------------------------------------------
_TIME = re.compile(r"^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def format_time(ns: int, utc: bool = False) -> str:
    """Nanoseconds since the epoch as RFC 3339 with nanoseconds (Go's RFC3339Nano)."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    parts = _second_text(seconds, utc)
    if parts is None:
        return _format_time_slow(seconds, fraction, utc)
    text, zone = parts
    if fraction:
        return text + f".{fraction:09d}".rstrip("0") + zone
    return text + zone


# Files written together share their seconds: an unchanged run of 20,000 files formats and
# parses 60,000 times, and the calendar arithmetic was a third of its CPU time.
@functools.lru_cache(maxsize=8192)
def _second_text(seconds: int, utc: bool) -> tuple[str, str] | None:
    """The date and time to the second, and the zone; None when `time` cannot say."""
    try:
        tm = time.gmtime(seconds) if utc else time.localtime(seconds)
        if tm.tm_gmtoff and tm.tm_gmtoff % 60:  # historical offsets in seconds: use UTC
            tm = time.gmtime(seconds)
    except (OverflowError, OSError, ValueError):
        return None
    text = (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f"T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )
    return text, _zone(tm.tm_gmtoff or 0)


def _zone(offset_s: int) -> str:
    if not offset_s:
        return "Z"
    minutes = offset_s // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _format_time_slow(seconds: int, fraction: int, utc: bool) -> str:
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    if not utc:
        with contextlib.suppress(OverflowError, OSError, ValueError):
            local = moment.astimezone()
            if not int((local.utcoffset() or dt.timedelta(0)).total_seconds()) % 60:
                moment = local
    text = moment.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")
    if fraction:
        text += f".{fraction:09d}".rstrip("0")
    offset = moment.utcoffset() or dt.timedelta(0)
    return text + _zone(int(offset.total_seconds()))


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(text: str) -> int:
    """RFC 3339 (any fraction length) to nanoseconds since the epoch."""
    m = _TIME.match(text)
    if not m:
        raise IntegrityError(f"invalid time {text!r}")
    y, mo, d, h, mi, sec, fraction, zone = m.groups()
    seconds = _seconds(y, mo, d, h, mi, sec, zone)
    if seconds is None:
        raise IntegrityError(f"invalid time {text!r}")
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    return seconds * 1_000_000_000 + nanos


@functools.lru_cache(maxsize=8192)
def _seconds(y: str, mo: str, d: str, h: str, mi: str, sec: str, zone: str) -> int | None:
    year, month, day, hour, minute, second = int(y), int(mo), int(d), int(h), int(mi), int(sec)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    offset = 0
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return (
        _days_from_civil(year, month, day) * 86400
        + hour * 3600
        + minute * 60
        + min(second, 59)
        - offset
    )


# --- IDs -----------------------------------------------------------------------------
def parse_id(value: object) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise IntegrityError(f"invalid ID {value!r}")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise IntegrityError(f"invalid ID {value!r}") from exc


# --- trees ---------------------------------------------------------------------------
NODE_TYPES = ("file", "dir", "symlink", "dev", "chardev", "fifo", "socket")


@dataclass(slots=True)
class Node:
    """One entry of a directory, with the metadata restic records."""

    name: str
    type: str
    mode: int = 0
    mtime: int = 0  # nanoseconds since the epoch
    atime: int = 0
    ctime: int = 0
    uid: int = 0
    gid: int = 0
    user: str = ""
    group: str = ""
    inode: int = 0
    device_id: int = 0
    size: int = 0
    links: int = 0
    linktarget: str = ""
    device: int = 0
    content: list[bytes] | None = None
    subtree: bytes | None = None

    def to_json_dict(self) -> dict[str, Any]:
        # Spelled out field by field: every node of every backed-up tree goes through here.
        doc: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.mode:
            doc["mode"] = self.mode
        doc["mtime"] = format_time(self.mtime)
        doc["atime"] = format_time(self.atime)
        doc["ctime"] = format_time(self.ctime)
        doc["uid"] = self.uid
        doc["gid"] = self.gid
        if self.user:
            doc["user"] = self.user
        if self.group:
            doc["group"] = self.group
        if self.inode:
            doc["inode"] = self.inode
        if self.device_id:
            doc["device_id"] = self.device_id
        if self.size:
            doc["size"] = self.size
        if self.links:
            doc["links"] = self.links
        if self.linktarget:
            doc["linktarget"] = self.linktarget
        if self.device:
            doc["device"] = self.device
        # restic's checker wants a list (possibly empty) for every file.
        doc["content"] = None if self.content is None else [c.hex() for c in self.content]
        if self.subtree is not None:
            doc["subtree"] = self.subtree.hex()
        return doc

    @classmethod
    def from_json_dict(cls, doc: Any) -> Node:
        if not isinstance(doc, dict):
            raise IntegrityError("tree node is not an object")
        try:
            content = doc.get("content")
            subtree = doc.get("subtree")
            name = doc["name"]
            node_type = doc["type"]
            if not isinstance(name, str) or not isinstance(node_type, str):
                raise IntegrityError("node name and type must be strings")
            return cls(
                name=name,
                type=node_type,
                mode=int(doc.get("mode") or 0),
                mtime=_time_field(doc, "mtime"),
                atime=_time_field(doc, "atime"),
                ctime=_time_field(doc, "ctime"),
                uid=int(doc.get("uid") or 0),
                gid=int(doc.get("gid") or 0),
                user=str(doc.get("user") or ""),
                group=str(doc.get("group") or ""),
                inode=int(doc.get("inode") or 0),
                device_id=int(doc.get("device_id") or 0),
                size=int(doc.get("size") or 0),
                links=int(doc.get("links") or 0),
                linktarget=str(doc.get("linktarget") or ""),
                device=int(doc.get("device") or 0),
                content=None if content is None else [parse_id(c) for c in content],
                subtree=None if subtree is None else parse_id(subtree),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"malformed tree node: {exc}") from exc


def _time_field(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    return parse_time(value) if isinstance(value, str) else 0


def encode_tree(nodes: list[Node]) -> bytes:
    """A tree blob: the nodes sorted by name, as restic writes them (JSON and a newline)."""
    ordered = sorted(nodes, key=lambda n: n.name.encode("utf-8", "surrogateescape"))
    return orjson.dumps({"nodes": [n.to_json_dict() for n in ordered]}) + b"\n"


def decode_tree_documents(data: bytes) -> list[dict[str, Any]]:
    """A tree blob's nodes as their JSON objects, not yet turned into `Node`s."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise IntegrityError(f"tree is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes", []), list):
        raise IntegrityError("tree is not an object with a list of nodes")
    nodes: list[Any] = doc.get("nodes") or []
    for node in nodes:
        if not isinstance(node, dict):
            raise IntegrityError("tree node is not an object")
    return nodes


def decode_tree(data: bytes) -> list[Node]:
    return [Node.from_json_dict(n) for n in decode_tree_documents(data)]


# --- snapshots -----------------------------------------------------------------------
@dataclass(slots=True)
class Snapshot:
    time: int  # nanoseconds since the epoch
    tree: bytes
    paths: list[str]
    hostname: str = ""
    username: str = ""
    uid: int = 0
    gid: int = 0
    tags: list[str] = field(default_factory=list)
    parent: bytes | None = None
    excludes: list[str] = field(default_factory=list)
    original: bytes | None = None
    program_version: str = ""
    id: bytes = b""  # the storage ID, set when read or written; not part of the document

    def to_json_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"time": format_time(self.time)}
        if self.parent is not None:
            doc["parent"] = self.parent.hex()
        doc["tree"] = self.tree.hex()
        doc["paths"] = self.paths
        for key in ("hostname", "username", "uid", "gid", "excludes", "tags"):
            value = getattr(self, key)
            if value:
                doc[key] = value
        if self.original is not None:
            doc["original"] = self.original.hex()
        if self.program_version:
            doc["program_version"] = self.program_version
        return doc

    @classmethod
    def from_json_dict(cls, doc: Any, snapshot_id: bytes = b"") -> Snapshot:
        if not isinstance(doc, dict):
            raise IntegrityError("snapshot is not an object")
        try:
            parent = doc.get("parent")
            original = doc.get("original")
            return cls(
                time=parse_time(doc["time"]),
                tree=parse_id(doc["tree"]),
                paths=[str(p) for p in doc.get("paths") or []],
                hostname=str(doc.get("hostname") or ""),
                username=str(doc.get("username") or ""),
                uid=int(doc.get("uid") or 0),
                gid=int(doc.get("gid") or 0),
                tags=[str(t) for t in doc.get("tags") or []],
                parent=parse_id(parent) if parent else None,
                excludes=[str(e) for e in doc.get("excludes") or []],
                original=parse_id(original) if original else None,
                program_version=str(doc.get("program_version") or ""),
                id=snapshot_id,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"malformed snapshot: {exc}") from exc

    @property
    def short_id(self) -> str:
        return self.id.hex()[:8]
