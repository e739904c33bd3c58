"""Importing contracts and amendments; exports that re-import identically; diffs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from infogerance.contracts.export import to_yaml, unified_diff
from infogerance.contracts.loader import ContractFileError, load_contract
from infogerance.contracts.models import Contract, ContractVersion
from infogerance.contracts.services import import_contract
from infogerance.core.testing.audit import audit_expected

MINIMAL = (Path(__file__).parent / "minimal.yaml").read_text(encoding="utf-8")
pytestmark = pytest.mark.django_db


def test_import_then_export_is_stable(world: Any) -> None:
    with audit_expected("contract.version_create", organization_id=world.victim.pk):
        version = import_contract(actor=world.user("p_admin"), client=world.victim, text=MINIMAL)
    assert (version.number, version.effective_from) == (1, dt.date(2026, 1, 1))
    exported = to_yaml(version.parsed())
    # Re-reading the export gives the same terms, and exporting again the same bytes.
    again = load_contract(exported)
    assert again == version.parsed()
    assert to_yaml(again) == exported
    assert exported.startswith("# Infogérance contract")
    assert "monthly_fee: '12500.00'" in exported


def test_an_amendment_is_a_new_version(world: Any) -> None:
    admin = world.user("p_admin")
    first = import_contract(actor=admin, client=world.victim, text=MINIMAL)
    amended = MINIMAL.replace("compliance: 95", "compliance: 98")
    second = import_contract(
        actor=admin,
        client=world.victim,
        text=amended,
        effective_from=dt.date(2026, 7, 1),
        note="avenant n°1",
    )
    assert second.number == 2
    assert Contract.objects.count() == 1
    first.refresh_from_db()
    assert first.parsed().service_levels[0].compliance == 95  # the past is untouched
    contract = first.contract
    assert contract.version_in_force(dt.date(2026, 6, 30)) == first
    assert contract.version_in_force(dt.date(2026, 7, 1)) == second
    assert contract.version_in_force(dt.date(2025, 12, 31)) is None
    diff = unified_diff(first.parsed(), second.parsed(), "v1", "v2")
    assert "-    compliance: '95'" in diff
    assert "+    compliance: '98'" in diff
    with pytest.raises(ValueError, match="never edited"):
        first.save()


def test_an_identical_import_is_refused(world: Any) -> None:
    admin = world.user("p_admin")
    import_contract(actor=admin, client=world.victim, text=MINIMAL)
    with pytest.raises(ValidationError) as caught:
        import_contract(actor=admin, client=world.victim, text="# only a comment\n" + MINIMAL)
    assert "identical to version 1" in str(caught.value)
    assert ContractVersion.objects.count() == 1


def test_an_amendment_cannot_take_effect_before_the_last_one(world: Any) -> None:
    admin = world.user("p_admin")
    import_contract(
        actor=admin, client=world.victim, text=MINIMAL, effective_from=dt.date(2026, 3, 1)
    )
    with pytest.raises(ValidationError) as caught:
        import_contract(
            actor=admin,
            client=world.victim,
            text=MINIMAL.replace("compliance: 95", "compliance: 90"),
            effective_from=dt.date(2026, 2, 1),
        )
    assert "effective_from" in caught.value.message_dict


def test_bad_files_import_nothing(world: Any) -> None:
    with pytest.raises(ContractFileError):
        import_contract(
            actor=world.user("p_admin"),
            client=world.victim,
            text=MINIMAL.replace("metric: gti", "metric: speed"),
        )
    assert not Contract.objects.exists()
    assert not ContractVersion.objects.exists()


@pytest.mark.parametrize("who", ["a_manager", "p_engineer", "q_admin", "a_auditor"])
def test_only_provider_admins_import(world: Any, who: str) -> None:
    with pytest.raises(PermissionDenied):
        import_contract(actor=world.user(who), client=world.victim, text=MINIMAL)
    assert not Contract.objects.exists()


def test_the_terms_in_force_when_an_event_happened(world: Any) -> None:
    """An event at 23:30 UTC on 30 June is on 1 July in Paris: the amendment applies."""
    from zoneinfo import ZoneInfo

    admin = world.user("p_admin")
    first = import_contract(actor=admin, client=world.victim, text=MINIMAL)
    second = import_contract(
        actor=admin,
        client=world.victim,
        text=MINIMAL.replace("compliance: 95", "compliance: 98"),
        effective_from=dt.date(2026, 7, 1),
    )
    contract = first.contract
    utc = ZoneInfo("UTC")
    # 30 June 23:30 UTC = 1 July 01:30 in Paris (UTC+2 in summer).
    assert contract.version_at(dt.datetime(2026, 6, 30, 23, 30, tzinfo=utc)) == second
    # 30 June 21:59 UTC = 30 June 23:59 in Paris.
    assert contract.version_at(dt.datetime(2026, 6, 30, 21, 59, tzinfo=utc)) == first
