"""The shipped examples validate, import, export and re-import identically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from infogerance.contracts.export import to_yaml
from infogerance.contracts.loader import load_contract
from infogerance.contracts.services import import_contract

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_are_three_examples() -> None:
    assert [p.name for p in EXAMPLES] == [
        "contrat-infogerance-globale.yaml",
        "contrat-marche-public-ccag-tic.yaml",
        "contrat-plan-de-secours.yaml",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_round_trip(path: Path, world: Any) -> None:
    document = load_contract(path.read_bytes())
    version = import_contract(
        actor=world.user("p_admin"), client=world.victim, text=path.read_bytes()
    )
    exported = to_yaml(version.parsed())
    assert load_contract(exported) == document
    assert to_yaml(load_contract(exported)) == exported  # byte for byte
    with pytest.raises(ValidationError, match="identical to version 1"):
        import_contract(actor=world.user("p_admin"), client=world.victim, text=exported)


def test_examples_use_the_domain() -> None:
    """Spot checks that the examples say what the issue asks of them."""
    by_name = {p.stem: load_contract(p.read_bytes()) for p in EXAMPLES}
    fm = by_name["contrat-infogerance-globale"]
    assert {t.value for t in fm.types} >= {"facilities_management", "helpdesk", "tma"}
    assert fm.penalties.caps.contract_pct is not None
    gti_p1 = [s for s in fm.service_levels if s.metric.value == "gti" and s.priority == "P1"]
    assert gti_p1
    assert gti_p1[0].calendar == "24x7"
    dr = by_name["contrat-plan-de-secours"]
    assert "dr" in {t.value for t in dr.types}
    assert dr.continuity.rpo
    assert dr.continuity.rto
    assert dr.continuity.fallback_premises
    public = by_name["contrat-marche-public-ccag-tic"]
    assert public.acceptance is not None
    assert public.acceptance.vsr_max_unavailability_pct == 2
    assert any(r.kind.value == "public_delay" for r in public.penalties.rules)
    assert any(
        "FR-ALSACE-MOSELLE" in [h.value for h in c.holidays] for c in public.calendars.values()
    )
