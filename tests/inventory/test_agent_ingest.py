"""How reports are stored cheaply, and that it changes nothing: the lean validation path, the
software digest that skips the rows, the rows compared as text, the heartbeat's one
statement. Both databases."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infogerance.inventory import payload, services
from infogerance.inventory.models import (
    Agent,
    Asset,
    AssetComponent,
    InstalledSoftware,
    InventorySnapshot,
    PerformanceSummary,
)
from tests.inventory import factory
from tests.inventory.test_agent_api import REPORTS, enrol, post

# --- The lean path: the same values as the full models, or the full models' verdict --------


def full_facts(data: dict[str, Any]) -> dict[str, Any]:
    """What the full models make of an inventory, as before the lean path."""
    dumped: dict[str, Any] = payload.Inventory.model_validate(data).model_dump(mode="json")
    return dumped


def old_stable_digest(facts: dict[str, Any]) -> str:
    """The stable digest as it was computed before (kept: an asset's stored digest must
    still match an unchanged machine)."""
    stable = {k: v for k, v in facts.items() if k not in services.VOLATILE}
    stable["disks"] = [
        {k: v for k, v in d.items() if k not in services.VOLATILE_DISK}
        for d in facts.get("disks", [])
    ]
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()


def parse_one(data: dict[str, Any], kind: str = "inventory") -> tuple[Any, Any]:
    [(envelope, parsed)] = payload.parse_reports({"reports": [factory.report(kind, 1, data)]})
    return envelope, parsed


text = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00", exclude_categories=("Cs",)),
    max_size=12,
)
install_times = st.one_of(
    st.none(),
    st.just("2026-10-01T10:00:00Z"),  # as the agent sends them
    st.just("2026-10-01T12:00:00+02:00"),
    st.just("2026-10-01T10:00:00.250Z"),
    st.just("2026-10-01 10:00:00Z"),
    st.just("0999-01-01T00:00:00Z"),
    st.integers(min_value=0, max_value=2**31),  # a Unix time: the full models take it
)
packages = st.lists(
    st.fixed_dictionaries(
        {"name": text.filter(bool), "source": st.sampled_from(["dpkg", "rpm", "python"])},
        optional={
            "version": text,
            "publisher": text,
            "installed_at": install_times,
            "unknown": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        },
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(software=packages)
def test_the_lean_path_gives_the_full_models_values(software: list[dict[str, Any]]) -> None:
    data = factory.inventory(software=0)
    data["software"] = software
    _envelope, parsed = parse_one(orjson.loads(orjson.dumps(data)))
    facts = payload.inventory_facts(parsed)
    expected = full_facts(data)
    assert facts == expected and list(facts) == list(expected)
    assert [list(item) for item in facts["software"]] == [
        list(item) for item in expected["software"]
    ]
    assert services.stable_digest(facts) == old_stable_digest(expected)
    software_json = orjson.dumps(facts["software"], option=orjson.OPT_SORT_KEYS)
    spliced = services._json_with_software(services._stable(facts), software_json, sort=True)
    assert hashlib.sha256(spliced).hexdigest() == old_stable_digest(expected)
    snapshot = services._json_with_software(facts, software_json, sort=False)
    assert orjson.loads(snapshot) == expected


def test_the_lean_path_takes_what_the_agent_sends_and_leaves_the_rest() -> None:
    agent_form = factory.inventory(software=2)
    agent_form["software"][0]["installed_at"] = "2026-10-01T10:00:00Z"
    assert isinstance(parse_one(agent_form)[1], payload.LeanInventory)
    offset = factory.inventory(software=2)
    offset["software"][1]["installed_at"] = "2026-10-01T12:00:00+02:00"
    assert isinstance(parse_one(offset)[1], payload.Inventory)  # the full models take it
    heartbeat_envelope, beat = parse_one({"uptime_seconds": 5}, "heartbeat")
    assert isinstance(heartbeat_envelope, payload.ReportHead) and beat.uptime_seconds == 5


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"installed_at": "2026-02-30T10:00:00Z"}, "installed_at", "day value is outside"),
        ({"installed_at": "2026-10-01T10:00:00"}, "installed_at", "timezone"),
        ({"source": "apk"}, "source", "'dpkg', 'rpm', 'python' or 'windows'"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"version": "v" * 256}, "version", "at most 255 characters"),
    ],
)
def test_a_bad_package_is_named_by_the_full_models(
    change: dict[str, Any], field: str, message: str
) -> None:
    data = factory.inventory(software=3)
    data["software"][1].update(change)
    with pytest.raises(payload.PayloadError) as caught:
        parse_one(data)
    where = f"reports[0].data.software[1].{field}"
    assert list(caught.value.errors) == [where]
    assert message in caught.value.errors[where][0]


# --- Storing inventories ----------------------------------------------------------------------


def stored_software(asset: Asset) -> list[tuple[Any, ...]]:
    return sorted(
        (s, n, v, p, at.isoformat() if at else None)
        for s, n, v, p, at in InstalledSoftware.objects.filter(asset=asset).values_list(
            "source", "name", "version", "publisher", "installed_at"
        )
    )


def _utc_iso(value: str | None) -> str | None:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).isoformat()


def send(credential: str, sequence: int, data: dict[str, Any]) -> list[str]:
    response = post(
        Client(), REPORTS, {"reports": [factory.report("inventory", sequence, data)]}, credential
    )
    assert response.status_code == 200, response.content
    return [r["status"] for r in response.json()["results"]]


def test_software_rows_follow_the_inventories(world: Any) -> None:
    """Upgrades, removals, additions, the same package twice, install times in every form the
    protocol takes, values that COPY escapes or that hold the compared texts' separator:
    after each inventory, the rows are its packages, exactly."""
    credential = enrol(world)
    base = factory.inventory(software=6)
    base["software"][0]["installed_at"] = "2026-10-01T10:00:00Z"
    base["software"][1]["installed_at"] = "2026-10-01T12:00:00+02:00"
    base["software"][2]["installed_at"] = "2026-10-01T10:00:00.500Z"
    base["software"][3]["installed_at"] = 1790000000
    inventories = [base]
    second = orjson.loads(orjson.dumps(base))
    second["software"][4]["version"] = "9.9"  # upgraded
    del second["software"][5]  # removed
    second["software"].append(dict(second["software"][0]))  # listed twice
    second["software"].append({"name": "tab\there\\back\nline", "source": "rpm"})
    inventories.append(second)
    third = orjson.loads(orjson.dumps(second))
    del third["software"][-2]  # one of the pair remains
    third["software"].append({"name": "unit\x1fseparator", "source": "python"})
    inventories.append(third)
    fourth = orjson.loads(orjson.dumps(third))
    fourth["software"] = [p for p in fourth["software"] if "\x1f" not in p["name"]]
    fourth["software"][1]["installed_at"] = "2026-10-01T10:00:00Z"  # the same instant, in UTC
    inventories.append(fourth)
    fifth = orjson.loads(orjson.dumps(fourth))
    fifth["software"] += [dict(fifth["software"][2]), dict(fifth["software"][2])]  # thrice
    inventories.append(fifth)
    inventories.append({**fifth, "software": []})
    asset = Asset.objects.get()
    for sequence, data in enumerate(inventories, start=1):
        assert send(credential, sequence, data) == ["stored"]
        assert stored_software(asset) == sorted(_row(p) for p in full_facts(data)["software"])
        asset.refresh_from_db()
        assert asset.software_count == len(data["software"])


def _row(package: dict[str, Any]) -> tuple[Any, ...]:
    return (
        package["source"],
        package["name"],
        package["version"],
        package["publisher"],
        _utc_iso(package["installed_at"]),
    )


def test_an_instant_written_otherwise_keeps_its_row(world: Any) -> None:
    """The same install time in another form (an offset, a fraction) is the same package: its
    row is not written again."""
    credential = enrol(world)
    data = factory.inventory(software=3)
    data["software"][0]["installed_at"] = "2026-10-01T12:00:00.500+02:00"
    data["software"][1]["installed_at"] = "2026-10-01T10:00:00Z"
    send(credential, 1, data)
    rows = set(InstalledSoftware.objects.values_list("pk", flat=True))
    again = orjson.loads(orjson.dumps(data))
    again["software"][0]["installed_at"] = "2026-10-01T10:00:00.5Z"
    again["software"][1]["installed_at"] = "2026-10-01T11:00:00+01:00"
    again["software"][2]["version"] = "2.0"  # so that the rows are compared
    send(credential, 2, again)
    kept = set(InstalledSoftware.objects.values_list("pk", flat=True))
    assert len(rows & kept) == 2 and len(kept) == 3


def test_an_inventory_whose_packages_did_not_change_writes_no_software_row(world: Any) -> None:
    credential = enrol(world)
    data = factory.inventory(software=50)
    send(credential, 1, data)
    asset = Asset.objects.get()
    digest, rows = asset.software_sha256, stored_software(asset)
    # The machine changed (a service stopped), its packages did not.
    changed = {**data, "services": [{"name": "ssh.service", "state": "dead", "enabled": True}]}
    with CaptureQueriesContext(connection) as seen:
        assert send(credential, 2, changed) == ["stored"]
    sql = [q["sql"] for q in seen.captured_queries]
    assert not [s for s in sql if "inventory_installedsoftware" in s]
    assert InventorySnapshot.objects.count() == 2  # the change is kept
    snapshot = InventorySnapshot.objects.order_by("-sequence").first()
    assert snapshot is not None and snapshot.data == full_facts(changed)
    assert snapshot.sha256 == old_stable_digest(full_facts(changed))
    asset.refresh_from_db()
    assert asset.software_sha256 == digest and stored_software(asset) == rows
    assert asset.inventory_sha256 == snapshot.sha256
    # Sent again (its answer was lost): acknowledged, nothing written.
    report = factory.report("inventory", 2, changed)
    answer = post(Client(), REPORTS, {"reports": [report]}, credential)
    assert answer.json()["results"][0]["status"] == "duplicate"
    assert InventorySnapshot.objects.count() == 2
    # The same machine once more, volatile facts moved: no snapshot, no software row.
    moved = {**changed, "uptime_seconds": 99_999}
    with CaptureQueriesContext(connection) as seen:
        assert send(credential, 3, moved) == ["stored"]
    assert not [q for q in seen.captured_queries if "inventory_installedsoftware" in q["sql"]]
    assert not [q for q in seen.captured_queries if "inventory_inventorysnapshot" in q["sql"]]
    assert InventorySnapshot.objects.count() == 2


def test_an_inventory_leaves_the_asset_as_before(world: Any) -> None:
    """The asset's reported columns, its components and its snapshot, as the ORM wrote them;
    what a person set (name, notes, location) and the version stay."""
    credential = enrol(world, machine_id="ab" * 16)
    asset = Asset.objects.get()
    Asset.objects.filter(pk=asset.pk).update(
        name="Web front", notes="rack 3", location="Paris", serial="SN-HAND"
    )
    data = factory.inventory(software=2, machine_id="")
    data["hardware"]["serial"] = ""
    data["disks"].append(
        {"mountpoint": "/empty", "total_bytes": 0, "used_bytes": 0, "free_bytes": 0}
    )
    send(credential, 1, data)
    asset.refresh_from_db()
    assert (asset.name, asset.notes, asset.location, asset.version) == (
        "Web front",
        "rack 3",
        "Paris",
        1,
    )
    assert asset.machine_id == "ab" * 16 and asset.serial == "SN-HAND"  # none reported: kept
    assert (asset.os_version, asset.kernel, asset.arch) == ("12", "6.1.0-28-amd64", "x86_64")
    assert (asset.cpu_model, asset.cpu_cores) == ("Xeon", 8)
    assert asset.disk_free_ratio == pytest.approx(0.1)
    assert asset.last_inventory_at is not None
    components = {
        (c.kind, c.name): (c.capacity_bytes, c.used_bytes, c.details)
        for c in AssetComponent.objects.filter(asset=asset)
    }
    assert components == {
        ("cpu", "Xeon"): (None, None, {"model": "Xeon", "cores": 8, "threads": 16, "mhz": 2900.0}),
        ("disk", "/"): (
            100 * 2**30,
            90 * 2**30,
            {"device": "/dev/sda1", "fstype": "ext4", "free_bytes": 10 * 2**30},
        ),
        ("disk", "/empty"): (0, 0, {"device": "", "fstype": "", "free_bytes": 0}),
        ("interface", "eth0"): (
            None,
            None,
            {
                "mac": "00:11:22:33:44:55",
                "up": True,
                "speed_mbps": None,
                "addresses": ["192.0.2.10/24"],
            },
        ),
    }
    snapshot = InventorySnapshot.objects.get()
    assert snapshot.data == full_facts(data) and snapshot.sequence == 1
    # An older inventory (collected before) does not move the latest inventory's time back.
    latest = asset.last_inventory_at
    older = factory.report("inventory", 2, data, collected_at="2020-01-01T00:00:00Z")
    post(Client(), REPORTS, {"reports": [older]}, credential)
    asset.refresh_from_db()
    assert asset.last_inventory_at == latest


def test_an_inventory_costs_a_fixed_number_of_statements(world: Any) -> None:
    """On PostgreSQL, whatever its number of packages (a query-count baseline)."""
    counts: dict[tuple[int, str], int] = {}
    for size in (40, 400):
        credential = enrol(world, hostname=f"web-{size}")
        for sequence, phase in ((1, "first"), (2, "steady")):
            data = factory.inventory(f"web-{size}", software=size)
            data["software"][0]["version"] = f"v{sequence}"  # a package upgraded
            with CaptureQueriesContext(connection) as seen:
                send(credential, sequence, data)
            counts[size, phase] = len(seen.captured_queries)
    if connection.vendor != "postgresql":
        return  # SQLite inserts the rows in batches
    assert counts[40, "first"] == counts[400, "first"]
    assert counts[40, "steady"] == counts[400, "steady"]
    # The credential, the agent's row with its asset's digests, the snapshot, the software
    # rows (read; COPY is not counted), the components, the asset, the agent; the steady one
    # deletes the upgraded package's row. The test's transaction adds a savepoint and its
    # release.
    assert counts[400, "first"] == 9 and counts[400, "steady"] == 10, counts


# --- The heartbeat's one statement and the credential it checks -----------------------------


def test_a_small_batch_from_an_unknown_credential_is_refused_first(world: Any) -> None:
    credential = enrol(world)
    unknown = "iga_" + "0" * 32 + "_nope"
    cases = [
        {"reports": [factory.heartbeat(1)]},  # would be stored by the one statement
        {"reports": [factory.performance(1)]},  # goes to the general path
        {"reports": [{**factory.heartbeat(1), "extra": 1}]},  # refused by validation
        {"nothing": 1},
    ]
    for body in cases:
        for wrong in (unknown, "ifg_personal_token", credential + "x"):
            answer = post(Client(), REPORTS, body, wrong)
            assert answer.status_code == 401, (body, wrong, answer.content)
            assert "enrol" in answer.json()["detail"]
    not_json = Client().post(
        REPORTS, b"{oops", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {unknown}"
    )
    assert not_json.status_code == 401
    # A big body is refused before it is read, as before.
    big = {"reports": [factory.report("inventory", 1, factory.inventory(software=300))]}
    assert post(Client(), REPORTS, big, unknown).status_code == 401
    agent = Agent.objects.get()
    assert (agent.last_sequence, agent.reports_stored) == (0, 0)
    assert not PerformanceSummary.objects.exists()
    # The right credential with a bad body: the body's error.
    bad = post(Client(), REPORTS, {"reports": [{**factory.heartbeat(1), "extra": 1}]}, credential)
    assert bad.status_code == 400 and "reports[0].extra" in bad.json()["errors"]


def test_a_revoked_agent_is_refused_on_the_one_statement_path(world: Any) -> None:
    credential = enrol(world)
    assert (
        post(Client(), REPORTS, {"reports": [factory.heartbeat(1)]}, credential).status_code == 200
    )
    agent = Agent.objects.get()
    services.revoke_agent(agent, actor=world.user("p_admin"))
    for body in ({"reports": [factory.heartbeat(2)]}, {"reports": [factory.heartbeat(1)]}):
        answer = post(Client(), REPORTS, body, credential)
        assert answer.status_code == 401 and "enrol" in answer.json()["detail"]
    agent.refresh_from_db()
    assert (agent.last_sequence, agent.reports_stored) == (1, 1)


def test_the_answer_is_rendered_as_before(world: Any) -> None:
    credential = enrol(world)
    beat = factory.heartbeat(1)
    answer = post(Client(), REPORTS, {"reports": [beat]}, credential)
    assert answer["Content-Type"] == "application/json; charset=utf-8"
    expected = {"results": [{"report_id": beat["report_id"], "status": "stored"}]}
    assert answer.content == json.dumps(expected).encode()  # as the API's renderer writes it


def test_a_performance_summary_is_stored_as_before(world: Any) -> None:
    credential = enrol(world)
    report = factory.performance(1)
    assert post(Client(), REPORTS, {"reports": [report]}, credential).status_code == 200
    summary = PerformanceSummary.objects.get()
    agent = Agent.objects.get()
    assert (summary.agent_id, summary.asset_id, str(summary.report_id)) == (
        agent.pk,
        agent.asset_id,
        report["report_id"],
    )
    assert (summary.window_start, summary.window_end, summary.samples) == (
        dt.datetime(2026, 11, 28, 9, 45, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC),
        90,
    )
    assert (summary.cpu_mean, summary.cpu_p95, summary.cpu_max) == (10.0, 30.0, 50.0)
    assert (summary.memory_mean, summary.memory_p95, summary.memory_max) == (40.0, 42.0, 44.0)
    assert summary.data == payload.Performance.model_validate(report["data"]).model_dump(
        mode="json"
    )
    assert (agent.last_sequence, agent.reports_stored) == (1, 1)


# --- What each written row costs the database -------------------------------------------------


@pytest.mark.django_db
def test_reported_rows_carry_only_the_indexes_their_queries_use() -> None:
    """Software rows, snapshots and performance summaries are looked up by asset through
    composite indexes: the foreign key has no index of its own to maintain, nor the
    software's name; licences are counted by asset and lower-cased name."""
    expected = {
        InstalledSoftware: ["inv_software_asset_name"],
        InventorySnapshot: ["agent_id", "inv_snapshot_asset", "report_id"],
        PerformanceSummary: ["agent_id", "inv_perf_asset", "report_id"],
    }
    with connection.cursor() as cursor:
        for model, names in expected.items():
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            indexed = sorted(
                # Django names the indexes it makes for single columns after a hash.
                name if name.startswith("inv_") else ",".join(c["columns"])
                for name, c in constraints.items()
                if (c["index"] or c["unique"]) and not c["primary_key"]
            )
            assert indexed == names, model.__name__
        table = InstalledSoftware._meta.db_table
        # No foreign-key constraint on software rows: checked row by row at COMMIT, it cost
        # more than writing them. Snapshots and summaries keep theirs.
        constraints = connection.introspection.get_constraints(cursor, table)
        assert [c for c in constraints.values() if c["foreign_key"]] == []
        for model in (InventorySnapshot, PerformanceSummary):
            found = connection.introspection.get_constraints(cursor, model._meta.db_table)
            assert {c["foreign_key"] for c in found.values() if c["foreign_key"]} == {
                ("inventory_asset", "id"),
                ("inventory_agent", "id"),
            }, model.__name__
        if connection.vendor != "postgresql":
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'inv_software_asset_name'")
            assert 'LOWER("name")' in cursor.fetchone()[0]
            return
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname = %s",
            [table, "inv_software_asset_name"],
        )
        assert "(asset_id, lower((name)::text))" in cursor.fetchone()[0]
        # Performance JSON: lz4 rather than pglz (a server built without lz4 keeps pglz).
        # Snapshots: zstd-compressed bytes, which PostgreSQL stores as they come (EXTERNAL:
        # out of line, no compression of its own).
        cursor.execute(
            "SELECT attrelid::regclass::text, atttypid::regtype::text, attstorage,"
            " attcompression FROM pg_attribute WHERE attname = 'data' AND attrelid IN"
            " ('inventory_inventorysnapshot'::regclass, 'inventory_performancesummary'::regclass)"
        )
        assert sorted(cursor.fetchall()) == [
            ("inventory_inventorysnapshot", "bytea", "e", ""),
            ("inventory_performancesummary", "jsonb", "x", "l"),
        ]


@pytest.mark.django_db(transaction=True)
def test_snapshots_keep_their_data_through_the_packing_migration(world: Any) -> None:
    """Migration inventory.0004 moves snapshots' data from JSON to zstd-compressed bytes, and
    back when it is undone, row by row, value for value."""
    from django.core.management import call_command

    credential = enrol(world)
    for sequence, hostname in ((1, "web-01"), (2, "web-01b")):
        data = factory.inventory(hostname=hostname, software=40)
        answer = post(
            Client(),
            REPORTS,
            {"reports": [factory.report("inventory", sequence, data)]},
            credential,
        )
        assert answer.status_code == 200, answer.content
    kept = dict(InventorySnapshot.objects.values_list("pk", "data"))
    assert len(kept) == 2 and {d["hostname"] for d in kept.values()} == {"web-01", "web-01b"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM inventory_inventorysnapshot")
        assert all(bytes(raw).startswith(b"\x28\xb5\x2f\xfd") for (raw,) in cursor.fetchall())
    try:
        call_command("migrate", "inventory", "0003", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, data FROM inventory_inventorysnapshot")
            undone = {
                pk: json.loads(raw) if isinstance(raw, str) else raw
                for pk, raw in cursor.fetchall()
            }
        assert undone == kept
    finally:
        call_command("migrate", "inventory", verbosity=0)
    assert dict(InventorySnapshot.objects.values_list("pk", "data")) == kept
