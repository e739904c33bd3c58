"""Agents' health counted, filtered and sorted in the database: the same verdict as
``Agent.health`` at the thresholds, the dashboard past one page. Both databases."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from infogerance.accounts.services import create_token
from infogerance.inventory import services, views
from infogerance.inventory.models import Agent, with_health

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)
US = dt.timedelta(microseconds=1)


def enrolled(world: Any, hostname: str, org: Any = None) -> Agent:
    _token, secret = services.create_enrollment_token(
        actor=world.user("p_admin"), client=org or world.victim, label="x"
    )
    return services.enroll(
        actor=services.AGENT_ACTOR, body={"token": secret, "hostname": hostname}
    ).agent


def place(
    agent: Agent, heartbeat: int, last_seen: dt.datetime | None, revoked: bool = False
) -> None:
    Agent.objects.filter(pk=agent.pk).update(
        heartbeat_seconds=heartbeat,
        last_seen_at=last_seen,
        revoked_at=NOW if revoked else None,
    )


def test_the_database_and_python_agree_at_the_thresholds(world: Any) -> None:
    cases = [
        # heartbeat (s), silence, expected: late after 3 heartbeats, offline after 30
        (60, dt.timedelta(0), "ok"),
        (60, 180 * S, "ok"),  # 3 × 60 s: still reporting
        (60, 180 * S + US, "late"),
        (60, 1800 * S, "late"),  # 30 × 60 s: still late
        (60, 1800 * S + US, "offline"),
        (300, 900 * S, "ok"),  # 3 × 300 s
        (300, 901 * S, "late"),
        (300, 9000 * S, "late"),  # 30 × 300 s
        (300, 9001 * S, "offline"),
        (60, -5 * S, "ok"),  # seen "in the future" (the server's clock moved back)
        (60, None, "never"),
        (300, 99999 * S, "revoked"),
    ]
    expected = {}
    for index, (heartbeat, silence, health) in enumerate(cases):
        agent = enrolled(world, f"host-{index:02d}")
        place(agent, heartbeat, None if silence is None else NOW - silence, health == "revoked")
        expected[agent.pk] = health
    rated = with_health(Agent.objects.filter(pk__in=expected), NOW)
    in_sql = dict(rated.values_list("pk", "health_state"))
    in_python = {agent.pk: agent.health(NOW) for agent in Agent.objects.filter(pk__in=expected)}
    assert in_sql == expected
    assert in_python == expected
    ranks = dict(rated.values_list("health_state", "health_rank"))
    assert ranks == {"offline": 0, "late": 1, "never": 2, "ok": 3, "revoked": 4}


def counts(page: str) -> dict[str, int]:
    return {h: int(n) for h, n in re.findall(r'data-health="(\w+)">(\d+)<', page)}


def hostnames(page: str) -> list[str]:
    table = page[page.index('id="agents"') :]
    return re.findall(r">(h-[\w-]+)</a>", table)


def test_the_dashboard_counts_every_agent_and_lists_the_worst_first(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "AGENT_PAGE", 3)
    now = timezone.now()
    fleet = [
        ("h-ok-1", now - 10 * S),
        ("h-ok-2", now - 20 * S),
        ("h-late", now - 600 * S),
        ("h-off-b", now - 7200 * S),
        ("h-off-a", now - 9000 * S),
        ("h-never", None),
    ]
    for hostname, seen in fleet:
        place(enrolled(world, hostname), 60, seen)
    place(enrolled(world, "h-gone"), 60, now, revoked=True)
    other = enrolled(world, "h-other-client", org=world.neighbour)
    place(other, 60, now - 9000 * S)  # offline, but another client's: not seen by a_manager

    client = Client(headers={"Accept-Language": "en"})
    client.force_login(world.user("a_manager"))
    first = client.get("/inventory/agents/")
    assert first.status_code == 200
    page = first.content.decode()
    # Counted over all 7 of the client's agents, not over the page of 3.
    assert counts(page) == {"offline": 2, "late": 1, "never": 1, "ok": 2, "revoked": 1}
    # Offline first, then late, never, reporting, revoked; by name within a state.
    assert hostnames(page) == ["h-off-a", "h-off-b", "h-late"]
    assert "1 / 3" in page and "page=2" in page
    third = client.get("/inventory/agents/?page=3").content.decode()
    assert hostnames(third) == ["h-gone"]
    offline = client.get("/inventory/agents/?health=offline").content.decode()
    assert hostnames(offline) == ["h-off-a", "h-off-b"]
    assert counts(offline)["ok"] == 2  # the counts stay those of the whole fleet
    # By client: the provider sees both clients' agents, then one client's.
    provider = Client(headers={"Accept-Language": "en"})
    provider.force_login(world.user("p_engineer"))
    everyone = counts(provider.get("/inventory/agents/").content.decode())
    assert everyone["offline"] == 3
    one = provider.get(f"/inventory/agents/?client={world.neighbour.pk}").content.decode()
    assert counts(one) == {"offline": 1, "late": 0, "never": 0, "ok": 0, "revoked": 0}
    assert hostnames(one) == ["h-other-client"]
    # Nonsense filters are ignored, not errors.
    assert client.get("/inventory/agents/?health=zombie&client=x&page=99").status_code == 200


def test_the_api_filters_agents_by_health(world: Any) -> None:
    now = timezone.now()
    late = enrolled(world, "h-late")
    place(late, 60, now - 600 * S)
    place(enrolled(world, "h-ok"), 60, now)
    _row, secret = create_token(actor=world.user("a_manager"), name="read", scope="read")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    found = api.get("/api/v1/agents?health=late").json()["items"]
    assert [a["id"] for a in found] == [late.pk] and found[0]["health"] == "late"
    assert len(api.get("/api/v1/agents").json()["items"]) == 2
    refused = api.get("/api/v1/agents?health=zombie")
    assert refused.status_code == 422 and "health" in refused.content.decode()
