"""Victim values of the knowledge base for the isolation walker (tests/test_isolation.py).

``article_id`` is an article of the victim client, shared with the client, with the marker in
its title and text, on version 2 (so that ``number`` 1 is an older version), linked to the
victim's ticket.
"""

from __future__ import annotations

from typing import Any

from infogerance.core.testing import isolation
from tests.conftest import MARKER


def victim_article_id(world: Any) -> int:
    from infogerance.helpdesk.models import Ticket
    from infogerance.knowledge.models import Visibility
    from infogerance.knowledge.services import create_article, revise_article

    engineer = world.user("p_engineer")
    article = create_article(
        actor=engineer,
        organization=world.victim,
        title=f"Procédure {MARKER}",
        body=f"Redémarrer le serveur {MARKER}.",
        visibility=Visibility.CLIENT,
        services=["HD"],
        tickets=[Ticket.objects.get(pk=isolation.value("ticket_id", world))],
        note=f"Rédaction {MARKER}",
    )
    revise_article(article, actor=engineer, body=f"Redémarrer puis vérifier {MARKER}.")
    return article.pk
