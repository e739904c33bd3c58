"""Attachments: limits and types from settings, sanitised names, served only to who may see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from infogerance.contracts.services import import_contract
from infogerance.helpdesk import services
from infogerance.helpdesk.attachments import add_attachment, clean_name
from infogerance.helpdesk.models import Attachment

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(world: Any) -> Any:
    contract = import_contract(
        actor=world.user("p_admin"), client=world.victim, text=MINIMAL
    ).contract
    return services.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="Écran noir",
        impact="low",
        urgency="low",
    )


def test_names_are_sanitised() -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\Zoé\\relevé d'activité.PDF") == "releve d_activite.PDF"
    assert clean_name("<script>.png") == "_script_.png"
    assert clean_name("...") == "file"


def test_upload_and_download(world: Any, ticket: Any, login: Any) -> None:
    client = login(world.user("a_user"))
    response = client.post(
        reverse("helpdesk:ticket_attach", kwargs={"ticket_id": ticket.pk}),
        {"file": SimpleUploadedFile("capture écran.png", b"\x89PNG data")},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert (attachment.name, attachment.size) == ("capture ecran.png", 9)
    assert attachment.sha256 in attachment.file.name  # stored under an opaque name
    url = reverse(
        "helpdesk:attachment", kwargs={"ticket_id": ticket.pk, "attachment_id": attachment.pk}
    )
    download = client.get(url)
    assert b"".join(download.streaming_content) == b"\x89PNG data"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert login(world.user("b_manager")).get(url).status_code == 404
    assert ticket.events.filter(kind="attachment").count() == 1


def test_bad_files_change_nothing(world: Any, ticket: Any, settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 10
    user = world.user("a_user")
    with pytest.raises(ValidationError, match="too large"):
        add_attachment(ticket, actor=user, name="big.txt", content=b"x" * 11)
    with pytest.raises(ValidationError, match="not accepted"):
        add_attachment(ticket, actor=user, name="setup.exe", content=b"MZ")
    with pytest.raises(ValidationError, match="empty"):
        add_attachment(ticket, actor=user, name="vide.txt", content=b"")
    assert not Attachment.objects.exists()
    assert ticket.events.count() == 1


def test_internal_files_stay_with_the_provider(world: Any, ticket: Any, login: Any) -> None:
    note = add_attachment(
        ticket, actor=world.user("p_engineer"), name="diag.log", content=b"trace", internal=True
    )
    url = reverse("helpdesk:attachment", kwargs={"ticket_id": ticket.pk, "attachment_id": note.pk})
    assert login(world.user("a_manager")).get(url).status_code == 404
    assert login(world.user("p_engineer")).get(url).status_code == 200
    page = login(world.user("a_manager")).get(
        reverse("helpdesk:ticket", kwargs={"ticket_id": ticket.pk})
    )
    assert b"diag.log" not in page.content


def test_attachments_and_survey_through_the_api(world: Any, ticket: Any, api_token: Any) -> None:
    from django.test import Client

    user = Client(headers={"Authorization": f"Bearer {api_token(world.user('a_user'))}"})
    url = f"/api/v1/tickets/{ticket.pk}/attachments"
    missing = user.post(url)
    assert missing.status_code == 400
    assert "file" in missing.json()["errors"]
    created = user.post(url, {"file": SimpleUploadedFile("log.txt", b"journal")})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["size"]) == ("log.txt", 7)
    assert [a["id"] for a in user.get(url).json()] == [body["id"]]
    download = user.get(f"{url}/{body['id']}")
    assert b"".join(download.streaming_content) == b"journal"
    outsider = Client(headers={"Authorization": f"Bearer {api_token(world.user('b_manager'))}"})
    assert outsider.get(f"{url}/{body['id']}").status_code == 404
    assert outsider.post(url, {"file": SimpleUploadedFile("x.txt", b"x")}).status_code == 404
    services.transition(ticket, actor=world.user("p_engineer"), status="resolved")
    survey = user.post(
        f"/api/v1/tickets/{ticket.pk}/survey", data={"score": 5}, content_type="application/json"
    )
    assert survey.status_code == 201
    assert survey.json()["score"] == 5
    again = user.post(
        f"/api/v1/tickets/{ticket.pk}/survey", data={"score": 4}, content_type="application/json"
    )
    assert again.status_code == 400
    assert user.get("/api/v1/notifications").json()["items"] == []
