"""The inventory in the user API: who sees and changes what; the diff; licences; health."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from infogerance.accounts.services import create_token
from infogerance.inventory import services
from infogerance.inventory.models import Agent, Asset
from tests.inventory import factory

pytestmark = pytest.mark.django_db


def api(world: Any, who: str) -> Any:
    _row, secret = create_token(actor=world.user(who), name="t", scope="write")

    class Caller:
        def get(self, url: str) -> Any:
            return Client().get(f"/api/v1{url}", HTTP_AUTHORIZATION=f"Bearer {secret}")

        def send(self, method: str, url: str, body: Any) -> Any:
            return getattr(Client(), method)(
                f"/api/v1{url}",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )

    return Caller()


def enrolled(world: Any, org: Any = None, hostname: str = "web-01") -> Agent:
    _token, secret = services.create_enrollment_token(
        actor=world.user("p_admin"), client=org or world.victim, label="x"
    )
    return services.enroll(
        actor=services.AGENT_ACTOR, body={"token": secret, "hostname": hostname}
    ).agent


def deliver(agent: Agent, *reports: dict[str, Any]) -> None:
    services.ingest(agent, {"reports": list(reports)}, actor=services.AGENT_ACTOR)


def test_who_sees_which_assets(world: Any) -> None:
    enrolled(world, hostname="victim-01")
    enrolled(world, org=world.neighbour, hostname="neighbour-01")
    seen = {
        who: sorted(a["name"] for a in api(world, who).get("/assets").json()["items"])
        for who in ("p_engineer", "a_manager", "b_manager", "a_auditor", "q_admin")
    }
    assert seen == {
        "p_engineer": ["neighbour-01", "victim-01"],
        "a_manager": ["victim-01"],
        "b_manager": ["neighbour-01"],
        "a_auditor": ["victim-01"],
        "q_admin": [],
    }
    # A client user has no right on the inventory.
    assert api(world, "a_user").get("/assets").json()["items"] == []


def test_manual_assets_and_lease_lines(world: Any) -> None:
    engineer = api(world, "p_engineer")
    body = {"organization_id": world.victim.pk, "name": "Core switch", "kind": "network"}
    created = engineer.send("post", "/assets", body)
    assert created.status_code == 201, created.content
    asset = created.json()
    assert (asset["source"], asset["lifecycle"], asset["os_support"]) == (
        "manual",
        "in_service",
        "unknown",
    )
    # A lease line must be an item of the client's contracts' rentals (it has no contract).
    leased = engineer.send("post", "/assets", {**body, "lease_item": "Laptops (lot of 250)"})
    assert leased.status_code == 400 and "lease_item" in leased.json()["errors"]
    # The client's manager reads, does not write.
    assert api(world, "a_manager").send("post", "/assets", body).status_code == 403
    # A stale edit is refused; a fresh one passes and is audited.
    stale = engineer.send(
        "patch",
        f"/assets/{asset['id']}",
        {"lifecycle": "retired", "version": 7},
    )
    assert stale.status_code == 400
    (message,) = stale.json()["errors"]["version"]
    assert "version 1" in message and "7" in message
    fresh = engineer.send(
        "patch",
        f"/assets/{asset['id']}",
        {"lifecycle": "retired", "version": asset["version"]},
    )
    assert fresh.status_code == 200, fresh.json()
    assert (fresh.json()["lifecycle"], fresh.json()["version"]) == ("retired", 2)


def test_an_agents_reported_facts_are_not_edited_by_hand(world: Any) -> None:
    agent = enrolled(world)
    answer = api(world, "p_engineer").send("patch", f"/assets/{agent.asset_id}", {"serial": "X"})
    assert answer.status_code == 400 and "serial" in answer.json()["errors"]


def test_the_diff_between_two_inventories(world: Any) -> None:
    agent = enrolled(world)
    first = factory.inventory(software=3)
    second = {
        **first,
        "software": [
            first["software"][0],
            {**first["software"][1], "version": "9.9"},
            {"name": "nginx", "version": "1.22", "source": "dpkg"},
        ],
        "ports": [*first["ports"], {"protocol": "tcp", "address": "0.0.0.0", "port": 443}],
        "hardware": {**first["hardware"], "memory_bytes": 64 * 2**30},
    }
    deliver(agent, factory.report("inventory", 1, first), factory.report("inventory", 2, second))
    caller = api(world, "a_manager")
    snapshots = caller.get(f"/assets/{agent.asset_id}/snapshots").json()["items"]
    assert len(snapshots) == 2
    newest, oldest = snapshots[0]["id"], snapshots[1]["id"]
    answer = caller.get(
        f"/assets/{agent.asset_id}/diff?from_snapshot={oldest}&to_snapshot={newest}"
    )
    sections = {s["name"]: s for s in answer.json()["sections"]}
    assert sections["software"] == {
        "name": "software",
        "added": ["nginx 1.22"],
        "removed": ["pkg2 1.2"],
        "changed": ["pkg1 (dpkg): 1.1 → 9.9"],
    }
    assert sections["ports"]["added"] == ["tcp 0.0.0.0:443"]
    assert sections["hardware"]["changed"] == [f"memory_bytes: {32 * 2**30} → {64 * 2**30}"]
    assert set(sections) == {"software", "ports", "hardware"}
    software = caller.get(f"/assets/{agent.asset_id}/software").json()["items"]
    assert sorted((s["name"], s["version"]) for s in software) == [
        ("nginx", "1.22"),
        ("pkg0", "1.0"),
        ("pkg1", "9.9"),
    ]


def test_licences_installed_against_owned(world: Any) -> None:
    for n in range(3):
        agent = enrolled(world, hostname=f"pc-{n}")
        data = factory.inventory(f"pc-{n}", software=0)
        data["software"] = [{"name": "LibreOffice", "version": "7.4", "source": "dpkg"}]
        if n == 2:  # installed twice on one machine: one installation of the licence
            data["software"].append({"name": "libreoffice", "version": "7.5", "source": "dpkg"})
        deliver(agent, factory.report("inventory", 1, data))
    Asset.objects.filter(name="pc-1").update(lifecycle="retired")  # a retired machine: not counted
    engineer = api(world, "p_engineer")
    body = {
        "organization_id": world.victim.pk,
        "product": "LibreOffice support",
        "software_name": "LibreOffice",
        "owned": 1,
    }
    created = engineer.send("post", "/licences", body)
    assert created.status_code == 201, created.content
    # pc-0 and pc-2 are in service: 2 installations for 1 licence owned.
    assert (created.json()["installed"], created.json()["owned"]) == (2, 1)
    listed = api(world, "a_manager").get("/licences").json()["items"]
    assert [(lic["product"], lic["installed"]) for lic in listed] == [("LibreOffice support", 2)]


def test_agent_health_and_tokens(world: Any) -> None:
    admin = api(world, "p_admin")
    created = admin.send(
        "post",
        "/enrollment-tokens",
        {"organization_id": world.victim.pk, "label": "batch", "max_uses": 5},
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("iget_")
    listed = admin.get("/enrollment-tokens").json()["items"]
    assert "secret" not in listed[0] and listed[0]["state"] == "active"
    assert (
        api(world, "p_engineer")
        .send("post", "/enrollment-tokens", {"organization_id": world.victim.pk, "label": "x"})
        .status_code
        == 403
    )
    agent = enrolled(world)
    assert admin.get("/agents").json()["items"][0]["health"] == "never"
    deliver(agent, factory.heartbeat(1))
    assert admin.get("/agents").json()["items"][0]["health"] == "ok"
    # 60 s heartbeats: late after 3 missed (180 s), offline after 30 (1,800 s).
    Agent.objects.update(last_seen_at=timezone.now() - dt.timedelta(seconds=181))
    assert admin.get("/agents").json()["items"][0]["health"] == "late"
    Agent.objects.update(last_seen_at=timezone.now() - dt.timedelta(seconds=1801))
    assert admin.get("/agents").json()["items"][0]["health"] == "offline"
    revoked = admin.send("post", f"/agents/{agent.pk}/revoke", {})
    assert revoked.status_code == 200 and revoked.json()["health"] == "revoked"


def test_licence_usage_for_many_licences_in_one_query(
    world: Any, django_assert_num_queries: Any
) -> None:
    """Each licence counts its own client's machines only, whatever the others hold."""
    for org, host, names in (
        (world.victim, "a-1", ["Office", "Acrobat"]),
        (world.victim, "a-2", ["office"]),
        (world.neighbour, "b-1", ["Office"]),
    ):
        data = factory.inventory(host, software=0)
        data["software"] = [{"name": n, "version": "1", "source": "dpkg"} for n in names]
        deliver(enrolled(world, org=org, hostname=host), factory.report("inventory", 1, data))
    admin = world.user("p_admin")
    office_a = services.save_licence(
        actor=admin, client=world.victim, product="Office A", software_name="OFFICE", owned=1
    )
    acrobat_a = services.save_licence(
        actor=admin, client=world.victim, product="Acrobat", software_name="acrobat", owned=5
    )
    office_b = services.save_licence(
        actor=admin, client=world.neighbour, product="Office B", software_name="Office", owned=1
    )
    none_b = services.save_licence(
        actor=admin, client=world.neighbour, product="Visio", software_name="visio", owned=2
    )
    with django_assert_num_queries(1):
        usage = services.licence_usage([office_a, acrobat_a, office_b, none_b])
    # Office: a-1 and a-2 for the victim (2), b-1 for the neighbour (1); Acrobat: a-1 only.
    assert usage == {office_a.pk: 2, acrobat_a.pk: 1, office_b.pk: 1, none_b.pk: 0}


def test_performance_summaries_carry_the_rates_measured(world: Any) -> None:
    agent = enrolled(world)
    measured = factory.performance(1)
    measured["data"]["disk_read_bytes_per_s"] = {"mean": 1024.0, "p95": 4096.0, "max": 8192.0}
    deliver(agent, measured)
    (item,) = api(world, "a_manager").get(f"/assets/{agent.asset_id}/performance").json()["items"]
    assert (item["cpu_mean"], item["cpu_p95"], item["memory_p95"]) == (10.0, 30.0, 42.0)
    assert item["disk_read_bytes_per_s"] == {"mean": 1024.0, "p95": 4096.0, "max": 8192.0}
    # What the agent did not measure is null, not zero.
    assert item["disk_write_bytes_per_s"] is None and item["net_recv_bytes_per_s"] is None
    assert "data" not in item
