"""Search: every word, in the current title or text, whatever the case and accents; title
matches first; only what the person may read; a live partial for the search box."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from infogerance.knowledge import services
from infogerance.knowledge.models import Article, Visibility
from infogerance.knowledge.text import excerpt, normalize, search_terms

pytestmark = pytest.mark.django_db


def titles(user: Any, query: str, **options: Any) -> list[str]:
    return [a.title for a in services.search(user, query, **options)]


@pytest.fixture
def library(world: Any, write: Any) -> dict[str, Article]:
    client = Visibility.CLIENT
    return {
        "printer": write(
            world.victim,
            "Imprimante réseau bloquée",
            "Redémarrer le spouleur d'impression, puis vider la file.",
            visibility=client,
        ),
        "vpn_body": write(
            world.victim,
            "Accès distant",
            "Le client VPN doit être en version 7 ; réinstaller si l'ÉCRAN reste noir.",
            visibility=client,
        ),
        "vpn_title": write(
            world.provider, "VPN : diagnostic", "Vérifier le certificat.", visibility=client
        ),
        "secret": write(
            world.victim,
            "Mot de passe du VPN d'administration",
            "Coffre n°3.",
            visibility=Visibility.PROVIDER,
        ),
    }


def test_case_and_accents_do_not_matter(world: Any, library: dict[str, Article]) -> None:
    user = world.user("a_user")
    for query in ("IMPRIMANTE", "reseau", "bloquee", "Réseau BLOQUÉE", "imprim", "spouleur"):
        assert titles(user, query) == ["Imprimante réseau bloquée"], query
    assert titles(user, "ecran noir") == ["Accès distant"]
    assert titles(user, "imprimante vpn") == []  # every word must match
    assert titles(user, "   ") == []


def test_title_matches_come_first(world: Any, library: dict[str, Article]) -> None:
    # The body-only match is the most recently updated, and still comes after.
    services.revise_article(
        library["vpn_body"], actor=world.user("p_engineer"), note="relu", body="VPN : version 8."
    )
    assert titles(world.user("a_user"), "vpn") == ["VPN : diagnostic", "Accès distant"]
    ranked = services.search(world.user("p_engineer"), "vpn")
    assert [a.rank for a in ranked] == [3, 3, 0]
    assert ranked[2].title == "Accès distant"


def test_search_reads_only_what_the_person_may_read(
    world: Any, library: dict[str, Article]
) -> None:
    assert "Mot de passe du VPN d'administration" in titles(world.user("p_auditor"), "vpn")
    assert "Mot de passe du VPN d'administration" not in titles(world.user("a_manager"), "vpn")
    assert titles(world.user("b_user"), "vpn") == ["VPN : diagnostic"]
    assert titles(world.user("q_admin"), "vpn") == []


def test_search_reads_the_current_version(world: Any, library: dict[str, Article]) -> None:
    services.revise_article(
        library["printer"], actor=world.user("p_engineer"), body="Changer la cartouche."
    )
    user = world.user("a_user")
    assert titles(user, "spouleur") == []
    assert titles(user, "cartouche") == ["Imprimante réseau bloquée"]


def test_archived_articles_are_found_on_request(world: Any, library: dict[str, Article]) -> None:
    services.archive_article(library["printer"], actor=world.user("p_engineer"))
    user = world.user("a_user")
    assert titles(user, "imprimante") == []
    assert titles(user, "imprimante", include_archived=True) == ["Imprimante réseau bloquée"]


def test_the_search_box_answers_a_live_partial(
    world: Any, library: dict[str, Article], login: Any
) -> None:
    client = login(world.user("a_user"))
    url = reverse("knowledge:articles")
    full = client.get(url, {"q": "reseau"})
    assert full.status_code == 200
    assert "<html" in full.content.decode()
    assert 'id="kb-results"' in full.content.decode()
    partial = client.get(url, {"q": "spouleur"}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body
    assert "Imprimante réseau bloquée" in body
    assert "Accès distant" not in body
    assert "<mark>spouleur</mark>" in body  # the excerpt marks the word
    empty = client.get(url, {"q": "introuvable"}, headers={"HX-Request": "true"})
    assert "No article matches this search." in empty.content.decode()


def test_folding() -> None:
    assert normalize("  Éléphant\tROSE\nStraße ") == "elephant rose strasse"
    assert search_terms("Le  le LÉ vpn") == ["le", "vpn"]
    assert len(search_terms(" ".join(f"w{i}" for i in range(20)))) == 8


def test_excerpts_mark_the_words_and_escape_the_rest() -> None:
    text = "Début. " + "x " * 200 + "Puis <b>Réseau</b> & imprimante ÉTAGE."
    piece = excerpt(text, "reseau etage")
    assert piece.startswith("…")
    assert "&lt;b&gt;<mark>Réseau</mark>&lt;/b&gt; &amp; imprimante <mark>ÉTAGE</mark>" in piece
    assert "<b>" not in piece
    assert excerpt("Straße 1", "strasse") == "<mark>Straße</mark> 1"
    assert excerpt("court", "absent") == "court"
