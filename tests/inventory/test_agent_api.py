"""The agent API: enrolment tokens, enrolment, delivery of reports, refusals. Both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from infogerance.audit.models import AuditEvent
from infogerance.inventory import services
from infogerance.inventory.models import (
    Agent,
    Asset,
    AssetComponent,
    EnrollmentToken,
    InstalledSoftware,
    InventorySnapshot,
    PerformanceSummary,
)
from tests.inventory import factory

pytestmark = pytest.mark.django_db
ENROLL = "/api/agent/v1/enroll"
REPORTS = "/api/agent/v1/reports"


def post(client: Client, url: str, body: Any, credential: str | None = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {credential}"} if credential else {}
    return client.post(url, orjson.dumps(body), content_type="application/json", **headers)


def token_for(world: Any, org: Any = None, **kwargs: Any) -> str:
    _token, secret = services.create_enrollment_token(
        actor=world.user("p_admin"), client=org or world.victim, label="rollout", **kwargs
    )
    return secret


def enrol(world: Any, org: Any = None, hostname: str = "web-01", machine_id: str = "") -> str:
    body = {"token": token_for(world, org), "hostname": hostname, "machine_id": machine_id}
    response = post(Client(), ENROLL, body)
    assert response.status_code == 201, response.content
    return response.json()["credential"]


def test_only_provider_admins_create_tokens(world: Any) -> None:
    for who in ("p_engineer", "a_manager", "q_admin"):
        with pytest.raises(PermissionDenied):
            services.create_enrollment_token(actor=world.user(who), client=world.victim, label="x")
    with pytest.raises(ValidationError) as caught:
        services.create_enrollment_token(
            actor=world.user("p_admin"), client=world.victim, label=" ", days=0, max_uses=0
        )
    assert set(caught.value.message_dict) == {"label", "days", "max_uses"}
    with pytest.raises(ValidationError, match="client"):
        services.create_enrollment_token(
            actor=world.user("p_admin"), client=world.provider, label="x"
        )
    token, secret = services.create_enrollment_token(
        actor=world.user("p_admin"), client=world.victim, label="rollout", days=3, max_uses=2
    )
    assert secret.startswith("iget_") and secret[:11] == token.prefix
    assert token.token_hash != secret and len(token.token_hash) == 64  # only the hash is kept
    assert AuditEvent.objects.filter(action="inventory.token_create", target_id=str(token.pk))


def test_enrolment_creates_the_asset_and_a_credential(world: Any) -> None:
    secret = token_for(world)
    body = {
        "token": secret,
        "hostname": "web-01",
        "machine_id": "ab" * 16,
        "agent_version": "0.1.0",
        "os": {"family": "linux", "name": "Debian GNU/Linux", "version": "12"},
    }
    response = post(Client(), ENROLL, body)
    assert response.status_code == 201, response.content
    answer = response.json()
    agent = Agent.objects.get(uid=answer["agent_id"])
    assert agent.organization == world.victim and agent.asset.name == "web-01"
    assert agent.asset.kind == "server" and agent.asset.source == "agent"
    assert answer["client"] == world.victim.slug and answer["heartbeat_seconds"] == 60
    assert agent.credential_hash != answer["credential"]
    me = Client().get("/api/agent/v1/me", HTTP_AUTHORIZATION=f"Bearer {answer['credential']}")
    assert me.status_code == 200 and me.json()["asset_id"] == agent.asset_id
    # The token was for one use: a second machine is refused, and the refusal is filed.
    again = post(Client(), ENROLL, {**body, "hostname": "web-02"})
    assert again.status_code == 401 and "exhausted" in again.json()["detail"]
    assert AuditEvent.objects.filter(action="inventory.enrol_refused").count() == 1


def test_expired_revoked_and_unknown_tokens_are_refused(world: Any) -> None:
    expired = token_for(world)
    EnrollmentToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    revoked_secret = token_for(world)
    revoked = EnrollmentToken.objects.get(expires_at__gt=timezone.now())
    services.revoke_enrollment_token(revoked, actor=world.user("p_admin"))
    for secret, reason in (
        (expired, "expired"),
        (revoked_secret, "revoked"),
        ("iget_nope", "unknown"),
    ):
        response = post(Client(), ENROLL, {"token": secret, "hostname": "h"})
        assert response.status_code == 401 and reason in response.json()["detail"], secret
    assert not Agent.objects.exists() and not Asset.objects.exists()
    bad = post(Client(), ENROLL, {"hostname": "h"})
    assert bad.status_code == 400 and bad.json()["errors"] == {"token": ["required"]}


def test_reenrolling_a_machine_continues_its_asset(world: Any) -> None:
    first = enrol(world, machine_id="cd" * 16)
    second = enrol(world, hostname="web-01-new", machine_id="cd" * 16)
    assert Asset.objects.count() == 1
    old, new = Agent.objects.order_by("enrolled_at", "pk")
    assert old.revoked_at is not None and new.revoked_at is None
    # The audit log says which agent the enrolment replaced.
    event = AuditEvent.objects.filter(action="inventory.agent_enrolled").order_by("pk").last()
    assert event is not None and event.after["replaced_agents"] == [old.uid.hex]
    assert post(Client(), REPORTS, {"reports": [factory.heartbeat(1)]}, first).status_code == 401
    assert post(Client(), REPORTS, {"reports": [factory.heartbeat(1)]}, second).status_code == 200


def test_reports_stored_before_a_reenrolment_are_duplicates_when_sent_again(world: Any) -> None:
    # The machine's answer to a stored batch is lost; it enrols again with the reports still
    # in its spool. Its new agent starts at sequence 0, so only the report ids tell.
    first = enrol(world, machine_id="0f" * 16)  # the inventories' machine id
    batch = {
        "reports": [
            factory.report("inventory", 1, factory.inventory(software=2)),
            factory.report("inventory", 2, factory.inventory(software=3)),  # a package more
            factory.performance(3),
        ]
    }
    assert post(Client(), REPORTS, batch, first).status_code == 200
    second = enrol(world, machine_id="0f" * 16)
    response = post(Client(), REPORTS, batch, second)
    assert response.status_code == 200, response.content
    # The first inventory's snapshot and the summary are found by their ids: duplicates. The
    # second inventory holds the facts the asset holds: no snapshot is written for it (which
    # is where its id would be found), it is applied again, to the same result.
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["duplicate", "stored", "duplicate"]
    assert InventorySnapshot.objects.count() == 2 and PerformanceSummary.objects.count() == 1
    old, agent = Agent.objects.filter(asset__machine_id="0f" * 16).order_by("pk")
    assert old.revoked_at is not None and agent.asset_id == old.asset_id
    assert (agent.last_sequence, agent.reports_stored) == (3, 1)
    # The first inventory did not take the asset back to its two packages.
    assert Asset.objects.get(pk=agent.asset_id).software_count == 3
    assert InstalledSoftware.objects.filter(asset_id=agent.asset_id).count() == 3


def test_an_inventory_feeds_the_asset(world: Any) -> None:
    credential = enrol(world)
    sent = factory.report("inventory", 1, factory.inventory(software=3))
    response = post(Client(), REPORTS, {"reports": [sent]}, credential)
    assert response.status_code == 200, response.content
    assert response.json() == {"results": [{"report_id": sent["report_id"], "status": "stored"}]}
    asset = Asset.objects.get()
    assert (asset.os_name, asset.os_version, asset.os_id) == ("Debian GNU/Linux", "12", "debian")
    assert (asset.vendor, asset.model, asset.serial) == ("Dell Inc.", "PowerEdge R650", "SN-1")
    assert asset.software_count == 3 and asset.memory_bytes == 32 * 2**30
    assert (asset.pending_updates, asset.security_updates) == (3, 1)
    assert asset.disk_free_ratio == pytest.approx(10 / 100)  # 10 GiB free of 100 GiB
    assert sorted(InstalledSoftware.objects.values_list("name", "version")) == [
        ("pkg0", "1.0"),
        ("pkg1", "1.1"),
        ("pkg2", "1.2"),
    ]
    assert sorted(AssetComponent.objects.values_list("kind", "name")) == [
        ("cpu", "Xeon"),
        ("disk", "/"),
        ("interface", "eth0"),
    ]
    assert InventorySnapshot.objects.count() == 1
    agent = Agent.objects.get()
    assert agent.last_sequence == 1 and agent.last_seen_at is not None


def test_a_replay_is_acknowledged_once_stored(world: Any) -> None:
    credential = enrol(world)
    batch = {
        "reports": [
            factory.heartbeat(1),
            factory.report("inventory", 2, factory.inventory()),
            factory.performance(3),
        ]
    }
    first = post(Client(), REPORTS, batch, credential).json()["results"]
    again = post(Client(), REPORTS, batch, credential).json()["results"]
    assert [r["status"] for r in first] == ["stored"] * 3
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert [r["report_id"] for r in again] == [r["report_id"] for r in first]
    assert InventorySnapshot.objects.count() == 1 and PerformanceSummary.objects.count() == 1
    agent = Agent.objects.get()
    assert (agent.last_sequence, agent.reports_stored, agent.cpu_percent) == (3, 3, 12.5)


def test_an_unchanged_inventory_keeps_one_snapshot_and_a_change_adds_one(world: Any) -> None:
    credential = enrol(world)
    same = factory.inventory(software=2)
    post(Client(), REPORTS, {"reports": [factory.report("inventory", 1, same)]}, credential)
    # Only volatile facts moved (uptime, disk usage): no new snapshot, usage updated.
    moved = {**same, "uptime_seconds": 7200}
    moved["disks"] = [{**same["disks"][0], "used_bytes": 95 * 2**30, "free_bytes": 5 * 2**30}]
    post(Client(), REPORTS, {"reports": [factory.report("inventory", 2, moved)]}, credential)
    assert InventorySnapshot.objects.count() == 1
    assert Asset.objects.get().disk_free_ratio == pytest.approx(5 / 100)
    upgraded = {
        **moved,
        "software": [*same["software"][:1], {**same["software"][1], "version": "2.0"}],
    }
    post(Client(), REPORTS, {"reports": [factory.report("inventory", 3, upgraded)]}, credential)
    assert InventorySnapshot.objects.count() == 2
    assert sorted(InstalledSoftware.objects.values_list("name", "version")) == [
        ("pkg0", "1.0"),
        ("pkg1", "2.0"),
    ]


def test_a_bad_report_stores_nothing_and_names_the_field(world: Any) -> None:
    credential = enrol(world)
    broken = factory.inventory()
    del broken["software"][1]["name"]
    batch = {"reports": [factory.heartbeat(1), factory.report("inventory", 2, broken)]}
    response = post(Client(), REPORTS, batch, credential)
    assert response.status_code == 400
    assert response.json()["errors"] == {"reports[1].data.software[1].name": ["required"]}
    assert "reports[1].data.software[1].name" in response.json()["detail"]
    agent = Agent.objects.get()
    assert agent.last_sequence == 0 and agent.last_seen_at is None
    assert not InventorySnapshot.objects.exists() and not InstalledSoftware.objects.exists()
    cases = [
        (b"{not json", 400),
        (orjson.dumps({"reports": []}), 400),
        (orjson.dumps({"reports": [{**factory.heartbeat(1), "extra": 1}]}), 400),
        (orjson.dumps({"reports": [{**factory.heartbeat(1), "kind": "selfie"}]}), 400),
        (orjson.dumps({"reports": [factory.report("inventory", 1, {"hostname": "h"})]}), 400),
    ]
    for body, status in cases:
        answer = Client().post(
            REPORTS,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {credential}",
        )
        assert answer.status_code == status, (body, answer.content)
        assert answer.json()["detail"]
    assert Agent.objects.get().last_sequence == 0


def test_an_oversized_body_is_refused_before_it_is_read(world: Any, settings: Any) -> None:
    credential = enrol(world)
    settings.AGENT_MAX_BODY_BYTES = 10_000
    big = {"reports": [factory.report("inventory", 1, factory.inventory(software=200))]}
    response = post(Client(), REPORTS, big, credential)
    assert response.status_code == 413 and "10000" in response.json()["detail"]
    assert not InventorySnapshot.objects.exists()


def test_unknown_and_revoked_credentials_are_401(world: Any) -> None:
    credential = enrol(world)
    body = {"reports": [factory.heartbeat(1)]}
    for wrong in ("iga_0000_nope", credential + "x", "ifg_personal_token"):
        assert post(Client(), REPORTS, body, wrong).status_code == 401
    assert Client().post(REPORTS, b"{}", content_type="application/json").status_code == 401
    agent = Agent.objects.get()
    with pytest.raises(PermissionDenied):
        services.revoke_agent(agent, actor=world.user("a_manager"))
    services.revoke_agent(agent, actor=world.user("p_admin"))
    response = post(Client(), REPORTS, body, credential)
    assert response.status_code == 401 and "enrol" in response.json()["detail"]
    assert Agent.objects.get().last_sequence == 0


def test_an_agent_writes_only_its_own_asset(world: Any) -> None:
    victim_credential = enrol(world, hostname="victim-01", machine_id="aa" * 16)
    post(
        Client(),
        REPORTS,
        {"reports": [factory.report("inventory", 1, factory.inventory("victim-01"))]},
        victim_credential,
    )
    victim_asset = Asset.objects.get(organization=world.victim)
    before = (victim_asset.inventory_sha256, victim_asset.software_count)
    # The neighbour's agent reports the victim's identity: it lands on its own asset.
    neighbour_credential = enrol(world, org=world.neighbour, hostname="n-01", machine_id="bb" * 16)
    impostor = factory.inventory("victim-01", software=9, machine_id="aa" * 16)
    response = post(
        Client(),
        REPORTS,
        {"reports": [factory.report("inventory", 1, impostor)]},
        neighbour_credential,
    )
    assert response.status_code == 200
    victim_asset.refresh_from_db()
    assert (victim_asset.inventory_sha256, victim_asset.software_count) == before
    neighbour_asset = Asset.objects.get(organization=world.neighbour)
    assert neighbour_asset.software_count == 9
    assert InstalledSoftware.objects.filter(asset=victim_asset).count() == 3


def test_a_lone_heartbeat_is_stored_as_in_a_batch(world: Any) -> None:
    """One heartbeat alone takes a one-statement path; it must leave the agent's row as the
    general path does, and hand replays and revoked agents to it."""
    alone, batched = enrol(world, hostname="a-01"), enrol(world, hostname="b-01")
    answer = post(Client(), REPORTS, {"reports": [factory.heartbeat(1, cpu=33.0)]}, alone)
    assert [r["status"] for r in answer.json()["results"]] == ["stored"]
    # The general path: a batch of a performance summary and then the same heartbeat.
    answer = post(
        Client(),
        REPORTS,
        {"reports": [factory.performance(1), factory.heartbeat(2, cpu=33.0)]},
        batched,
    )
    assert [r["status"] for r in answer.json()["results"]] == ["stored", "stored"]
    first, second = (Agent.objects.get(asset__hostname=h) for h in ("a-01", "b-01"))
    fields = ("uptime_seconds", "cpu_percent", "memory_percent", "agent_version")
    assert [getattr(first, f) for f in fields] == [getattr(second, f) for f in fields]
    assert [getattr(first, f) for f in fields] == [60, 33.0, 40.0, "0.1.0"]
    assert (first.last_sequence, first.reports_stored) == (1, 1)
    assert (second.last_sequence, second.reports_stored) == (2, 2)
    assert first.last_seen_at is not None and first.last_seen_at <= timezone.now()

    # On its path, one statement checks the credential and writes the agent's row, out of
    # any transaction (it is one by itself).
    with CaptureQueriesContext(connection) as seen:
        post(Client(), REPORTS, {"reports": [factory.heartbeat(2, cpu=33.0)]}, alone)
    assert [q["sql"].split()[0] for q in seen.captured_queries] == ["UPDATE"]
    assert "credential_hash" in seen.captured_queries[0]["sql"]
    assert Agent.objects.get(pk=first.pk).reports_stored == 2

    # A replay of the lone heartbeat (its answer was lost): acknowledged, not stored again.
    replay = post(Client(), REPORTS, {"reports": [factory.heartbeat(1, cpu=99.0)]}, alone)
    assert [r["status"] for r in replay.json()["results"]] == ["duplicate"]
    again = Agent.objects.get(pk=first.pk)
    assert (again.last_sequence, again.reports_stored, again.cpu_percent) == (2, 2, 33.0)
    # Revoked between its authentication and its report: nothing written, refused.
    services.revoke_agent(again, actor=world.user("p_admin"))
    with pytest.raises(PermissionDenied):
        services.ingest(again, {"reports": [factory.heartbeat(3)]}, actor=services.AGENT_ACTOR)
    assert Agent.objects.get(pk=first.pk).last_sequence == 2


@pytest.mark.django_db(transaction=True)
def test_a_lone_heartbeat_commits_without_waiting_for_the_disk(world: Any) -> None:
    """Out of any transaction (as the server runs it), a lone heartbeat on PostgreSQL is one
    query of two statements: its transaction's commit does not wait for the WAL flush; the
    setting lasts for that transaction only, and replays are still told apart."""
    credential = enrol(world, hostname="c-01")
    with CaptureQueriesContext(connection) as seen:
        answer = post(Client(), REPORTS, {"reports": [factory.heartbeat(1, cpu=21.0)]}, credential)
    assert [r["status"] for r in answer.json()["results"]] == ["stored"]
    [query] = [q["sql"] for q in seen.captured_queries]
    if connection.vendor == "postgresql":
        assert query.startswith("SET LOCAL synchronous_commit TO OFF; UPDATE ")
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    else:
        assert query.startswith("UPDATE ")
    agent = Agent.objects.get(asset__hostname="c-01")
    assert (agent.last_sequence, agent.reports_stored, agent.cpu_percent) == (1, 1, 21.0)
    # The answer comes from the UPDATE's row count, not the SET's: a replay is not stored.
    replay = post(Client(), REPORTS, {"reports": [factory.heartbeat(1, cpu=99.0)]}, credential)
    assert [r["status"] for r in replay.json()["results"]] == ["duplicate"]
    agent.refresh_from_db()
    assert (agent.last_sequence, agent.reports_stored, agent.cpu_percent) == (1, 1, 21.0)
    unknown = post(Client(), REPORTS, {"reports": [factory.heartbeat(2)]}, "iga_" + "0" * 60)
    assert unknown.status_code == 401
