"""Backup runs and restore drills recorded per client and asset: rights, validation, replays,
the figures (RTO, RPO), the pages. Both databases."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from infogerance.accounts.services import create_token
from infogerance.audit.models import AuditEvent
from infogerance.backups import services
from infogerance.backups.models import BackupRepository, BackupRun, RestoreDrill

pytestmark = pytest.mark.django_db
UTC = dt.UTC
SNAPSHOT = "ab" * 32


def repository(world: Any, org: Any = None, name: str = "principal") -> Any:
    return services.create_repository(
        actor=world.user("p_admin"),
        client=org or world.victim,
        name=name,
        location="/srv/backups/victim",
        service_code="SAUV",
        key_reference="vault:backups/victim",
    )


def api(world: Any, who: str) -> Client:
    _row, secret = create_token(actor=world.user(who), name="t", scope="write")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def run_body(**extra: Any) -> dict[str, Any]:
    return {
        "run_id": str(uuid.uuid4()),
        "scope": "erp-db",
        "started_at": "2026-11-28T01:00:00+01:00",
        "finished_at": "2026-11-28T01:12:30+01:00",
        "status": "success",
        "snapshot_id": SNAPSHOT,
        "files": 1200,
        "bytes_read": 5_000_000,
        "bytes_added": 120_000,
        "verification": "subset",
        "verification_ok": True,
        **extra,
    }


def test_repositories_are_per_client_and_declared_by_the_provider(world: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.create_repository(
            actor=world.user("a_manager"), client=world.victim, name="x", location="/x"
        )
    repo = repository(world)
    with pytest.raises(ValidationError) as caught:
        services.create_repository(
            actor=world.user("p_admin"),
            client=world.victim,
            name="principal",
            location="",
            service_code="not a code!",
            repository_id="xyz",
        )
    assert set(caught.value.message_dict) == {"name", "location", "service_code", "repository_id"}
    assert repo.organization == world.victim


def test_a_repository_is_changed_by_the_provider_only(world: Any) -> None:
    repo = repository(world)
    repository(world, name="archives")
    url = f"/api/v1/backup-repositories/{repo.pk}"
    restic_id = "0f" * 32
    admin = api(world, "p_admin")

    def patch(client: Client, body: Any) -> Any:
        return client.patch(url, json.dumps(body), content_type="application/json")

    before = AuditEvent.objects.count()
    answer = patch(admin, {"repository_id": restic_id, "location": " s3:s3.example/victim "})
    assert answer.status_code == 200, answer.content
    assert (answer.json()["repository_id"], answer.json()["location"]) == (
        restic_id,
        "s3:s3.example/victim",
    )
    event = AuditEvent.objects.get(action="backups.repository_update")
    assert event.before == {"location": "/srv/backups/victim", "repository_id": ""}
    assert event.after == {"location": "s3:s3.example/victim", "repository_id": restic_id}
    assert AuditEvent.objects.count() == before + 1
    # The same values again: nothing changes, nothing is filed.
    assert patch(admin, {"repository_id": restic_id}).status_code == 200
    assert AuditEvent.objects.count() == before + 1
    # Bad values name their fields and change nothing.
    bad = patch(admin, {"name": "archives", "repository_id": "xyz", "service_code": "a b"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"name", "repository_id", "service_code"}
    assert patch(admin, {"location": None}).status_code == 422  # no null to empty a field
    repo.refresh_from_db()
    assert (repo.name, repo.repository_id, repo.service_code) == ("principal", restic_id, "SAUV")
    # The client's IT manager reads it but may not change it; another client finds nothing.
    assert patch(api(world, "a_manager"), {"location": "/x"}).status_code == 403
    assert patch(api(world, "b_manager"), {"location": "/x"}).status_code == 404
    assert BackupRepository.objects.get(pk=repo.pk).location == "s3:s3.example/victim"


def test_a_run_through_the_api_once(world: Any) -> None:
    repo = repository(world)
    engineer = api(world, "p_engineer")
    body = run_body()
    url = f"/api/v1/backup-repositories/{repo.pk}/runs"
    first = engineer.post(url, json.dumps(body), content_type="application/json")
    assert first.status_code == 201, first.content
    # 01:00 to 01:12:30: 750 seconds.
    assert first.json()["duration_seconds"] == 750.0
    replay = engineer.post(url, json.dumps(body), content_type="application/json")
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    assert BackupRun.objects.count() == 1
    # The client's IT manager reads; may not record.
    manager = api(world, "a_manager")
    assert manager.get(url).json()["items"][0]["run_id"] == body["run_id"]
    refused = manager.post(url, json.dumps(run_body()), content_type="application/json")
    assert refused.status_code == 403
    # Another client sees nothing.
    assert api(world, "b_manager").get(url).status_code == 404


def test_a_bad_run_names_its_fields_and_stores_nothing(world: Any) -> None:
    repo = repository(world)
    engineer = api(world, "p_engineer")
    url = f"/api/v1/backup-repositories/{repo.pk}/runs"
    bad = run_body(finished_at="2026-11-28T00:59:00+01:00", snapshot_id=None, verification="deep")
    answer = engineer.post(url, json.dumps(bad), content_type="application/json")
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"finished_at", "snapshot_id", "verification"}
    other_asset = engineer.post(
        url, json.dumps(run_body(asset_id=999_999)), content_type="application/json"
    )
    assert other_asset.status_code == 400 and "asset_id" in other_asset.json()["errors"]
    assert not BackupRun.objects.exists()


def test_a_drill_measures_rto_and_rpo(world: Any) -> None:
    repo = repository(world)
    snapshot_time = dt.datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    started = dt.datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    drill, created = services.record_drill(
        actor=world.user("p_engineer"),
        repository=repo,
        drill_id=uuid.uuid4(),
        snapshot_id=SNAPSHOT,
        snapshot_time=snapshot_time,
        started_at=started,
        finished_at=started + dt.timedelta(minutes=14, seconds=5),
        files_checked=20_000,
        bytes_checked=2 * 2**30,
        mismatches=0,
    )
    # RTO: 14 min 5 s = 845 s. RPO: from 23:00 to 09:00 the next day = 10 h = 36,000 s.
    assert (created, drill.passed, drill.rto_seconds, drill.rpo_seconds) == (
        True,
        True,
        845.0,
        36_000.0,
    )
    failed, _created = services.record_drill(
        actor=world.user("p_engineer"),
        repository=repo,
        drill_id=uuid.uuid4(),
        snapshot_id=SNAPSHOT,
        snapshot_time=snapshot_time,
        started_at=started,
        finished_at=started + dt.timedelta(minutes=1),
        files_checked=10,
        bytes_checked=100,
        mismatches=1,
        evidence={"differ": ["etc/passwd"]},
    )
    assert not failed.passed
    with pytest.raises(ValidationError) as caught:
        services.record_drill(
            actor=world.user("p_engineer"),
            repository=repo,
            drill_id=uuid.uuid4(),
            snapshot_id=SNAPSHOT,
            snapshot_time=started + dt.timedelta(hours=1),
            started_at=started,
            finished_at=started,
            files_checked=1,
            bytes_checked=1,
            mismatches=2,
        )
    assert set(caught.value.message_dict) == {"snapshot_time", "mismatches"}
    assert RestoreDrill.objects.count() == 2


def test_the_pages(world: Any) -> None:
    repo = repository(world)
    services.record_run(
        actor=world.user("p_engineer"),
        repository=repo,
        run_id=uuid.uuid4(),
        scope_name="erp-db",
        started_at=dt.datetime(2026, 11, 28, 1, tzinfo=UTC),
        finished_at=dt.datetime(2026, 11, 28, 1, 5, tzinfo=UTC),
        status="failed",
        error="disk full",
    )
    client = Client()
    client.force_login(world.user("a_manager"))
    listing = client.get("/backups/").content.decode()
    assert "principal" in listing
    page = client.get(f"/backups/{repo.pk}/").content.decode()
    assert "erp-db" in page and "disk full" in page
    neighbour = Client()
    neighbour.force_login(world.user("b_manager"))
    assert neighbour.get(f"/backups/{repo.pk}/").status_code == 404


def test_a_repository_is_recorded_and_edited_through_the_pages(world: Any) -> None:
    admin = Client(headers={"Accept-Language": "en"})  # English messages
    admin.force_login(world.user("p_admin"))
    assert "/backups/new/" in admin.get("/backups/").content.decode()
    form = admin.get("/backups/new/").content.decode()
    # The provider's clients, and no one else's.
    assert world.victim.name in form and "Client B" in form and "Provider Q" not in form
    fields = {
        "organization": str(world.victim.pk),
        "name": " principal ",
        "location": "/srv/backups/victim",
        "service_code": "SAUV",
        "key_reference": "vault:backups/victim",
        "repository_id": "",
    }
    answer = admin.post("/backups/new/", fields)
    repo = BackupRepository.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/backups/{repo.pk}/"
    assert (repo.organization_id, repo.name, repo.service_code) == (
        world.victim.pk,
        "principal",  # trimmed by the service
        "SAUV",
    )
    assert AuditEvent.objects.filter(action="backups.repository_create").count() == 1
    # The same name again for the same client: the field is named, nothing is written.
    again = admin.post("/backups/new/", fields)
    assert again.status_code == 200
    assert "This client already has a repository of this name." in again.content.decode()
    assert BackupRepository.objects.count() == 1
    # A client of another provider, forged into the form: refused by the form's choices.
    forged = admin.post("/backups/new/", {**fields, "name": "x", "organization": "999999"})
    assert forged.status_code == 200 and BackupRepository.objects.count() == 1
    # Edit: the restic id printed by `backup init`; a bad one names the field.
    assert f"/backups/{repo.pk}/edit/" in admin.get(f"/backups/{repo.pk}/").content.decode()
    edited = {k: v for k, v in fields.items() if k != "organization"}
    bad = admin.post(f"/backups/{repo.pk}/edit/", {**edited, "repository_id": "xyz"})
    assert "64 hexadecimal digits" in bad.content.decode()
    repo.refresh_from_db()
    assert repo.repository_id == ""
    good = admin.post(f"/backups/{repo.pk}/edit/", {**edited, "repository_id": "c" * 64})
    assert good.status_code == 302
    repo.refresh_from_db()
    assert repo.repository_id == "c" * 64 and repo.name == "principal"
    update = AuditEvent.objects.get(action="backups.repository_update")
    assert update.after == {"repository_id": "c" * 64}


def test_only_the_provider_records_or_edits_repositories_on_the_pages(world: Any) -> None:
    repo = repository(world)
    manager = Client()
    manager.force_login(world.user("a_manager"))  # sees the repository, may not change it
    assert "/backups/new/" not in manager.get("/backups/").content.decode()
    assert f"/backups/{repo.pk}/edit/" not in manager.get(f"/backups/{repo.pk}/").content.decode()
    assert manager.get("/backups/new/").status_code == 403
    assert manager.get(f"/backups/{repo.pk}/edit/").status_code == 403
    refused = manager.post(f"/backups/{repo.pk}/edit/", {"name": "x", "location": "/tmp"})
    assert refused.status_code == 403
    outsider = Client()
    outsider.force_login(world.user("q_admin"))  # another provider: nothing to find
    assert outsider.get(f"/backups/{repo.pk}/edit/").status_code == 404
    assert outsider.post(f"/backups/{repo.pk}/edit/", {"name": "x"}).status_code == 404
    repo.refresh_from_db()
    assert repo.name == "principal" and repo.location == "/srv/backups/victim"
