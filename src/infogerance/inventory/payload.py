"""Validation of what agents send (docs/formats/agent.md), with errors that name the field.

Envelopes are strict (an unknown field is an error); inside ``data``, unknown fields are
ignored, so that a newer agent can report more than this server knows.

A batch is validated twice over only when it is bad. :func:`parse_reports` first tries the
lean path: one validation of the whole batch, reports told apart by their kind, an
inventory's packages kept as plain dicts (an inventory carries thousands: building a model
for each and dumping it back cost more than the rest of the report). The lean path accepts
a subset of what the full models accept, with the same values; whatever it refuses goes
through the full models, one report after the other, whose errors name the report and
field and whose verdict is final.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

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


SoftwareSource = Literal["dpkg", "rpm", "python", "windows"]


class Software(_Data):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    version: Text = ""
    publisher: Text = ""
    installed_at: AwareDatetime | None = None
    source: SoftwareSource


# An install time as Software dumps it when it is given so (UTC, to the second, as the agent
# sends it): the lean path keeps it as text (see _install_times_valid).
UtcSecond = Annotated[
    str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
]


class SoftwareEntry(TypedDict):
    """A package as the lean path validates it: a plain dict with :class:`Software`'s keys,
    in its order, and its values as :class:`Software` dumps them. The install time is
    taken in the one form that dumps as it is sent; another form goes to the full models."""

    name: Annotated[str, Field(min_length=1, max_length=255)]
    version: Annotated[str, Field(max_length=255, default="")]
    publisher: Annotated[str, Field(max_length=255, default="")]
    installed_at: Annotated[UtcSecond | None, Field(default=None)]
    source: SoftwareSource


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


SoftwareItem = TypeVar("SoftwareItem", Software, SoftwareEntry)


class InventoryOf(_Data, Generic[SoftwareItem]):
    """An inventory; its packages are :class:`Software` models or, on the lean path,
    :class:`SoftwareEntry` dicts."""

    hostname: Annotated[str, Field(min_length=1, max_length=255)]
    fqdn: Text = ""
    machine_id: Annotated[str, Field(max_length=64)] = ""
    os: OsInfo
    boot_time: AwareDatetime | None = None
    uptime_seconds: Count | None = None
    hardware: Hardware | None = None
    disks: Annotated[list[Disk], Field(max_length=1000)] = []
    interfaces: Annotated[list[Interface], Field(max_length=1000)] = []
    software: Annotated[list[SoftwareItem], Field(max_length=50_000)] = []
    services: Annotated[list[Service], Field(max_length=20_000)] = []
    ports: Annotated[list[Port], Field(max_length=20_000)] = []
    users: Annotated[list[LocalUser], Field(max_length=20_000)] = []
    updates: Updates | None = None
    notes: Annotated[list[Note], Field(max_length=1000)] = []


class Inventory(InventoryOf[Software]):
    pass


class LeanInventory(InventoryOf[SoftwareEntry]):
    pass


INVENTORY_FIELDS = tuple(Inventory.model_fields)


def inventory_facts(data: Inventory | LeanInventory) -> dict[str, Any]:
    """The inventory as JSON values, as :meth:`Inventory.model_dump` gives them (what is
    hashed and kept in snapshots). The lean path's packages are already JSON values: they
    are placed as they are instead of being dumped again."""
    if not isinstance(data, LeanInventory):
        return data.model_dump(mode="json")
    facts = data.model_dump(mode="json", exclude={"software"})
    facts["software"] = data.software
    return {name: facts[name] for name in INVENTORY_FIELDS}


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


class ReportHead(BaseModel):
    """What a report says of itself, besides its data."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["infogerance-agent/1"]
    report_id: uuid.UUID
    kind: Literal["heartbeat", "inventory", "performance", "backup_run", "restore_drill"]
    sequence: Annotated[int, Field(ge=1, le=2**62)]
    collected_at: AwareDatetime
    agent_version: Annotated[str, Field(max_length=40)] = ""


class Envelope(ReportHead):
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


# The lean path: a batch validated at once, each report by the model of its kind.


class _HeartbeatReport(ReportHead):
    kind: Literal["heartbeat"]
    data: Heartbeat


class _InventoryReport(ReportHead):
    kind: Literal["inventory"]
    data: LeanInventory


class _PerformanceReport(ReportHead):
    kind: Literal["performance"]
    data: Performance


class _BackupRunReport(ReportHead):
    kind: Literal["backup_run"]
    data: BackupRunData


class _RestoreDrillReport(ReportHead):
    kind: Literal["restore_drill"]
    data: RestoreDrillData


_LeanReport = Annotated[
    _HeartbeatReport
    | _InventoryReport
    | _PerformanceReport
    | _BackupRunReport
    | _RestoreDrillReport,
    Field(discriminator="kind"),
]


class _LeanBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: Annotated[list[_LeanReport], Field(min_length=1, max_length=MAX_REPORTS)]


_INSTANTS: TypeAdapter[list[AwareDatetime]] = TypeAdapter(list[AwareDatetime])


def _install_times_valid(software: list[SoftwareEntry]) -> bool:
    """Whether the lean path's install times are times (the pattern let 2026-02-30 by),
    checked as :class:`Software` checks them, all at once."""
    sent = [entry["installed_at"] for entry in software if entry["installed_at"] is not None]
    try:
        _INSTANTS.validate_python(sent)
    except ValidationError:
        return False
    return True


def _lean_reports(body: Any) -> list[tuple[ReportHead, Any]] | None:
    """The batch's reports by the lean path, or None if it refuses the batch."""
    try:
        batch = _LeanBatch.model_validate(body)
    except ValidationError:
        return None
    parsed: list[tuple[ReportHead, Any]] = []
    for report in batch.reports:
        if isinstance(report, _InventoryReport) and not _install_times_valid(report.data.software):
            return None
        parsed.append((report, report.data))
    return parsed


def parse_reports(body: Any) -> list[tuple[ReportHead, Any]]:
    """Every report of a batch with its typed data, or PayloadError for the first bad one.

    An inventory's data is an :class:`Inventory` or a :class:`LeanInventory` (read both
    through :func:`inventory_facts`); other kinds' data are their models."""
    lean = _lean_reports(body)
    if lean is not None:
        return lean
    batch = parse_model(Batch, body)
    parsed: list[tuple[ReportHead, Any]] = []
    for index, raw in enumerate(batch.reports):
        where = f"reports[{index}]"
        envelope = parse_model(Envelope, raw, where)
        data = parse_model(DATA_MODELS[envelope.kind], envelope.data, f"{where}.data")
        parsed.append((envelope, data))
    return parsed
