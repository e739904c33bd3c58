"""The audit trail is append-only and hash-chained; `infogerance audit verify` finds tampering."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection, transaction

from infogerance.audit.models import GENESIS_HASH, AuditEvent
from infogerance.audit.services import record, verify_chain
from infogerance.cli import main
from infogerance.core.actors import SystemActor
from infogerance.core.testing.audit import audit_expected

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[AuditEvent]:
    return [
        record(actor=SystemActor("test"), action="test.event", after={"n": i}) for i in range(n)
    ]


def _raw(sql: str, params: list[Any]) -> None:
    """Tamper as a database administrator would: around the append-only triggers."""
    triggers = importlib.import_module("infogerance.audit.migrations.0002_append_only")
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
        else:
            for statement in triggers.SQLITE_DOWN:
                cursor.execute(statement)
            cursor.execute(sql, params)
            for statement in triggers.SQLITE:
                cursor.execute(statement)


def test_events_are_chained() -> None:
    first, second, third = _events(3)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert third.hash == third.compute_hash()
    report = verify_chain()
    assert report.ok
    assert report.checked == 3
    assert report.head_hash == third.hash


def test_the_orm_refuses_to_change_an_event() -> None:
    (event,) = _events(1)
    event.action = "forged"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_the_database_refuses_update_and_delete() -> None:
    (event,) = _events(1)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_verify_names_an_altered_row(capsys: Any) -> None:
    _events(5)
    _raw("UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s", ["mallory", 3])
    report = verify_chain()
    assert not report.ok
    assert report.problem is not None
    assert report.problem.seq == 3
    assert "altered" in report.problem.reason
    assert report.checked == 2  # events 1 and 2 were verified before the broken link
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN at event #3" in out
    assert "altered" in out


def test_verify_names_a_deleted_row(capsys: Any) -> None:
    _events(5)
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [2])
    report = verify_chain()
    assert report.problem is not None
    assert report.problem.seq == 3
    assert "#2 is missing" in report.problem.reason
    assert main(["audit", "verify"]) == 1
    assert "event #2 is missing (deleted)" in capsys.readouterr().out


def test_verify_catches_a_rehashed_forgery() -> None:
    """Rewriting a row and its own hash still breaks the next event's link."""
    events = _events(4)
    forged = AuditEvent.objects.get(seq=2)
    forged.actor_label = "mallory"
    new_hash = forged.compute_hash()
    _raw(
        "UPDATE audit_auditevent SET actor_label = %s, hash = %s WHERE seq = %s",
        ["mallory", new_hash, 2],
    )
    report = verify_chain()
    assert report.problem is not None
    assert report.problem.seq == 3
    assert "link" in report.problem.reason
    assert events[2].prev_hash != new_hash


def test_verify_with_an_anchor_catches_a_cut_tail(capsys: Any) -> None:
    events = _events(4)
    assert main(["audit", "verify"]) == 0
    head = capsys.readouterr().out.strip().rsplit("Head: ", 1)[1]
    assert head == f"4:{events[-1].hash}"
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [4])
    assert main(["audit", "verify"]) == 0  # a cut tail alone is a valid shorter chain...
    capsys.readouterr()
    assert main(["audit", "verify", "--expect-head", head]) == 1  # ...the anchor catches it
    assert "BROKEN at event #4" in capsys.readouterr().out


def test_services_write_events_with_before_and_after(world: Any) -> None:
    """Who, what, tenant, before and after: only the changed fields."""
    from infogerance.tenancy import services

    with audit_expected("organization.update", target_id=str(world.victim.pk)) as seen:
        services.update_organization(
            world.victim, actor=world.user("p_admin"), country="BE", legal_name="Nouveau nom SAS"
        )
    event = seen.event
    assert event.before == {"country": "FR", "legal_name": world.victim.legal_name}
    assert event.after == {"country": "BE", "legal_name": "Nouveau nom SAS"}
    assert event.actor_id == world.user("p_admin").pk
    assert event.organization_id == world.victim.pk
    assert event.provider_id == world.provider.pk
