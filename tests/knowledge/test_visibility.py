"""Who reads which article: provider staff read their whole tree; a client's members read the
client-visible articles of their client and the client-visible global articles of their
provider; nobody reads across providers. Writing is the provider staff's."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from infogerance.audit.models import AuditEvent
from infogerance.core.testing.audit import audit_expected, no_audit
from infogerance.knowledge import services
from infogerance.knowledge.models import Article, ArticleVersion, Visibility
from infogerance.tenancy import scope

pytestmark = pytest.mark.django_db

PROVIDER_STAFF = {"a_prov", "a_client", "b_client", "g_client", "g_prov"}
EXPECTED = {
    "p_admin": PROVIDER_STAFF,
    "p_engineer": PROVIDER_STAFF,
    "p_auditor": PROVIDER_STAFF,
    "a_manager": {"a_client", "g_client"},
    "a_user": {"a_client", "g_client"},
    "a_auditor": {"a_client", "g_client"},
    "b_manager": {"b_client", "g_client"},
    "b_user": {"b_client", "g_client"},
    "q_admin": {"q_client"},
}


@pytest.fixture
def library(world: Any, write: Any) -> dict[str, Article]:
    client, provider = Visibility.CLIENT, Visibility.PROVIDER
    return {
        "a_prov": write(world.victim, "a_prov", visibility=provider),
        "a_client": write(world.victim, "a_client", visibility=client),
        "b_client": write(world.neighbour, "b_client", visibility=client),
        "g_client": write(world.provider, "g_client", visibility=client),
        "g_prov": write(world.provider, "g_prov", visibility=provider),
        "q_client": write(world.other_provider, "q_client", who="q_admin", visibility=client),
    }


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_the_visibility_matrix(world: Any, library: dict[str, Article], who: str) -> None:
    user = world.user(who)
    seen = set(services.visible_articles(user).values_list("title", flat=True))
    assert seen == EXPECTED[who]
    # Versions follow their article.
    versions = scope.visible(ArticleVersion, user).values_list("article__title", flat=True)
    assert set(versions) == EXPECTED[who]
    # The lookup of one article agrees with the list.
    for name, article in library.items():
        if name in EXPECTED[who]:
            assert scope.get_visible_or_404(Article, user, pk=article.pk) == article
        else:
            with pytest.raises(Http404):
                scope.get_visible_or_404(Article, user, pk=article.pk)


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_pages_follow_the_matrix(
    world: Any, library: dict[str, Article], login: Any, who: str
) -> None:
    client = login(world.user(who))
    listing = client.get(reverse("knowledge:articles")).content.decode()
    for name, article in library.items():
        page = client.get(reverse("knowledge:article", kwargs={"article_id": article.pk}))
        if name in EXPECTED[who]:
            assert page.status_code == 200
            assert f">{name}</a>" in listing
        else:
            assert page.status_code == 404
            assert f">{name}</a>" not in listing


def test_a_probe_on_a_hidden_article_is_filed_under_its_owner(
    world: Any, library: dict[str, Article]
) -> None:
    hidden = library["a_prov"]
    with (
        audit_expected("access.denied", target_id=str(hidden.pk)) as seen,
        pytest.raises(Http404),
    ):
        scope.get_visible_or_404(Article, world.user("a_manager"), pk=hidden.pk)
    event: AuditEvent = seen.event
    assert (event.organization_id, event.provider_id) == (world.victim.pk, world.provider.pk)


def test_an_archived_article_leaves_the_lists_but_stays_readable(
    world: Any, library: dict[str, Article]
) -> None:
    article = library["a_client"]
    services.archive_article(article, actor=world.user("p_engineer"))
    reader = world.user("a_user")
    assert article not in services.visible_articles(reader)
    assert article in services.visible_articles(reader, include_archived=True)
    assert scope.get_visible_or_404(Article, reader, pk=article.pk) == article


@pytest.mark.parametrize(
    ("who", "owner"),
    [
        ("a_manager", "victim"),
        ("a_user", "victim"),
        ("a_auditor", "victim"),
        ("p_auditor", "victim"),
        ("p_auditor", "provider"),
        ("q_admin", "victim"),
        ("q_admin", "provider"),
        ("b_manager", "provider"),
    ],
)
def test_only_provider_staff_write(world: Any, write: Any, who: str, owner: str) -> None:
    organization = world.victim if owner == "victim" else world.provider
    with no_audit("article."), pytest.raises(PermissionDenied):
        write(organization, "Procédure", who=who)
    assert not Article.objects.exists()


def test_client_members_cannot_change_what_they_read(
    world: Any, library: dict[str, Article], login: Any, tickets: dict[str, Any]
) -> None:
    article = library["a_client"]
    manager = world.user("a_manager")
    for action in (
        lambda: services.revise_article(article, actor=manager, title="Autre"),
        lambda: services.archive_article(article, actor=manager),
        lambda: services.link_ticket(article, actor=manager, ticket=tickets["victim"]),
    ):
        with no_audit("article."), pytest.raises(PermissionDenied):
            action()
    client = login(manager)
    edit = reverse("knowledge:article_edit", kwargs={"article_id": article.pk})
    with audit_expected("access.denied"):
        assert client.get(edit).status_code == 403
    assert client.post(edit, {"title": "x", "body": "y", "visibility": "client"}).status_code == 403
    assert client.get(reverse("knowledge:article_create")).status_code == 403
    archive = reverse("knowledge:article_archive", kwargs={"article_id": article.pk})
    assert client.post(archive).status_code == 403
    link = reverse("knowledge:article_link", kwargs={"article_id": article.pk})
    assert client.post(link, {"ticket_id": tickets["victim"].pk}).status_code == 403
    article.refresh_from_db()
    assert (article.title, article.current_version, article.archived) == ("a_client", 1, False)
    assert not article.tickets.exists()


def test_linked_tickets_are_shown_to_those_who_see_them(
    world: Any, write: Any, tickets: dict[str, Any], login: Any
) -> None:
    """A global article may link tickets of several clients: each client sees its own."""
    article = write(
        world.provider,
        "Redémarrer le spouleur",
        visibility=Visibility.CLIENT,
        tickets=[tickets["victim"], tickets["neighbour"]],
    )
    url = reverse("knowledge:article", kwargs={"article_id": article.pk})
    expectations = {
        "p_engineer": {"Imprimante du 2e étage", "Messagerie lente"},
        "a_user": {"Imprimante du 2e étage"},
        "b_manager": {"Messagerie lente"},
    }
    for who, titles in expectations.items():
        page = login(world.user(who)).get(url)
        shown = {t.title for t in page.context["tickets"]}
        assert shown == titles, who
        for title in {"Imprimante du 2e étage", "Messagerie lente"} - titles:
            assert title not in page.content.decode()
    assert set(services.linked_tickets(article, world.user("a_auditor"))) == {tickets["victim"]}


def test_the_create_form_offers_the_writers_organisations(world: Any, login: Any) -> None:
    page = login(world.user("p_engineer")).get(reverse("knowledge:article_create"))
    choices = dict(page.context["form"].fields["organization"].choices)
    assert list(choices) == [world.provider.pk, world.victim.pk, world.neighbour.pk]
    page = login(world.user("q_admin")).get(reverse("knowledge:article_create"))
    assert list(dict(page.context["form"].fields["organization"].choices)) == [
        world.other_provider.pk
    ]
