"""The contracts API: import with errors by line, versions, catalogue, calendars, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from infogerance.contracts.models import Contract

MINIMAL = (Path(__file__).parent / "minimal.yaml").read_text(encoding="utf-8")
pytestmark = pytest.mark.django_db


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def post_import(client: Client, body: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/contracts/import", data=json.dumps(body), content_type="application/json"
    )


def test_import_and_read(world: Any, api_token: Any) -> None:
    admin = bearer(api_token(world.user("p_admin")))
    created = post_import(admin, {"client_id": world.victim.pk, "content": MINIMAL})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"] == 1
    assert body["document"]["reference"] == "TEST-001"
    contract_id = body["contract_id"]
    reader = bearer(api_token(world.user("a_user")))
    listed = reader.get("/api/v1/contracts").json()["items"]
    assert [c["reference"] for c in listed] == ["TEST-001"]
    catalogue = reader.get(f"/api/v1/contracts/{contract_id}/catalogue").json()
    assert [s["code"] for s in catalogue] == ["HD", "INFRA"]
    levels = reader.get(f"/api/v1/contracts/{contract_id}/service-levels?date=2026-02-01")
    assert [s["id"] for s in levels.json()] == ["gti-p1", "dispo-infra"]
    calendars = reader.get(f"/api/v1/contracts/{contract_id}/calendars").json()
    assert {"HO", "HNO", "24x7", "HO-ext"} <= set(calendars)
    yaml_text = reader.get(f"/api/v1/contracts/{contract_id}/versions/1/yaml")
    assert yaml_text["Content-Type"] == "application/yaml"
    assert b"reference: TEST-001" in yaml_text.content
    # Before the term starts, no version is in force.
    before = reader.get(f"/api/v1/contracts/{contract_id}/catalogue?date=2025-06-01")
    assert before.status_code == 404


def test_business_duration_endpoint(world: Any, api_token: Any) -> None:
    admin = bearer(api_token(world.user("p_admin")))
    contract_id = post_import(admin, {"client_id": world.victim.pk, "content": MINIMAL}).json()[
        "contract_id"
    ]
    url = f"/api/v1/contracts/{contract_id}/calendars/HO-ext/business-duration"
    # Friday 2026-03-06 18:00 → Monday 2026-03-09 09:00 in HO-ext (07:30–19:00):
    # Friday 18:00–19:00 = 1 h, Monday 07:30–09:00 = 1 h 30: 2 h 30 = 9,000 s.
    response = admin.get(
        url, {"start": "2026-03-06T18:00:00+01:00", "end": "2026-03-09T09:00:00+01:00"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["seconds"] == 9000
    naive = admin.get(url, {"start": "2026-03-06T18:00:00", "end": "2026-03-09T09:00:00"})
    assert naive.status_code == 400
    assert set(naive.json()["errors"]) == {"start", "end"}
    unknown = admin.get(
        url.replace("HO-ext", "nope"),
        {"start": "2026-03-06T18:00:00+01:00", "end": "2026-03-09T09:00:00+01:00"},
    )
    assert unknown.status_code == 404


def test_a_bad_file_gives_lines_and_imports_nothing(world: Any, api_token: Any) -> None:
    admin = bearer(api_token(world.user("p_admin")))
    response = post_import(
        admin,
        {"client_id": world.victim.pk, "content": MINIMAL.replace("metric: gti", "metric: speed")},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["content.service_levels.0.metric"]
    line = next(i for i, t in enumerate(MINIMAL.splitlines(), 1) if "metric: gti" in t)
    assert errors["content.service_levels.0.metric"][0].startswith(f"line {line}, column ")
    assert not Contract.objects.exists()


def test_the_schema_is_served_and_committed(world: Any, api_token: Any) -> None:
    from infogerance.contracts.format import json_schema

    served = bearer(api_token(world.user("a_user"))).get("/api/v1/contracts/schema").json()
    assert served == json_schema()
    committed = Path(__file__).resolve().parents[2] / "docs" / "contract.schema.json"
    current = json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True)
    assert committed.read_text(encoding="utf-8").strip() == current.strip(), (
        "the contract format changed: run `make openapi` to refresh docs/contract.schema.json"
    )


def test_client_users_cannot_import(world: Any, api_token: Any) -> None:
    manager = bearer(api_token(world.user("a_manager")))
    response = post_import(manager, {"client_id": world.victim.pk, "content": MINIMAL})
    assert response.status_code == 403
    outsider = bearer(api_token(world.user("q_admin")))
    assert (
        post_import(outsider, {"client_id": world.victim.pk, "content": MINIMAL}).status_code == 404
    )
    assert not Contract.objects.exists()
