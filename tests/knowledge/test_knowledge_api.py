"""The knowledge base API: write, revise with a version check, search with cursor pagination,
versions, ticket links; the house error format; the visibility rule on every read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from infogerance.core.testing.audit import audit_expected, no_audit
from infogerance.knowledge.models import Article

pytestmark = pytest.mark.django_db


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def api(world: Any, api_token: Any) -> dict[str, Client]:
    return {
        who: bearer(api_token(world.user(who)))
        for who in ("p_engineer", "a_manager", "a_user", "b_manager", "q_admin")
    }


def create(api: dict[str, Client], organization: Any, **fields: Any) -> Any:
    body = {
        "organization_id": organization.pk,
        "title": "Sauvegarde Veeam en échec",
        "body": "Relancer le job.\nVérifier le dépôt.",
        "visibility": "client",
        "services": ["INFRA"],
        **fields,
    }
    return post(api["p_engineer"], "/api/v1/articles", body)


def test_create_get_and_read_versions(world: Any, api: dict[str, Client]) -> None:
    with audit_expected("article.create", organization_id=world.victim.pk):
        created = create(api, world.victim, note="Retour d'expérience")
    assert created.status_code == 201, created.content
    article = created.json()
    assert article["current_version"] == 1
    assert article["body"] == "Relancer le job.\nVérifier le dépôt."
    assert (article["visibility"], article["services"], article["is_global"]) == (
        "client",
        ["INFRA"],
        False,
    )
    url = f"/api/v1/articles/{article['id']}"
    read = api["a_user"].get(url)
    assert read.status_code == 200
    assert read.json()["title"] == "Sauvegarde Veeam en échec"
    assert api["b_manager"].get(url).status_code == 404
    assert api["q_admin"].get(url).status_code == 404
    versions = api["a_manager"].get(f"{url}/versions").json()
    assert [(v["number"], v["note"]) for v in versions] == [(1, "Retour d'expérience")]
    assert api["a_user"].get(f"{url}/versions/1").json()["body"].startswith("Relancer")
    assert api["a_user"].get(f"{url}/versions/2").status_code == 404


def test_revise_with_the_version_check(world: Any, api: dict[str, Client]) -> None:
    article = create(api, world.victim).json()
    url = f"/api/v1/articles/{article['id']}/revise"
    engineer = api["p_engineer"]
    with audit_expected("article.revise", target_id=str(article["id"])):
        revised = post(engineer, url, {"body": "Relancer le job Veeam.", "expected_version": 1})
    assert revised.status_code == 200, revised.content
    assert (revised.json()["current_version"], revised.json()["body"]) == (
        2,
        "Relancer le job Veeam.",
    )
    with no_audit("article."):
        stale = post(engineer, url, {"title": "Autre titre", "expected_version": 1})
        same = post(engineer, url, {"body": "Relancer le job Veeam."})
        refused = post(api["a_manager"], url, {"title": "Par le client"})
    assert stale.status_code == 400
    assert stale.json()["errors"]["version"] == [
        "This article changed meanwhile (version 2, not 1): reload it."
    ]
    assert same.status_code == 400
    assert "__all__" in same.json()["errors"]
    assert refused.status_code == 403
    versions = api["p_engineer"].get(f"/api/v1/articles/{article['id']}/versions").json()
    assert [v["title"] for v in versions] == ["Sauvegarde Veeam en échec"] * 2
    assert [v["body"] for v in versions] == [
        "Relancer le job.\nVérifier le dépôt.",
        "Relancer le job Veeam.",
    ]


def test_schema_errors_name_the_field(world: Any, api: dict[str, Client]) -> None:
    bad = create(api, world.victim, services=["pas un code"], colour="blue")
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"services.0", "colour"}
    article = create(api, world.victim).json()
    null = post(api["p_engineer"], f"/api/v1/articles/{article['id']}/revise", {"title": None})
    assert null.status_code == 422
    assert not Article.objects.exclude(pk=article["id"]).exists()


def test_clients_and_outsiders_do_not_write(world: Any, api: dict[str, Client]) -> None:
    body = {"organization_id": world.victim.pk, "title": "t", "body": "b"}
    with audit_expected("access.denied"):
        assert post(api["a_manager"], "/api/v1/articles", body).status_code == 403
    assert post(api["b_manager"], "/api/v1/articles", body).status_code == 404
    assert post(api["q_admin"], "/api/v1/articles", body).status_code == 404
    assert not Article.objects.exists()


def test_read_only_tokens_do_not_write(world: Any, api_token: Any) -> None:
    reader = bearer(api_token(world.user("p_engineer"), scope="read"))
    body = {"organization_id": world.victim.pk, "title": "t", "body": "b"}
    assert post(reader, "/api/v1/articles", body).status_code == 403
    assert not Article.objects.exists()


def test_list_search_and_cursor_pagination(world: Any, api: dict[str, Client]) -> None:
    for index in range(5):
        create(api, world.victim, title=f"Note {index}", body="Sans rapport.")
    for index in range(3):
        create(api, world.victim, title=f"Disque {index}", body="Espace disque.")
    create(api, world.victim, title="Serveur", body="Le DISQUE système est plein.")
    create(api, world.victim, title="Interne disque", body="x", visibility="provider")
    create(api, world.provider, title="Disque global", body="y")

    def walk(client: Client, query: str) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"q": query, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/api/v1/articles", params).json()
            seen += [a["title"] for a in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return seen

    found = walk(api["a_user"], "DISQUE")
    # Title matches first (newest first among them), then the text-only match; no provider-only.
    assert found == ["Disque global", "Disque 2", "Disque 1", "Disque 0", "Serveur"]
    assert len(walk(api["p_engineer"], "disque")) == 6
    everything = api["a_user"].get("/api/v1/articles", {"limit": 200}).json()
    assert everything["next_cursor"] is None
    assert len(everything["items"]) == 10
    mine = api["a_user"].get("/api/v1/articles", {"organization_id": world.provider.pk}).json()
    assert [a["title"] for a in mine["items"]] == ["Disque global"]
    bad = api["a_user"].get("/api/v1/articles", {"cursor": "nope!"})
    assert bad.status_code == 400
    assert "cursor" in bad.json()["errors"]


def test_link_unlink_and_archive(
    world: Any, api: dict[str, Client], tickets: dict[str, Any]
) -> None:
    article = create(api, world.victim).json()
    url = f"/api/v1/articles/{article['id']}"
    engineer = api["p_engineer"]
    with audit_expected("article.link_ticket", target_id=str(article["id"])):
        linked = post(engineer, f"{url}/tickets", {"ticket_id": tickets["victim"].pk})
    assert linked.status_code == 200
    assert linked.json()["ticket_ids"] == [tickets["victim"].pk]
    other = post(engineer, f"{url}/tickets", {"ticket_id": tickets["neighbour"].pk})
    assert other.status_code == 400
    assert "ticket_id" in other.json()["errors"]
    assert api["a_user"].get(url).json()["ticket_ids"] == [tickets["victim"].pk]
    assert (
        post(api["a_manager"], f"{url}/tickets", {"ticket_id": tickets["victim"].pk}).status_code
        == 403
    )
    gone = engineer.delete(f"{url}/tickets/{tickets['victim'].pk}")
    assert gone.status_code == 204
    assert engineer.delete(f"{url}/tickets/{tickets['victim'].pk}").status_code == 404
    archived = post(engineer, f"{url}/archive", {})
    assert archived.json()["archived"] is True
    assert api["a_user"].get("/api/v1/articles").json()["items"] == []
    listed = api["a_user"].get("/api/v1/articles", {"include_archived": "true"}).json()
    assert [a["id"] for a in listed["items"]] == [article["id"]]
    assert post(engineer, f"{url}/archive", {"archived": False}).json()["archived"] is False


def test_global_articles_link_tickets_of_every_client(
    world: Any, api: dict[str, Client], tickets: dict[str, Any]
) -> None:
    article = create(
        api, world.provider, ticket_ids=[tickets["victim"].pk, tickets["neighbour"].pk]
    ).json()
    assert article["is_global"] is True
    url = f"/api/v1/articles/{article['id']}"
    assert api["b_manager"].get(url).json()["ticket_ids"] == [tickets["neighbour"].pk]
    assert api["a_user"].get(url).json()["ticket_ids"] == [tickets["victim"].pk]
    assert api["q_admin"].get(url).status_code == 404
