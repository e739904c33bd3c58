"""Writes on the inventory: enrolment, what agents report, assets recorded by hand, licences.

Agents write through :func:`ingest` only, and only their own asset: the asset comes from the
authenticated agent row, never from the payload. Reports are telemetry, not decisions: they
are kept as immutable snapshots and summaries, not as audit events; enrolment, revocations,
tokens and every change made by a person are audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Count, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.core.actors import SystemActor
from infogerance.core.db import from_row, select_list
from infogerance.core.fields import pack_json
from infogerance.core.services import service
from infogerance.core.snapshots import changed, snapshot
from infogerance.inventory import payload, report_kinds
from infogerance.inventory.models import (
    Agent,
    Asset,
    AssetComponent,
    AssetKind,
    AssetSource,
    ComponentKind,
    EnrollmentToken,
    InstalledSoftware,
    InventorySnapshot,
    Licence,
    Lifecycle,
    Ownership,
    PerformanceSummary,
)
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import OrganizationKind, Perm

TOKEN_PREFIX = "iget_"
CREDENTIAL_PREFIX = "iga_"
MAX_TOKEN_DAYS = 90
MAX_TOKEN_USES = 10_000
HEARTBEAT_SECONDS = 60
INVENTORY_SECONDS = 6 * 3600
# Facts that change between two inventories of an unchanged machine: left out of the hash
# that decides whether a new snapshot is kept.
VOLATILE = ("uptime_seconds", "boot_time", "notes")
VOLATILE_DISK = ("used_bytes", "free_bytes")
ASSET_FIELDS = (
    "name",
    "kind",
    "lifecycle",
    "ownership",
    "lease_item",
    "location",
    "notes",
    "hostname",
    "vendor",
    "model",
    "serial",
    "os_name",
    "os_version",
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _require(actor: Any, perm: Perm, organization: Organization) -> None:
    scope.require(actor, perm, organization)


def _client(organization: Organization) -> None:
    if organization.kind != OrganizationKind.CLIENT:
        raise ValidationError({"organization_id": [_("Choose a client organisation.")]})


# --- Enrolment tokens ------------------------------------------------------------------------


@service
def create_enrollment_token(
    *, actor: Any, client: Organization, label: str, days: int = 7, max_uses: int = 1
) -> tuple[EnrollmentToken, str]:
    """A token for enrolling agents on ``client``; returns the row and the secret, shown once."""
    _require(actor, Perm.MANAGE_AGENTS, client)
    _client(client)
    errors: dict[str, list[str]] = {}
    label = label.strip()
    if not label:
        errors["label"] = [_("This field is required.")]
    elif len(label) > 200:
        errors["label"] = [_("At most 200 characters.")]
    if not 1 <= days <= MAX_TOKEN_DAYS:
        errors["days"] = [_("Between 1 and %(max)d days.") % {"max": MAX_TOKEN_DAYS}]
    if not 1 <= max_uses <= MAX_TOKEN_USES:
        errors["max_uses"] = [_("Between 1 and %(max)d uses.") % {"max": MAX_TOKEN_USES}]
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = EnrollmentToken.objects.create(
        organization=client,
        label=label,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=_sha256(secret),
        expires_at=timezone.now() + dt.timedelta(days=days),
        max_uses=max_uses,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record(
        actor=actor,
        action="inventory.token_create",
        target=token,
        tenant=client.tenant,
        after=snapshot(token, ["label", "prefix", "expires_at", "max_uses"]),
    )
    return token, secret


@service
def revoke_enrollment_token(token: EnrollmentToken, *, actor: Any) -> EnrollmentToken:
    _require(actor, Perm.MANAGE_AGENTS, token.organization)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            actor=actor,
            action="inventory.token_revoke",
            target=token,
            tenant=token.organization.tenant,
        )
    return token


class EnrolmentRefused(Exception):
    """401: the enrolment token is unknown, expired, used up or revoked."""

    def __init__(self, reason: str, token: EnrollmentToken | None = None) -> None:
        self.reason = reason
        self.token = token
        super().__init__(reason)


@dataclass(frozen=True)
class Enrolled:
    agent: Agent
    credential: str


def _guess_kind(os_info: payload.OsInfo | None) -> str:
    if os_info is None:
        return AssetKind.OTHER
    if os_info.family == "windows" and "server" not in os_info.name.lower():
        return AssetKind.WORKSTATION
    return AssetKind.SERVER


def enroll(*, actor: Any, body: Any) -> Enrolled:
    """An agent presents an enrolment token: a new agent identity for the machine's asset.

    The machine's existing asset (same client, same machine id) is reused and its former
    agents revoked: a reinstalled agent continues the machine's history. A refusal for a
    known token is filed under its client, after the enrolment's transaction is undone."""
    request = payload.parse_model(payload.Enrolment, body)
    try:
        return _enroll(request, actor=actor)
    except EnrolmentRefused as refused:
        if refused.token is not None:
            _record_refusal(refused.token, refused.reason, request.hostname, actor=actor)
        raise


@service
def _record_refusal(token: EnrollmentToken, reason: str, hostname: str, *, actor: Any) -> None:
    record(
        actor=actor,
        action="inventory.enrol_refused",
        target=token,
        tenant=token.organization.tenant,
        after={"reason": reason, "hostname": hostname},
    )


@service
def _enroll(request: payload.Enrolment, *, actor: Any) -> Enrolled:
    token = (
        EnrollmentToken.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=_sha256(request.token.strip()))
        .first()
    )
    if token is None:
        raise EnrolmentRefused("unknown")
    state = token.state()
    if state != "active":
        raise EnrolmentRefused(state, token)
    client = token.organization
    token.uses += 1
    token.save(update_fields=["uses"])
    asset = None
    if request.machine_id:
        asset = (
            Asset.objects.filter(organization=client, machine_id=request.machine_id)
            .exclude(lifecycle=Lifecycle.RETIRED)
            .order_by("pk")
            .first()
        )
    created = asset is None
    if asset is None:
        asset = Asset.objects.create(
            organization=client,
            name=request.hostname,
            hostname=request.hostname,
            machine_id=request.machine_id,
            kind=_guess_kind(request.os),
            source=AssetSource.AGENT,
            os_family=request.os.family if request.os else "",
            os_name=request.os.name if request.os else "",
            os_version=request.os.version if request.os else "",
        )
    replaced: list[str] = []
    if not created:
        # The machine enrols again: its former agents stop speaking for it.
        former = Agent.objects.filter(asset=asset, revoked_at__isnull=True)
        replaced = [uid.hex for uid in former.values_list("uid", flat=True)]
        former.update(revoked_at=timezone.now())
    uid = uuid.uuid4()
    credential = f"{CREDENTIAL_PREFIX}{uid.hex}_{secrets.token_urlsafe(32)}"
    agent = Agent.objects.create(
        organization=client,
        uid=uid,
        asset=asset,
        credential_hash=_sha256(credential),
        enrolled_with=token,
        agent_version=request.agent_version,
        heartbeat_seconds=HEARTBEAT_SECONDS,
    )
    record(
        actor=actor,
        action="inventory.agent_enrolled",
        target=agent,
        tenant=client.tenant,
        after={
            "asset": asset.pk,
            "hostname": request.hostname,
            "token": token.prefix,
            "agent_version": request.agent_version,
            "replaced_agents": replaced,
        },
    )
    return Enrolled(agent, credential)


def authenticate_agent(credential: str) -> Agent | None:
    """The live agent holding ``credential``, or None (unknown or revoked).

    Every report pays for this lookup: one raw query (the ORM's query compiler costs several
    times the query itself), the organisation loaded only when asked for."""
    if not credential.startswith(CREDENTIAL_PREFIX) or len(credential) > 200:
        return None
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: every attribute of it is a lookup
    with db.cursor() as cursor:
        cursor.execute(_agent_sql(db.vendor)["auth"], [_sha256(credential)])
        row = cursor.fetchone()
    return None if row is None else from_row(Agent, row)


@dataclass
class AgentCredential:
    """An agent's credential, looked up only when needed: a batch of one new heartbeat is
    stored by the one statement that also checks the credential (:func:`ingest`); anything
    else looks the agent up first, with :meth:`agent`."""

    credential: str
    _agent: Agent | None = field(default=None, init=False, repr=False)

    def agent(self) -> Agent:
        """The live agent holding the credential; PermissionDenied (401) if none does."""
        if self._agent is None:
            self._agent = authenticate_agent(self.credential)
            if self._agent is None:
                raise PermissionDenied("unknown or revoked agent credential")
        return self._agent


@functools.cache
def _agent_sql(vendor: str) -> dict[str, str]:
    """The raw statements on the agent's row for this kind of database (built from the
    model's quoted names only: every value is a parameter)."""
    db = connections[DEFAULT_DB_ALIAS]
    quote, table = db.ops.quote_name, db.ops.quote_name(Agent._meta.db_table)
    lock = (
        f"SELECT {quote('last_sequence')}, {quote('revoked_at')} IS NOT NULL"  # noqa: S608
        f" FROM {table} WHERE {quote('id')} = %s"
    )
    sql = {
        "auth": (
            f"SELECT {select_list(Agent, table)} FROM {table}"  # noqa: S608
            f" WHERE {quote('credential_hash')} = %s AND {quote('revoked_at')} IS NULL"
        ),
        "lock": lock + (" FOR UPDATE" if db.features.has_select_for_update else ""),
        # The same, with the digests of the agent's asset's latest inventory.
        "lock_asset": (
            f"SELECT a.{quote('last_sequence')}, a.{quote('revoked_at')} IS NOT NULL,"  # noqa: S608
            f" s.{quote('inventory_sha256')}, s.{quote('software_sha256')}"
            f" FROM {table} a JOIN {quote(Asset._meta.db_table)} s"
            f" ON s.{quote('id')} = a.{quote('asset_id')} WHERE a.{quote('id')} = %s"
            + (
                " FOR UPDATE OF a"
                if db.features.has_select_for_update_of
                else " FOR UPDATE"
                if db.features.has_select_for_update
                else ""
            )
        ),
        "update": f"UPDATE {table} SET {{}}, {quote('reports_stored')} = "  # noqa: S608
        f"{quote('reports_stored')} + %s WHERE {quote('id')} = %s",
        "heartbeat": f"UPDATE {table} SET {{}}, {quote('reports_stored')} = "  # noqa: S608
        f"{quote('reports_stored')} + 1 WHERE {quote('id')} = %s"
        f" AND {quote('revoked_at')} IS NULL AND {quote('last_sequence')} < %s",
        "heartbeat_by_credential": f"UPDATE {table} SET {{}}, {quote('reports_stored')} = "  # noqa: S608
        f"{quote('reports_stored')} + 1 WHERE {quote('credential_hash')} = %s"
        f" AND {quote('revoked_at')} IS NULL AND {quote('last_sequence')} < %s",
    }
    return sql


@service
def revoke_agent(agent: Agent, *, actor: Any) -> Agent:
    _require(actor, Perm.MANAGE_AGENTS, agent.organization)
    if agent.revoked_at is None:
        agent.revoked_at = timezone.now()
        agent.save(update_fields=["revoked_at"])
        record(
            actor=actor,
            action="inventory.agent_revoke",
            target=agent,
            tenant=agent.organization.tenant,
        )
    return agent


# --- Reports ---------------------------------------------------------------------------------


def stable_digest(data: dict[str, Any]) -> str:
    """The hash of an inventory's stable facts (what a new snapshot is kept for)."""
    return hashlib.sha256(_json_with_software(_stable(data), None, sort=True)).hexdigest()


def _stable(data: dict[str, Any]) -> dict[str, Any]:
    stable = {k: v for k, v in data.items() if k not in VOLATILE}
    stable["disks"] = [
        {k: v for k, v in disk.items() if k not in VOLATILE_DISK} for disk in data.get("disks", [])
    ]
    return stable


# The software list is the bulk of an inventory (1,500 packages are 90 % of its JSON): it is
# serialised once, keys sorted, for its own digest, and that text is put in place of a marker
# in the other texts made of the inventory (the stable facts' digest, the snapshot), which are
# the texts orjson would have made of them, keys sorted.
_SOFTWARE_MARK = f"software-{secrets.token_hex(16)}"


def _json_with_software(value: dict[str, Any], software_json: bytes | None, *, sort: bool) -> bytes:
    """``value`` as JSON (keys sorted if ``sort``), its ``software`` given as ``software_json``
    (the list serialised with its keys sorted) when it is not None."""
    option = orjson.OPT_SORT_KEYS if sort else 0
    if software_json is None or "software" not in value:
        return orjson.dumps(value, option=option)
    text = orjson.dumps({**value, "software": _SOFTWARE_MARK}, option=option)
    return text.replace(orjson.dumps(_SOFTWARE_MARK), software_json, 1)


@dataclass
class _AssetDigests:
    """What an inventory is compared with: the digests of the asset's latest one."""

    asset_id: int
    inventory_sha256: str
    software_sha256: str


_SOFTWARE_COLUMNS = ("asset_id", "source", "name", "version", "publisher", "installed_at")
_SOFTWARE_FIELDS = operator.itemgetter("source", "name", "version", "publisher", "installed_at")
_INSTALLED_AT = operator.itemgetter("installed_at")
_COPY_NULL = "\\N"
# A stored row as the text it is compared by: its values joined by a separator that no
# compared inventory holds (see _software_rows_postgresql), the install time in UTC as the
# agent writes it (2026-10-01T10:00:00Z, from PostgreSQL's ISO output), '' for none. Texts
# that differ for the same values (another DateStyle) would only cost rows written again.
_STORED_KEY_SQL = (
    "concat_ws(E'\\x1f', source, name, version, publisher,"
    " coalesce(replace((installed_at AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z', ''))"
)


def _stored_time(text: str) -> str:
    """An install time of an inventory written as :data:`_STORED_KEY_SQL` writes it."""
    moment = dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return f"{moment.date().isoformat()}T{moment.strftime('%H:%M:%S')}{fraction}Z"


def _software_keys(software: list[dict[str, Any]]) -> list[str]:
    """The inventory's packages as the text :data:`_STORED_KEY_SQL` makes of a row."""
    dated = [at for at in map(_INSTALLED_AT, software) if at is not None]
    joined = "".join(dated)
    if set(map(len, dated)) <= {20} and joined[19::20] == "Z" * len(dated):
        # The form the agent sends (the only one of the lean path): UTC, to the second.
        return [
            f"{s}\x1f{n}\x1f{v}\x1f{p}\x1f{at or ''}"
            for s, n, v, p, at in map(_SOFTWARE_FIELDS, software)
        ]
    return [
        f"{s}\x1f{n}\x1f{v}\x1f{p}\x1f{'' if at is None else _stored_time(at)}"
        for s, n, v, p, at in map(_SOFTWARE_FIELDS, software)
    ]


def _differences(keys: list[Any], stored: list[tuple[Any, Any]]) -> tuple[list[Any], list[int]]:
    """The stored rows to delete (their ids) and the packages to add (their places in
    ``keys``), ``stored`` being ``(key, id)`` pairs: a row is kept for every package still
    listed, as many times as it is listed."""
    by_key = dict(stored)
    if len(by_key) == len(stored):
        wanted = set(keys)
        if len(wanted) == len(keys):  # no key twice on either side: sets will do
            stale = [by_key[key] for key in by_key.keys() - wanted]
            return stale, [i for i, key in enumerate(keys) if key not in by_key]
    left = Counter(keys)
    stale = []
    for key, pk in stored:
        if left.get(key, 0) > 0:
            left[key] -= 1
        else:
            stale.append(pk)
    new = []
    for i, key in enumerate(keys):
        if left.get(key, 0) > 0:
            left[key] -= 1
            new.append(i)
    return stale, new


def _software_rows(asset_id: int, software: list[dict[str, Any]], software_json: bytes) -> None:
    """Bring the asset's software rows to ``software`` (an inventory's packages as JSON
    values, ``software_json`` their text): only the differences are written."""
    if connection.vendor == "postgresql":
        _software_rows_postgresql(asset_id, software, software_json)
        return
    keys = [
        (s, n, v, p, None if at is None else dt.datetime.fromisoformat(at))
        for s, n, v, p, at in map(_SOFTWARE_FIELDS, software)
    ]
    stored = [
        ((source, name, version, publisher, installed_at), pk)
        for source, name, version, publisher, installed_at, pk in InstalledSoftware.objects.filter(
            asset_id=asset_id
        ).values_list("source", "name", "version", "publisher", "installed_at", "pk")
    ]
    stale, new = _differences(keys, stored)
    if stale:
        InstalledSoftware.objects.filter(pk__in=stale).delete()
    InstalledSoftware.objects.bulk_create(
        [
            InstalledSoftware(
                asset_id=asset_id,
                source=keys[i][0],
                name=keys[i][1],
                version=keys[i][2],
                publisher=keys[i][3],
                installed_at=keys[i][4],
            )
            for i in new
        ],
        batch_size=2000,
    )


def _software_rows_postgresql(
    asset_id: int, software: list[dict[str, Any]], software_json: bytes
) -> None:
    """:func:`_software_rows` on PostgreSQL, where an inventory of 1,500 packages must cost
    little: the stored rows are read as one text each (:data:`_STORED_KEY_SQL`) and compared
    with the inventory's as sets of text; new rows are written with one COPY."""
    table = connection.ops.quote_name(InstalledSoftware._meta.db_table)
    with connection.cursor() as cursor:
        if b"\\u001f" in software_json:
            # A value holds the separator of the compared texts: the rows are written again.
            cursor.execute(f"DELETE FROM {table} WHERE asset_id = %s", [asset_id])  # noqa: S608
            new: list[int] | range = range(len(software))
        else:
            cursor.execute(
                f"SELECT {_STORED_KEY_SQL}, id FROM {table} WHERE asset_id = %s",  # noqa: S608
                [asset_id],
            )
            stored = cursor.fetchall()
            if stored:
                stale, new = _differences(_software_keys(software), stored)
                if stale:
                    cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [stale])  # noqa: S608
            else:  # the machine's first inventory: every package is new
                new = range(len(software))
        if not new:
            return
        rows = (
            list(map(_SOFTWARE_FIELDS, software))
            if len(new) == len(software)
            else [_SOFTWARE_FIELDS(software[i]) for i in new]
        )
        text = "".join(
            [f"{asset_id}\t{s}\t{n}\t{v}\t{p}\t{at or _COPY_NULL}\n" for s, n, v, p, at in rows]
        )
        columns = ", ".join(_SOFTWARE_COLUMNS)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            if (
                "\\" in text
                or "\r" in text
                or text.count("\t") != 5 * len(rows)
                or text.count("\n") != len(rows)
            ):
                # A value holds what COPY's text format escapes: psycopg escapes each value.
                for row in rows:
                    copy.write_row((asset_id, *row))
            else:
                copy.write(text)


def _components(asset_id: int, data: dict[str, Any]) -> None:
    """The asset's processor, disks and interfaces, written again: two statements (one on
    PostgreSQL), whatever their number."""
    rows: list[tuple[str, str, int | None, int | None, dict[str, Any]]] = []
    cpu = (data.get("hardware") or {}).get("cpu")
    if cpu:
        rows.append((ComponentKind.CPU, cpu.get("model") or "cpu", None, None, cpu))
    for disk in data.get("disks", []):
        details = {k: disk.get(k) for k in ("device", "fstype", "free_bytes")}
        rows.append(
            (
                ComponentKind.DISK,
                disk["mountpoint"],
                disk["total_bytes"],
                disk["used_bytes"],
                details,
            )
        )
    for interface in data.get("interfaces", []):
        details = {k: interface.get(k) for k in ("mac", "up", "speed_mbps", "addresses")}
        rows.append((ComponentKind.INTERFACE, interface["name"], None, None, details))
    sql = _inventory_sql(connection.vendor)
    delete = sql["components_delete"]
    params: list[Any] = [asset_id]
    if not rows:
        with connection.cursor() as cursor:
            cursor.execute(delete, params)
        return
    values = ", ".join([sql["components_row"]] * len(rows))
    for kind, name, capacity, used, details in rows:
        params += [asset_id, str(kind), name, capacity, used, orjson.dumps(details).decode()]
    insert = sql["components_insert"] + values
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH gone AS ({delete}) {insert}", params)
        else:
            cursor.execute(delete, params[:1])
            cursor.execute(insert, params[1:])


@functools.cache
def _inventory_sql(vendor: str) -> dict[str, str]:
    """The raw statements of inventories and performance summaries for this kind of
    database (built from the models' quoted names only: every value is a parameter)."""
    quote = connection.ops.quote_name
    components = quote(AssetComponent._meta.db_table)
    snapshots = quote(InventorySnapshot._meta.db_table)
    performance = quote(PerformanceSummary._meta.db_table)
    assets = quote(Asset._meta.db_table)
    json = "%s::jsonb" if vendor == "postgresql" else "%s"
    reported = ", ".join(f"{quote(name)} = %s" for name in _REPORTED)
    return {
        "components_delete": f"DELETE FROM {components} WHERE asset_id = %s",  # noqa: S608
        "components_insert": f"INSERT INTO {components}"  # noqa: S608
        " (asset_id, kind, name, capacity_bytes, used_bytes, details) VALUES ",
        "components_row": f"(%s, %s, %s, %s, %s, {json})",
        # A report id stored before (by an earlier agent of the machine, whose spool still
        # held the report when it enrolled again) inserts nothing: the report is a duplicate.
        "performance": f"INSERT INTO {performance} ({', '.join(_PERFORMANCE_COLUMNS)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * (len(_PERFORMANCE_COLUMNS) - 1))}, {json})"
        " ON CONFLICT (report_id) DO NOTHING",
        "snapshot": f"INSERT INTO {snapshots} (asset_id, agent_id, report_id, sequence,"  # noqa: S608
        " collected_at, received_at, sha256, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (report_id) DO NOTHING",
        # The reported facts; the machine id and the serial number stay when the inventory
        # has none; the latest inventory's time never goes back.
        "asset": f"UPDATE {assets} SET {reported},"  # noqa: S608
        " machine_id = COALESCE(NULLIF(%s, ''), machine_id),"
        " serial = COALESCE(NULLIF(%s, ''), serial),"
        " last_inventory_at = CASE WHEN last_inventory_at IS NULL OR last_inventory_at <= %s"
        " THEN %s ELSE last_inventory_at END{} WHERE id = %s",
    }


# The asset's columns an inventory sets (besides machine_id, serial and last_inventory_at).
_REPORTED = (
    "hostname",
    "fqdn",
    "os_family",
    "os_id",
    "os_name",
    "os_version",
    "kernel",
    "arch",
    "vendor",
    "model",
    "cpu_model",
    "cpu_cores",
    "memory_bytes",
    "disk_free_ratio",
    "pending_updates",
    "security_updates",
    "inventory_sha256",
    "software_sha256",
    "updated_at",
)


def _cursor_binding_apart() -> Any:
    """A cursor whose parameters travel apart from the statement on PostgreSQL (server-side
    binding), in Django's wrapper (its errors, its query log). Django's cursors quote every
    value into the statement: a snapshot's compressed bytes would travel as escaped text,
    twice their size, instead of as they are."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw: Any = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


def _apply_inventory(
    agent: Agent,
    asset: _AssetDigests,
    envelope: payload.ReportHead,
    facts: dict[str, Any],
    now: dt.datetime,
) -> bool:
    """Store an inventory (``facts``: its JSON values) on the agent's asset: a snapshot if
    its stable facts changed, the software rows if its packages did, the components and the
    asset's reported columns always. False, and nothing written, when its report id is a
    stored snapshot's (a report of an earlier agent of the machine, sent again)."""
    adapt = connection.ops.adapt_datetimefield_value
    software = facts["software"]
    software_json = orjson.dumps(software, option=orjson.OPT_SORT_KEYS)
    stable = _json_with_software(_stable(facts), software_json, sort=True)
    digest = hashlib.sha256(stable).hexdigest()
    sql = _inventory_sql(connection.vendor)
    if digest != asset.inventory_sha256:
        report_id = InventorySnapshot._meta.get_field("report_id").get_db_prep_value(
            envelope.report_id, connection
        )
        with _cursor_binding_apart() as cursor:
            cursor.execute(
                sql["snapshot"],
                [
                    asset.asset_id,
                    agent.pk,
                    report_id,
                    envelope.sequence,
                    adapt(envelope.collected_at),
                    adapt(now),
                    digest,
                    pack_json(_json_with_software(facts, software_json, sort=False)),
                ],
            )
            if cursor.rowcount == 0:
                return False
        asset.inventory_sha256 = digest
    software_digest = hashlib.sha256(software_json).hexdigest()
    count_sql = ""
    if software_digest != asset.software_sha256:
        _software_rows(asset.asset_id, software, software_json)
        asset.software_sha256 = software_digest
        count_sql = ", software_count = %s"
    _components(asset.asset_id, facts)
    os_info = facts["os"]
    hardware = facts["hardware"] or {}
    cpu = hardware.get("cpu") or {}
    updates = facts["updates"]
    disks = [d for d in facts["disks"] if d["total_bytes"] > 0]
    reported = [
        facts["hostname"],
        facts["fqdn"],
        os_info["family"],
        os_info["id"],
        os_info["name"],
        os_info["version_id"] or os_info["version"],
        os_info["kernel"],
        os_info["arch"],
        hardware.get("vendor", ""),
        hardware.get("model", ""),
        cpu.get("model", ""),
        cpu.get("cores"),
        hardware.get("memory_bytes"),
        min((d["free_bytes"] / d["total_bytes"] for d in disks), default=None),
        updates["count"] if updates else None,
        updates["security_count"] if updates else None,
        asset.inventory_sha256,
        asset.software_sha256,
        adapt(now),
    ]
    collected_at = adapt(envelope.collected_at)
    params = [
        *reported,
        facts["machine_id"],
        hardware.get("serial", ""),
        collected_at,
        collected_at,
    ]
    if count_sql:
        params.append(len(software))
    with connection.cursor() as cursor:
        cursor.execute(sql["asset"].format(count_sql), [*params, asset.asset_id])
    return True


_PERFORMANCE_COLUMNS = (
    "asset_id",
    "agent_id",
    "report_id",
    "window_start",
    "window_end",
    "samples",
    "cpu_mean",
    "cpu_p95",
    "cpu_max",
    "memory_mean",
    "memory_p95",
    "memory_max",
    "data",
)


def _apply_performance(
    agent: Agent, envelope: payload.ReportHead, data: payload.Performance
) -> bool:
    """Store a performance summary; False if its report id is stored already."""
    cpu, memory = data.cpu_percent, data.memory_percent
    adapt = connection.ops.adapt_datetimefield_value
    report_id = PerformanceSummary._meta.get_field("report_id").get_db_prep_value(
        envelope.report_id, connection
    )
    values = [
        agent.asset_id,
        agent.pk,
        report_id,
        adapt(data.window_start),
        adapt(data.window_end),
        data.samples,
        cpu.mean if cpu else None,
        cpu.p95 if cpu else None,
        cpu.max if cpu else None,
        memory.mean if memory else None,
        memory.p95 if memory else None,
        memory.max if memory else None,
        orjson.dumps(data.model_dump(mode="json")).decode(),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_inventory_sql(connection.vendor)["performance"], values)
        return bool(cursor.rowcount)


def ingest(agent: Agent | AgentCredential, body: Any, *, actor: Any) -> list[tuple[str, str]]:
    """Store a batch of reports from ``agent``: all of them, or none (PayloadError).

    Returns ``(report_id, "stored" | "duplicate")`` in the order sent. A report at or below
    the agent's highest stored sequence was stored before (its answer was lost): it is
    acknowledged and not stored again; so is an inventory snapshot or performance summary
    whose report id is stored (reports of an earlier agent of the machine, sent again by its
    spool after the machine enrolled again). Kinds that another app owns (backup runs, restore
    drills) go to the handler it registered (:mod:`infogerance.inventory.report_kinds`),
    which may also answer ``duplicate`` for a fact recorded before under its own id.

    A batch of one new heartbeat, the most common by far, is one query, its own transaction
    (committed without waiting for the disk: :data:`ASYNC_COMMIT`), which also checks the
    credential when ``agent`` is one not looked up yet;
    every other batch is stored by :func:`_store`, in one transaction. An unknown or revoked
    credential is refused (PermissionDenied) before anything about the batch is."""
    try:
        reports = payload.parse_reports(body)
    except payload.PayloadError:
        if isinstance(agent, AgentCredential):
            agent.agent()
        raise
    if len(reports) == 1 and reports[0][0].kind == "heartbeat":
        envelope, heartbeat_data = reports[0]
        if _store_lone_heartbeat(agent, envelope, heartbeat_data):
            return [(str(envelope.report_id), "stored")]
        # Not stored: a replay, or an unknown or revoked agent, which the general path tells
        # apart.
    if isinstance(agent, AgentCredential):
        agent = agent.agent()
    return _store(agent, reports, actor=actor)


@service
def _store(
    agent: Agent, reports: list[tuple[payload.ReportHead, Any]], *, actor: Any
) -> list[tuple[str, str]]:
    """:func:`ingest`'s general path: the agent's row locked, each new report stored, the row
    updated, in one transaction."""
    with_asset = any(envelope.kind == "inventory" for envelope, _data in reports)
    last_sequence, revoked, asset = _lock_agent(agent.pk, agent.asset_id, with_asset=with_asset)
    if revoked:
        raise PermissionDenied("revoked agent")
    now = timezone.now()
    results = []
    heartbeat: payload.Heartbeat | None = None
    agent_version: str | None = None
    stored = 0
    for index, (envelope, data) in enumerate(reports):
        if envelope.sequence <= last_sequence:
            results.append((str(envelope.report_id), "duplicate"))
            continue
        last_sequence = envelope.sequence
        outcome = "stored"
        if envelope.kind == "heartbeat":
            heartbeat = data
        elif envelope.kind == "inventory":
            assert asset is not None
            facts = payload.inventory_facts(data)
            if not _apply_inventory(agent, asset, envelope, facts, now):
                outcome = "duplicate"
        elif envelope.kind == "performance":
            if not _apply_performance(agent, envelope, data):
                outcome = "duplicate"
        else:
            outcome = _hand_over(agent, envelope, data, index)
        if outcome == "stored":
            stored += 1
        if envelope.agent_version:
            agent_version = envelope.agent_version
        results.append((str(envelope.report_id), outcome))
    changes: dict[str, Any] = {
        "last_seen_at": connection.ops.adapt_datetimefield_value(now),
        "last_sequence": last_sequence,
    }
    if agent_version is not None:
        changes["agent_version"] = agent_version
    if heartbeat is not None:
        changes["uptime_seconds"] = heartbeat.uptime_seconds
        changes["cpu_percent"] = heartbeat.cpu_percent
        changes["memory_percent"] = heartbeat.memory_percent
    _update_agent(agent.pk, changes, stored)
    return results


def _hand_over(agent: Agent, envelope: payload.ReportHead, data: Any, index: int) -> str:
    """A report of a kind another app stores, to the handler that app registered."""
    handler = report_kinds.handler_for(envelope.kind)
    if handler is None:
        raise payload.PayloadError(
            {f"reports[{index}].kind": [f"this server does not store {envelope.kind} reports"]}
        )
    return handler(report_kinds.AgentReport(agent, envelope, data, index))


def _heartbeat_changes(
    db: Any, now: dt.datetime, envelope: payload.ReportHead, heartbeat: payload.Heartbeat
) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "last_seen_at": db.ops.adapt_datetimefield_value(now),
        "last_sequence": envelope.sequence,
    }
    if envelope.agent_version:
        changes["agent_version"] = envelope.agent_version
    changes["uptime_seconds"] = heartbeat.uptime_seconds
    changes["cpu_percent"] = heartbeat.cpu_percent
    changes["memory_percent"] = heartbeat.memory_percent
    return changes


@functools.cache
def _agent_update_sql(vendor: str, statement: str, columns: tuple[str, ...]) -> str:
    """:func:`_agent_sql`'s ``statement``, setting ``columns``."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return _agent_sql(vendor)[statement].format(", ".join(f"{quote(c)} = %s" for c in columns))


#: A lone heartbeat is committed asynchronously on PostgreSQL: it is acknowledged without
#: waiting for the disk to have its WAL, which PostgreSQL writes within a fraction of a second
#: (3 × ``wal_writer_delay`` at most). A crash of the database in that window loses the last
#: heartbeats, never anything else: a heartbeat only says the agent was alive (its next one,
#: a minute later, says it again), the one kind of report the agent itself drops first when
#: its queue is full. Every other report is on disk before it is acknowledged. Waiting for
#: the disk made heartbeats wait on each other's flushes: 772–880 → 1,046–1,166 per second
#: through ``serve --workers 2`` (docs/benchmarks.md).
ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF; "


def _store_lone_heartbeat(
    agent: Agent | AgentCredential, envelope: payload.ReportHead, heartbeat: payload.Heartbeat
) -> bool:
    """A batch of one new heartbeat, stored with one statement: the agent's row (found by its
    id, or by its credential when it was not looked up) is updated only if the agent is live
    and the sequence is above its last, which the row's lock makes a check and a write at
    once (and, out of a transaction, a transaction of its own). False (nothing written) for
    a replay or an unknown or revoked agent: :func:`ingest`'s general path answers them."""
    db = connections[DEFAULT_DB_ALIAS]
    holder: int | str
    if isinstance(agent, AgentCredential):
        if not agent.credential.startswith(CREDENTIAL_PREFIX) or len(agent.credential) > 200:
            return False
        statement, holder = "heartbeat_by_credential", _sha256(agent.credential)
    else:
        statement, holder = "heartbeat", agent.pk
    changes = _heartbeat_changes(db, timezone.now(), envelope, heartbeat)
    sql = _agent_update_sql(db.vendor, statement, tuple(changes))
    params = [*changes.values(), holder, envelope.sequence]
    with db.cursor() as cursor:
        if db.vendor == "postgresql" and db.get_autocommit():
            # Sent as one query, the two statements are one transaction, which commits
            # without waiting for its WAL to reach the disk (ASYNC_COMMIT).
            cursor.execute(ASYNC_COMMIT + sql, params)
            cursor.nextset()
        else:
            cursor.execute(sql, params)
        return bool(cursor.rowcount == 1)


# The agent's row is read and written with raw statements (:func:`_agent_sql`): a heartbeat
# is little more than these two, and the ORM's query compiler would cost several times their
# execution.


def _lock_agent(
    agent_id: int, asset_id: int, *, with_asset: bool
) -> tuple[int, bool, _AssetDigests | None]:
    """The agent's highest stored sequence, whether it is revoked and, ``with_asset``, the
    digests of its asset's latest inventory; the agent's row locked until the transaction
    ends (so that two deliveries of one agent are stored one after the other)."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_agent_sql(db.vendor)["lock_asset" if with_asset else "lock"], [agent_id])
        row = cursor.fetchone()
    if row is None:
        raise PermissionDenied("unknown agent")
    asset = _AssetDigests(asset_id, row[2], row[3]) if with_asset else None
    return int(row[0]), bool(row[1]), asset


def _update_agent(agent_id: int, changes: dict[str, Any], stored: int) -> None:
    db = connections[DEFAULT_DB_ALIAS]
    sql = _agent_update_sql(db.vendor, "update", tuple(changes))
    with db.cursor() as cursor:
        cursor.execute(sql, [*changes.values(), stored, agent_id])


AGENT_ACTOR = SystemActor("agent")


# --- Assets recorded by hand and licences ----------------------------------------------------


def _lease_items(client: Organization) -> set[str]:
    """Items of the rentals of the client's contracts (any version)."""
    from infogerance.contracts.models import ContractVersion

    items = set()
    for version in ContractVersion.objects.filter(contract__organization=client):
        for rental in version.parsed().rentals:
            items.add(rental.item)
    return items


def _clean_asset_fields(client: Organization, fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    unknown = set(fields) - set(ASSET_FIELDS)
    for name in sorted(unknown):
        errors[name] = [_("Unknown field.")]
    choices = {
        "kind": AssetKind.values,
        "lifecycle": Lifecycle.values,
        "ownership": Ownership.values,
    }
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if name in unknown:
            continue
        value = (value or "").strip() if isinstance(value, str) or value is None else value
        if not isinstance(value, str):
            errors[name] = [_("Text is expected.")]
            continue
        limit = getattr(Asset._meta.get_field(name), "max_length", None)
        if limit and len(value) > limit:
            errors[name] = [_("At most %(max)d characters.") % {"max": limit}]
        elif name in choices and value not in choices[name]:
            errors[name] = [_("Choose one of: %(values)s.") % {"values": ", ".join(choices[name])}]
        clean[name] = value
    if "name" in clean and not clean["name"]:
        errors["name"] = [_("This field is required.")]
    if clean.get("lease_item") and clean["lease_item"] not in _lease_items(client):
        errors["lease_item"] = [_("No rental of the client's contracts has this item.")]
    if errors:
        raise ValidationError(errors)
    return clean


@service
def create_asset(*, actor: Any, client: Organization, fields: dict[str, Any]) -> Asset:
    """An asset recorded by hand (network gear, printers, leased items…)."""
    _require(actor, Perm.MANAGE_INVENTORY, client)
    _client(client)
    if "name" not in fields or "kind" not in fields:
        missing = [name for name in ("name", "kind") if name not in fields]
        raise ValidationError({name: [_("This field is required.")] for name in missing})
    clean = _clean_asset_fields(client, fields)
    asset = Asset.objects.create(organization=client, source=AssetSource.MANUAL, **clean)
    record(
        actor=actor,
        action="inventory.asset_create",
        target=asset,
        tenant=client.tenant,
        after=snapshot(asset, ASSET_FIELDS),
    )
    return asset


@service
def update_asset(
    asset: Asset, *, actor: Any, fields: dict[str, Any], expected_version: int | None = None
) -> Asset:
    """Change an asset's descriptive fields (an agent's asset keeps its reported facts)."""
    asset = Asset.objects.select_for_update().select_related("organization").get(pk=asset.pk)
    _require(actor, Perm.MANAGE_INVENTORY, asset.organization)
    if expected_version is not None and expected_version != asset.version:
        raise ValidationError(
            {
                "version": [
                    _("This asset changed meanwhile (version %(now)d, not %(seen)d): reload it.")
                    % {"now": asset.version, "seen": expected_version}
                ]
            }
        )
    if asset.source == AssetSource.AGENT:
        reported = set(fields) & {"hostname", "vendor", "model", "serial", "os_name", "os_version"}
        if reported:
            raise ValidationError(
                {
                    name: [_("Reported by the agent: it cannot be changed by hand.")]
                    for name in sorted(reported)
                }
            )
    clean = _clean_asset_fields(asset.organization, fields)
    before = snapshot(asset, ASSET_FIELDS)
    for name, value in clean.items():
        setattr(asset, name, value)
    old, new = changed(before, snapshot(asset, ASSET_FIELDS))
    if new:
        asset.version += 1
        asset.save()
        record(
            actor=actor,
            action="inventory.asset_update",
            target=asset,
            tenant=asset.organization.tenant,
            before=old,
            after=new,
        )
    return asset


@service
def save_licence(
    *,
    actor: Any,
    client: Organization,
    product: str,
    software_name: str,
    owned: int,
    notes: str = "",
    licence: Licence | None = None,
) -> Licence:
    """Record (or change) the licences a client owns for a product."""
    _require(actor, Perm.MANAGE_INVENTORY, client)
    _client(client)
    errors: dict[str, list[str]] = {}
    product, software_name = product.strip(), software_name.strip()
    if not product:
        errors["product"] = [_("This field is required.")]
    if not software_name:
        errors["software_name"] = [_("This field is required.")]
    if len(product) > 255 or len(software_name) > 255:
        errors.setdefault("product", []).append(_("At most %(max)d characters.") % {"max": 255})
    if not 0 <= owned <= 10_000_000:
        errors["owned"] = [_("Between 0 and 10,000,000.")]
    if errors:
        raise ValidationError(errors)
    before = snapshot(licence) if licence else {}
    licence = licence or Licence(organization=client)
    licence.product, licence.software_name, licence.owned = product, software_name, owned
    licence.notes = notes.strip()
    licence.save()
    record(
        actor=actor,
        action="inventory.licence_save",
        target=licence,
        tenant=client.tenant,
        before=before or None,
        after=snapshot(licence, ["product", "software_name", "owned", "notes"]),
    )
    return licence


# --- Reads -----------------------------------------------------------------------------------


def visible_assets(user: Any) -> QuerySet[Asset]:
    return scope.visible(Asset, user, Perm.VIEW_INVENTORY).select_related("organization")


def licence_usage(licences: Iterable[Licence]) -> dict[int, int]:
    """Installations found per licence: in-service assets of the licence's client with a
    software of that name (case-insensitive), each asset counted once. One query for all."""
    licences = list(licences)
    if not licences:
        return {}
    found = {
        (row["asset__organization_id"], row["lname"]): row["n"]
        for row in InstalledSoftware.objects.annotate(lname=Lower("name"))
        .filter(
            asset__organization_id__in={lic.organization_id for lic in licences},
            asset__lifecycle=Lifecycle.IN_SERVICE,
            lname__in={lic.software_name.lower() for lic in licences},
        )
        .values("asset__organization_id", "lname")
        .annotate(n=Count("asset_id", distinct=True))
    }
    return {
        lic.pk: found.get((lic.organization_id, lic.software_name.lower()), 0) for lic in licences
    }
