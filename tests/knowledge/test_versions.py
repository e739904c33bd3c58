"""Articles are written in immutable versions: a revision appends one, old versions stay
readable, a stale or empty revision changes nothing; every write is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from infogerance.core.testing.audit import audit_expected, no_audit
from infogerance.knowledge import services
from infogerance.knowledge.models import Article, ArticleVersion, Visibility

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(world: Any, write: Any) -> Article:
    article: Article = write(
        world.victim,
        "Réinitialiser un mot de passe AD",
        "1. Ouvrir la console\n2. Réinitialiser",
        visibility=Visibility.CLIENT,
        services=["HD", "INFRA"],
        note="Première rédaction",
    )
    return article


def state(article: Article) -> tuple[Any, ...]:
    article.refresh_from_db()
    return (
        article.title,
        article.current_version,
        article.visibility,
        article.services,
        article.versions.count(),
    )


def test_create_writes_version_one_and_an_event(world: Any, write: Any) -> None:
    with audit_expected("article.create", organization_id=world.victim.pk) as seen:
        article = write(
            world.victim, "  Procédure   VPN ", "\r\nÉtapes :\r\n- ouvrir\r\n\r\n", services=["HD"]
        )
    (version,) = article.versions.all()
    assert (version.number, version.title, version.body) == (
        1,
        "Procédure VPN",
        "Étapes :\n- ouvrir",
    )
    assert version.author_label == world.user("p_engineer").email
    assert version.author_id == world.user("p_engineer").pk
    event = seen.event
    assert event.target_id == str(article.pk)
    assert event.provider_id == world.provider.pk
    assert event.after["title"] == "Procédure VPN"
    assert event.after["visibility"] == "provider"
    assert event.after["services"] == ["HD"]
    assert event.after["current_version"] == 1


def test_a_global_article_is_filed_under_the_provider(world: Any, write: Any) -> None:
    with audit_expected("article.create", organization_id=world.provider.pk) as seen:
        article = write(world.provider, "Bonnes pratiques", visibility=Visibility.CLIENT)
    assert article.is_global
    assert seen.event.provider_id == world.provider.pk


def test_a_revision_appends_a_version(world: Any, article: Article) -> None:
    with audit_expected("article.revise", target_id=str(article.pk)) as seen:
        services.revise_article(
            article,
            actor=world.user("p_admin"),
            body="1. Ouvrir la console ADUC\n2. Réinitialiser\n3. Forcer le changement",
            note="Précisions",
            expected_version=1,
        )
    assert seen.event.before == {"current_version": 1}
    assert seen.event.after == {"current_version": 2, "note": "Précisions"}
    article.refresh_from_db()
    assert article.current_version == 2
    old, new = article.versions.order_by("number")
    assert (old.number, old.body, old.note) == (
        1,
        "1. Ouvrir la console\n2. Réinitialiser",
        "Première rédaction",
    )
    assert (new.number, new.title, new.note) == (
        2,
        "Réinitialiser un mot de passe AD",
        "Précisions",
    )
    assert new.body.endswith("3. Forcer le changement")
    assert article.current == new
    services.revise_article(article, actor=world.user("p_admin"), title="Mot de passe AD")
    assert [v.title for v in article.versions.order_by("number")] == [
        "Réinitialiser un mot de passe AD",
        "Réinitialiser un mot de passe AD",
        "Mot de passe AD",
    ]


def test_versions_are_immutable(article: Article) -> None:
    version = article.versions.get()
    version.body = "réécrit"
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    with pytest.raises(ValueError, match="never deleted"):
        version.delete()
    with pytest.raises(ValueError, match="immutable"):
        ArticleVersion.objects.filter(pk=version.pk).update(body="réécrit")
    with pytest.raises(ValueError, match="never deleted"):
        ArticleVersion.objects.filter(pk=version.pk).delete()
    version.refresh_from_db()
    assert version.body == "1. Ouvrir la console\n2. Réinitialiser"


def test_a_stale_version_is_refused_and_changes_nothing(world: Any, article: Article) -> None:
    engineer = world.user("p_engineer")
    services.revise_article(article, actor=engineer, body="v2", expected_version=1)
    before = state(article)
    with no_audit("article."), pytest.raises(ValidationError) as caught:
        services.revise_article(
            article,
            actor=world.user("p_admin"),
            body="v2 bis, écrite sur la version 1",
            visibility=Visibility.PROVIDER,
            expected_version=1,
        )
    assert caught.value.message_dict["version"] == [
        "This article changed meanwhile (version 2, not 1): reload it."
    ]
    assert state(article) == before


def test_a_revision_that_changes_nothing_is_refused(world: Any, article: Article) -> None:
    before = state(article)
    with no_audit("article."), pytest.raises(ValidationError) as caught:
        services.revise_article(
            article,
            actor=world.user("p_engineer"),
            title=" Réinitialiser un mot de passe AD ",
            body="1. Ouvrir la console\r\n2. Réinitialiser\r\n",
            services=["HD", "INFRA", "HD"],
            expected_version=1,
        )
    assert "__all__" in caught.value.message_dict
    assert state(article) == before


def test_visibility_and_services_change_without_a_version(world: Any, article: Article) -> None:
    with audit_expected("article.update", target_id=str(article.pk)) as seen:
        services.revise_article(
            article, actor=world.user("p_engineer"), visibility="provider", services=[]
        )
    assert seen.event.before == {"visibility": "client", "services": ["HD", "INFRA"]}
    assert seen.event.after == {"visibility": "provider", "services": []}
    assert state(article) == ("Réinitialiser un mot de passe AD", 1, "provider", [], 1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"body": "\n \n"}, "body"),
        ({"visibility": "everyone"}, "visibility"),
        ({"services": ["HD", "pas un code"]}, "services"),
        ({"note": "n" * 501}, "note"),
    ],
)
def test_bad_input_names_the_field(
    world: Any, article: Article, changes: dict[str, Any], field: str
) -> None:
    before = state(article)
    with no_audit("article."), pytest.raises(ValidationError) as caught:
        services.revise_article(article, actor=world.user("p_engineer"), **changes)
    assert field in caught.value.message_dict
    assert state(article) == before


def test_bad_input_creates_nothing(world: Any, write: Any, tickets: dict[str, Any]) -> None:
    with no_audit("article."), pytest.raises(ValidationError) as caught:
        write(world.victim, "", "", services=["?"], tickets=[tickets["neighbour"]])
    assert set(caught.value.message_dict) == {"title", "body", "services", "ticket_ids"}
    assert not Article.objects.exists()
    assert not ArticleVersion.objects.exists()


def test_link_and_unlink_tickets(world: Any, article: Article, tickets: dict[str, Any]) -> None:
    engineer = world.user("p_engineer")
    ticket = tickets["victim"]
    with audit_expected("article.link_ticket", target_id=str(article.pk)) as seen:
        services.link_ticket(article, actor=engineer, ticket=ticket)
    assert seen.event.after == {
        "ticket_id": ticket.pk,
        "ticket_number": ticket.number,
        "ticket_organization_id": world.victim.pk,
    }
    with no_audit("article."):  # already linked: nothing to do
        services.link_ticket(article, actor=engineer, ticket=ticket)
    assert list(article.tickets.all()) == [ticket]
    # A client article links its own client's tickets only.
    with no_audit("article."), pytest.raises(ValidationError) as caught:
        services.link_ticket(article, actor=engineer, ticket=tickets["neighbour"])
    assert "ticket_id" in caught.value.message_dict
    with audit_expected("article.unlink_ticket", target_id=str(article.pk)):
        services.unlink_ticket(article, actor=engineer, ticket=ticket)
    assert not article.tickets.exists()
    with no_audit("article."):
        services.unlink_ticket(article, actor=engineer, ticket=ticket)


def test_archive_and_bring_back(world: Any, article: Article) -> None:
    engineer = world.user("p_engineer")
    with audit_expected("article.archive", target_id=str(article.pk)) as seen:
        services.archive_article(article, actor=engineer)
    assert (seen.event.before, seen.event.after) == ({"archived": False}, {"archived": True})
    with no_audit("article."):
        services.archive_article(article, actor=engineer)
    with audit_expected("article.unarchive", target_id=str(article.pk)):
        services.archive_article(article, actor=engineer, archived=False)
    article.refresh_from_db()
    assert not article.archived


def test_old_versions_are_readable_on_the_page(world: Any, article: Article, login: Any) -> None:
    services.revise_article(article, actor=world.user("p_engineer"), body="Nouvelle méthode")
    client = login(world.user("a_user"))
    current = client.get(reverse("knowledge:article", kwargs={"article_id": article.pk}))
    assert current.status_code == 200
    assert "Nouvelle méthode" in current.content.decode()
    old_url = reverse("knowledge:article_version", kwargs={"article_id": article.pk, "number": 1})
    assert f'href="{old_url}"' in current.content.decode()  # the history links it
    old = client.get(old_url)
    assert old.status_code == 200
    assert old.context["version"].number == 1
    assert "Ouvrir la console" in old.content.decode()
    assert "Nouvelle méthode" not in old.content.decode()
    missing = reverse("knowledge:article_version", kwargs={"article_id": article.pk, "number": 3})
    assert client.get(missing).status_code == 404


def test_edit_from_the_form(world: Any, article: Article, login: Any) -> None:
    client = login(world.user("p_engineer"))
    url = reverse("knowledge:article_edit", kwargs={"article_id": article.pk})
    form = client.get(url)
    assert form.context["form"].initial["version"] == 1
    data = {
        "title": "Réinitialiser un mot de passe AD",
        "body": "Texte revu",
        "visibility": "client",
        "services": "HD, INFRA",
        "note": "Relu",
        "version": "1",
    }
    saved = client.post(url, data)
    assert saved.status_code == 302
    assert saved["Location"] == reverse("knowledge:article", kwargs={"article_id": article.pk})
    # The same form, sent again on version 1: stale, said at the top, nothing changed.
    stale = client.post(url, {**data, "body": "Autre texte"})
    assert stale.status_code == 200
    assert "changed meanwhile" in str(stale.context["form"].non_field_errors())
    assert state(article) == ("Réinitialiser un mot de passe AD", 2, "client", ["HD", "INFRA"], 2)


def test_create_from_the_form(world: Any, login: Any) -> None:
    client = login(world.user("p_engineer"))
    url = reverse("knowledge:article_create")
    bad = client.post(
        url,
        {
            "organization": world.victim.pk,
            "title": "x",
            "body": "y",
            "visibility": "client",
            "services": "HD, pas/bon",
        },
    )
    assert bad.status_code == 200
    assert "services" in bad.context["form"].errors
    outsider = client.post(
        url,
        {
            "organization": world.other_provider.pk,
            "title": "x",
            "body": "y",
            "visibility": "client",
        },
    )
    assert "organization" in outsider.context["form"].errors
    ok = client.post(
        url,
        {
            "organization": world.provider.pk,
            "title": "Sauvegardes",
            "body": "Vérifier chaque matin.",
            "visibility": "client",
            "services": "HD INFRA",
        },
    )
    article = Article.objects.get()
    assert ok.status_code == 302
    assert (article.organization, article.services) == (world.provider, ["HD", "INFRA"])


def test_link_from_the_page(
    world: Any, article: Article, tickets: dict[str, Any], login: Any
) -> None:
    client = login(world.user("p_engineer"))
    page = client.get(reverse("knowledge:article", kwargs={"article_id": article.pk}))
    assert [t.pk for t in page.context["linkable"]] == [tickets["victim"].pk]
    link = reverse("knowledge:article_link", kwargs={"article_id": article.pk})
    assert client.post(link, {"ticket_id": tickets["victim"].pk}).status_code == 302
    assert list(article.tickets.all()) == [tickets["victim"]]
    refused = client.post(link, {"ticket_id": tickets["neighbour"].pk}, follow=True)
    assert "another client" in refused.content.decode()
    assert client.post(link, {"ticket_id": "abc"}).status_code == 302
    unlink = reverse(
        "knowledge:article_unlink",
        kwargs={"article_id": article.pk, "ticket_id": tickets["victim"].pk},
    )
    assert client.post(unlink).status_code == 302
    assert not article.tickets.exists()
    assert client.post(unlink).status_code == 404
