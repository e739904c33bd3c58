"""Validation of what agents send (docs/formats/agent.md), with errors that name the field.

Envelopes are strict (an unknown field is an error); inside ``data``, unknown fields are
ignored, so that a newer agent can report more than this server knows.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

FORMAT = "infogerance-agent/1"
MAX_REPORTS = 100

Text = Annotated[str, Field(max_length=255)]
LongText = Annotated[str, Field(max_length=2000)]
Count = Annotated[int, Field(ge=0, le=2**62)]
Percent = Annotated[float, Field(ge=0, le=100_000)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OsInfo(_Data):
    family: Text
    name: Text
    version: Text = ""
    id: Text = ""
    version_id: Text = ""
    codename: Text = ""
    kernel: Text = ""
    arch: Annotated[str, Field(max_length=30)] = ""


class Cpu(_Data):
    model: Text = ""
    cores: Count | None = None
    threads: Count | None = None
    mhz: float | None = None


class Hardware(_Data):
    vendor: Text = ""
    model: Text = ""
    serial: Text = ""
    cpu: Cpu | None = None
    memory_bytes: Count | None = None
    swap_bytes: Count | None = None


class Disk(_Data):
    device: Text = ""
    mountpoint: Text
    fstype: Text = ""
    total_bytes: Count
    used_bytes: Count
    free_bytes: Count


class Interface(_Data):
    name: Text
    mac: Text = ""
    up: bool | None = None
    speed_mbps: Count | None = None
    addresses: Annotated[list[Text], Field(max_length=256)] = []


class Software(_Data):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    version: Text = ""
    publisher: Text = ""
    installed_at: AwareDatetime | None = None
    source: Literal["dpkg", "rpm", "python", "windows"]


class Service(_Data):
    name: Text
    state: Text = ""
    enabled: bool | None = None


class Port(_Data):
    protocol: Text
    address: Text = ""
    port: Annotated[int, Field(ge=0, le=65535)]
    process: Text = ""


class LocalUser(_Data):
    name: Text
    uid: int | None = None
    shell: Text = ""
    home: Text = ""


class PendingPackage(_Data):
    name: Text
    current: Text = ""
    candidate: Text = ""
    security: bool = False


class Updates(_Data):
    source: Text
    count: Count
    security_count: Count = 0
    packages: Annotated[list[PendingPackage], Field(max_length=20_000)] = []


class Note(_Data):
    collector: Text
    message: LongText


class Inventory(_Data):
    hostname: Annotated[str, Field(min_length=1, max_length=255)]
    fqdn: Text = ""
    machine_id: Annotated[str, Field(max_length=64)] = ""
    os: OsInfo
    boot_time: AwareDatetime | None = None
    uptime_seconds: Count | None = None
    hardware: Hardware | None = None
    disks: Annotated[list[Disk], Field(max_length=1000)] = []
    interfaces: Annotated[list[Interface], Field(max_length=1000)] = []
    software: Annotated[list[Software], Field(max_length=50_000)] = []
    services: Annotated[list[Service], Field(max_length=20_000)] = []
    ports: Annotated[list[Port], Field(max_length=20_000)] = []
    users: Annotated[list[LocalUser], Field(max_length=20_000)] = []
    updates: Updates | None = None
    notes: Annotated[list[Note], Field(max_length=1000)] = []


class Heartbeat(_Data):
    uptime_seconds: Count | None = None
    cpu_percent: Percent | None = None
    memory_percent: Percent | None = None
    inventory_sha256: Annotated[str, Field(max_length=64)] = ""


class Stat(_Data):
    mean: float
    p95: float
    max: float


class Performance(_Data):
    window_start: AwareDatetime
    window_end: AwareDatetime
    samples: Annotated[int, Field(ge=1, le=1_000_000)]
    cpu_percent: Stat | None = None
    memory_percent: Stat | None = None
    disk_read_bytes_per_s: Stat | None = None
    disk_write_bytes_per_s: Stat | None = None
    net_recv_bytes_per_s: Stat | None = None
    net_sent_bytes_per_s: Stat | None = None
    load1: Stat | None = None


Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Seconds = Annotated[float, Field(ge=0, le=10**9)]


class BackupRunData(_Data):
    """A backup run of the engine (``agent backup``); see docs/formats/agent.md."""

    run_id: uuid.UUID
    repository_id: Hex64
    scope: Annotated[str, Field(min_length=1, max_length=200)]
    started_at: AwareDatetime
    finished_at: AwareDatetime
    status: Literal["success", "partial", "failed"]
    snapshot_id: Hex64 | None = None
    snapshot_time: AwareDatetime | None = None
    files: Count = 0
    bytes_read: Count = 0
    bytes_added: Count = 0
    unreadable: Count = 0
    verification: Literal["", "structure", "subset", "all"] = ""
    verification_ok: bool | None = None
    error: Annotated[str, Field(max_length=5000)] = ""


class DrillEvidence(_Data):
    manifest_sha256: Hex64 | None = None
    restore_seconds: Seconds | None = None
    check_seconds: Seconds | None = None
    snapshot_age_seconds: float | None = None
    include: LongText = ""
    missing: Annotated[list[LongText], Field(max_length=20)] = []
    mismatched: Annotated[list[LongText], Field(max_length=20)] = []


class RestoreDrillData(_Data):
    """A restore drill of the engine (``agent drill``); see docs/formats/agent.md."""

    drill_id: uuid.UUID
    repository_id: Hex64
    snapshot_id: Hex64
    snapshot_time: AwareDatetime
    started_at: AwareDatetime
    finished_at: AwareDatetime
    files_checked: Count
    bytes_checked: Count
    mismatches: Count
    errors: Annotated[list[LongText], Field(max_length=20)] = []
    evidence: DrillEvidence = DrillEvidence()


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["infogerance-agent/1"]
    report_id: uuid.UUID
    kind: Literal["heartbeat", "inventory", "performance", "backup_run", "restore_drill"]
    sequence: Annotated[int, Field(ge=1, le=2**62)]
    collected_at: AwareDatetime
    agent_version: Annotated[str, Field(max_length=40)] = ""
    data: dict[str, Any]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_REPORTS)]


class Enrolment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: Annotated[str, Field(min_length=1, max_length=200)]
    hostname: Annotated[str, Field(min_length=1, max_length=255)]
    machine_id: Annotated[str, Field(max_length=64)] = ""
    agent_version: Annotated[str, Field(max_length=40)] = ""
    os: OsInfo | None = None


DATA_MODELS: dict[str, type[_Data]] = {
    "heartbeat": Heartbeat,
    "inventory": Inventory,
    "performance": Performance,
    "backup_run": BackupRunData,
    "restore_drill": RestoreDrillData,
}


class PayloadError(ValueError):
    """A report that does not follow the protocol; ``errors`` maps a field path to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1][0]}")


def _path(prefix: str, loc: tuple[Any, ...]) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "__all__"


def _errors(prefix: str, exc: ValidationError) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in exc.errors(include_url=False):
        message = "required" if item["type"] == "missing" else item["msg"]
        found.setdefault(_path(prefix, tuple(item["loc"])), []).append(message)
    return found


def parse_model(model: type[BaseModel], value: Any, prefix: str = "") -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise PayloadError(_errors(prefix, exc)) from None


_ADAPTERS = {kind: TypeAdapter(model) for kind, model in DATA_MODELS.items()}


def parse_reports(body: Any) -> list[tuple[Envelope, Any]]:
    """Every report of a batch with its typed data, or PayloadError for the first bad one."""
    batch = parse_model(Batch, body)
    parsed = []
    for index, raw in enumerate(batch.reports):
        where = f"reports[{index}]"
        envelope = parse_model(Envelope, raw, where)
        data = parse_model(DATA_MODELS[envelope.kind], envelope.data, f"{where}.data")
        parsed.append((envelope, data))
    return parsed
