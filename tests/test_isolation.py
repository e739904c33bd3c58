"""Every page and every API operation, as outsiders and anonymously: the victim stays hidden."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from infogerance.accounts.services import create_token
from infogerance.audit.models import AuditEvent
from infogerance.core.testing import isolation
from infogerance.tenancy.models import Membership
from tests.conftest import MARKER
from tests.knowledge.walker import victim_article_id


def victim_token_id(world: Any) -> int:
    token, _secret = create_token(actor=world.user("a_manager"), name=f"ci {MARKER}")
    return token.pk


isolation.register("org_id", lambda w: w.victim.pk)
isolation.register("organization_id", lambda w: w.victim.pk)
isolation.register("provider_id", lambda w: w.provider.pk)
isolation.register("user_id", lambda w: w.user("a_manager").pk)
isolation.register("membership_id", lambda w: Membership.objects.get(user=w.user("a_user")).pk)
isolation.register("token_id", victim_token_id)
isolation.register(
    "event_id",
    lambda w: AuditEvent.objects.filter(organization_id=w.victim.pk).order_by("seq").first().pk,
)


def victim_contract_id(world: Any) -> int:
    from pathlib import Path

    from infogerance.contracts.services import import_contract

    text = (Path(__file__).parent / "contracts" / "minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("Contrat d'infogérance de test", f"Contrat {MARKER}")
    return import_contract(actor=world.user("p_admin"), client=world.victim, text=text).contract_id


def victim_ticket_id(world: Any) -> int:
    from infogerance.contracts.models import Contract
    from infogerance.helpdesk.services import open_ticket

    contract = Contract.objects.get(pk=isolation.value("contract_id", world))
    return open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title=f"Panne {MARKER}",
        impact="high",
        urgency="high",
    ).pk


def victim_attachment_id(world: Any) -> int:
    from infogerance.helpdesk.attachments import add_attachment
    from infogerance.helpdesk.models import Ticket

    ticket = Ticket.objects.get(pk=isolation.value("ticket_id", world))
    return add_attachment(
        ticket,
        actor=world.user("a_user"),
        name=f"{MARKER}.txt",
        content=f"secret {MARKER}".encode(),
    ).pk


def victim_report_id(world: Any) -> int:
    import datetime as dt

    from infogerance.contracts.models import Contract
    from infogerance.sla.services import compute_report

    contract = Contract.objects.get(pk=isolation.value("contract_id", world))
    return compute_report(
        actor=world.user("p_admin"),
        contract=contract,
        period="2026-03",
        now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
    ).report_id


def victim_dispute_id(world: Any) -> int:
    from infogerance.sla.models import MonthlyReport
    from infogerance.sla.services import open_dispute

    report = MonthlyReport.objects.get(pk=isolation.value("report_id", world))
    return open_dispute(
        actor=world.user("a_manager"), report=report, level_id="gti-p1", reason=f"Non {MARKER}"
    ).pk


def victim_meeting_id(world: Any) -> int:
    import datetime as dt

    from infogerance.sla.models import MonthlyReport
    from infogerance.sla.services import record_meeting

    report = MonthlyReport.objects.select_related("contract").get(
        pk=isolation.value("report_id", world)
    )
    return record_meeting(
        actor=world.user("a_manager"),
        contract=report.contract,
        report=report,
        kind="steering",
        held_on=dt.date(2026, 4, 14),
        title=f"Comité {MARKER}",
        attendees=[f"Alice {MARKER}", "Paula Admin"],
        decisions=f"Décision {MARKER}",
        actions=[(f"Action {MARKER}", f"Owner {MARKER}", dt.date(2026, 5, 15))],
    ).pk


def victim_action_id(world: Any) -> int:
    from infogerance.sla.models import ActionItem

    return ActionItem.objects.filter(meeting_id=isolation.value("meeting_id", world)).get().pk


def victim_agent(world: Any) -> Any:
    """An enrolled agent of the victim, with two inventories and a performance summary."""
    from infogerance.inventory import services
    from infogerance.inventory.models import Agent
    from tests.inventory import factory

    _token, secret = services.create_enrollment_token(
        actor=world.user("p_admin"), client=world.victim, label=f"Rollout {MARKER}"
    )
    enrolled = services.enroll(
        actor=services.AGENT_ACTOR, body={"token": secret, "hostname": f"srv-{MARKER}"}
    )
    first = factory.inventory(f"srv-{MARKER}")
    second = {**first, "software": [*first["software"], {"name": MARKER, "source": "dpkg"}]}
    reports = [
        factory.report("inventory", 1, first),
        factory.report("inventory", 2, second),
        factory.performance(3),
    ]
    services.ingest(enrolled.agent, {"reports": reports}, actor=services.AGENT_ACTOR)
    return Agent.objects.get(pk=enrolled.agent.pk)


def victim_snapshots(world: Any) -> list[int]:
    from infogerance.inventory.models import InventorySnapshot

    agent = isolation.value("agent", world)
    return list(
        InventorySnapshot.objects.filter(asset_id=agent.asset_id)
        .order_by("collected_at", "pk")
        .values_list("pk", flat=True)
    )


def victim_licence(world: Any) -> int:
    from infogerance.inventory import services

    return services.save_licence(
        actor=world.user("p_admin"),
        client=world.victim,
        product=f"Office {MARKER}",
        software_name=MARKER,
        owned=5,
    ).pk


def victim_repository(world: Any) -> int:
    """A backup repository of the victim, with a run and a restore drill."""
    import datetime as dt
    import uuid

    from infogerance.backups import services

    repository = services.create_repository(
        actor=world.user("p_admin"),
        client=world.victim,
        name=f"repo-{MARKER}",
        location=f"/srv/{MARKER}",
    )
    at = dt.datetime(2026, 11, 28, 1, tzinfo=dt.UTC)
    services.record_run(
        actor=world.user("p_admin"),
        repository=repository,
        run_id=uuid.uuid4(),
        scope_name=f"scope-{MARKER}",
        started_at=at,
        finished_at=at + dt.timedelta(minutes=5),
        status="success",
        snapshot_id="cd" * 32,
    )
    services.record_drill(
        actor=world.user("p_admin"),
        repository=repository,
        drill_id=uuid.uuid4(),
        snapshot_id="cd" * 32,
        snapshot_time=at,
        started_at=at + dt.timedelta(hours=1),
        finished_at=at + dt.timedelta(hours=2),
        files_checked=3,
        bytes_checked=30,
        mismatches=0,
        evidence={"note": MARKER},
    )
    return repository.pk


isolation.register("repository_id", victim_repository)
# A well-formed snapshot id for generated bodies (not a lookup).
isolation.register("snapshot_id", lambda w: "ef" * 32, capability=True)
isolation.register("agent", victim_agent)
isolation.register("agent_id", lambda w: isolation.value("agent", w).pk)
isolation.register("asset_id", lambda w: isolation.value("agent", w).asset_id)
isolation.register("enrollment_token_id", lambda w: isolation.value("agent", w).enrolled_with_id)
isolation.register("from_snapshot", lambda w: victim_snapshots(w)[0])
isolation.register("to_snapshot", lambda w: victim_snapshots(w)[-1])
isolation.register("licence_id", victim_licence)
isolation.register("contract_id", victim_contract_id)
isolation.register("report_id", victim_report_id)
isolation.register("dispute_id", victim_dispute_id)
isolation.register("meeting_id", victim_meeting_id)
isolation.register("action_id", victim_action_id)
isolation.register("article_id", victim_article_id)
isolation.register("attachment_id", victim_attachment_id)
isolation.register("ticket_id", victim_ticket_id)
isolation.register("client_id", lambda w: w.victim.pk)
isolation.register("number", lambda w: 1)
isolation.register("name", lambda w: "HO-ext")
isolation.register(
    "uidb64", lambda w: urlsafe_base64_encode(force_bytes(w.user("a_user").pk)), capability=True
)
# A well-formed but wrong reset token: a right one is a credential, not a tenant lookup.
isolation.register("token", lambda w: "cx1a2b-0123456789abcdef0123456789abcdef", capability=True)


@pytest.fixture
def outsiders(world: Any) -> dict[str, Any]:
    return {
        "neighbour manager": world.user("b_manager"),
        "neighbour user": world.user("b_user"),
        "other provider admin": world.user("q_admin"),
    }


@pytest.mark.django_db
def test_every_page_hides_the_victim(world: Any, outsiders: dict[str, Any]) -> None:
    result = isolation.walk_urls(world, outsiders, marker=MARKER)
    assert not result.findings, "\n".join(map(str, result.findings))
    # The walk really visited the site: every named page of every app.
    assert {
        "organizations/<id:org_id>/",
        "audit/<id:event_id>/",
        "memberships/<id:membership_id>/remove/",
    } <= result.covered
    assert result.calls >= len(result.covered) * 8  # 2 methods x (3 outsiders + anonymous)


@pytest.mark.django_db
def test_every_api_operation_hides_the_victim(world: Any, outsiders: dict[str, Any]) -> None:
    from infogerance.api import api

    tokens = {
        who: create_token(actor=user, name="walker", scope="write")[1]
        for who, user in outsiders.items()
    }
    schema = api.get_openapi_schema()
    result = isolation.walk_api(world, tokens, marker=MARKER, schema=schema)
    assert not result.findings, "\n".join(map(str, result.findings))
    operations = {f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops}
    assert result.covered == operations


@pytest.mark.django_db
def test_the_walker_catches_a_leak(world: Any, outsiders: dict[str, Any]) -> None:
    """The walker is not a check that cannot fail: a deliberately leaky view is reported."""
    from django.http import HttpResponse
    from django.test import override_settings
    from django.urls import path

    from infogerance import urls as real_urls
    from infogerance.tenancy.models import Organization

    def leaky(request: Any, org_id: int) -> HttpResponse:
        return HttpResponse(Organization.objects.get(pk=org_id).name)

    class LeakyUrls:
        urlpatterns = [*real_urls.urlpatterns, path("leak/<int:org_id>/", leaky)]

    with override_settings(ROOT_URLCONF=LeakyUrls):
        result = isolation.walk_urls(
            world, outsiders, marker=MARKER, skip=lambda r: not r.pattern.startswith("leak/")
        )
    problems = {(f.who, f.problem) for f in result.findings}
    assert ("neighbour manager", "shows the victim's data") in problems
    assert ("anonymous", "anonymous access succeeded") in problems


@pytest.mark.django_db
def test_an_unregistered_parameter_fails_the_walk(world: Any) -> None:
    with pytest.raises(AssertionError, match="no victim value"):
        isolation.fill("things/<int:thing_id>/", world)


@pytest.mark.django_db
def test_every_agent_api_operation_hides_the_victim(world: Any) -> None:
    """The agent API, called with the credential of another client's agent and anonymously:
    nothing of the victim shows, nothing of the victim changes."""
    from infogerance.inventory import services
    from infogerance.inventory.agent_api import agent_api

    _token, secret = services.create_enrollment_token(
        actor=world.user("p_admin"), client=world.neighbour, label="neighbour"
    )
    neighbour_agent = services.enroll(
        actor=services.AGENT_ACTOR, body={"token": secret, "hostname": "n-01"}
    )
    schema = agent_api.get_openapi_schema()
    result = isolation.walk_api(
        world,
        {"neighbour's agent": neighbour_agent.credential},
        marker=MARKER,
        schema=schema,
        prefix="/api/agent/v1",
    )
    assert not result.findings, "\n".join(map(str, result.findings))
    operations = {f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops}
    assert (
        result.covered
        == operations
        == {
            "POST /api/agent/v1/enroll",
            "POST /api/agent/v1/reports",
            "GET /api/agent/v1/me",
        }
    )
