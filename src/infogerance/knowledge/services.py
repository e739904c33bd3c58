"""Writes on the knowledge base, and its reads: visible articles and search.

Provider staff (``Perm.WORK_TICKETS``) write; everyone reads what the visibility rule of
:class:`~infogerance.knowledge.models.ArticleQuerySet` lets them read. Every write is audited
under the article's tenant; a revision appends an immutable version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    Case,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.core.actors import actor_id, actor_label
from infogerance.core.services import service
from infogerance.core.snapshots import changed, snapshot
from infogerance.helpdesk.models import Ticket
from infogerance.helpdesk.services import visible_tickets
from infogerance.knowledge.models import Article, ArticleVersion, Visibility
from infogerance.knowledge.text import normalize, search_terms
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import Perm

MAX_TITLE = 200
MAX_BODY = 100_000
MAX_NOTE = 500
MAX_SERVICES = 50
# The same pattern as a service code in a contract file.
SERVICE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# Search ranks are packed with the id into one unique, orderable key (cursor pagination).
RANK_STEP = 2**60
# Audited fields of an article (the text is in its versions).
AUDITED = ("organization", "title", "visibility", "services", "current_version", "archived")


# --- Reads -----------------------------------------------------------------------------------


def visible_articles(user: Any, *, include_archived: bool = False) -> QuerySet[Article]:
    """Articles ``user`` may read (the visibility rule is the queryset's ``in_scope``)."""
    articles = scope.visible(Article, user).select_related("organization")
    if not include_archived:
        articles = articles.filter(archived=False)
    return articles


def search(user: Any, query: str, *, include_archived: bool = False) -> QuerySet[Article]:
    """Visible articles whose current title or text holds every word of ``query``.

    Case and accents are ignored (both sides are folded by ``text.normalize``); a word
    matches inside a longer one ("imprim" finds "imprimante"). Ranked by title: the whole
    query in the title first, then every word in the title, then some word in the title,
    then text-only matches; most recently updated first within a rank. Each row carries
    ``rank`` and ``rank_key`` (rank and id in one unique key, for cursor pagination).
    """
    articles = visible_articles(user, include_archived=include_archived)
    terms = search_terms(query)
    if not terms:
        return articles.none().annotate(rank=Value(0), rank_key=F("pk"))
    for term in terms:
        articles = articles.filter(search_text__contains=term)
    all_in_title = Q()
    any_in_title = Q(pk__in=[])
    for term in terms:
        all_in_title &= Q(search_title__contains=term)
        any_in_title |= Q(search_title__contains=term)
    rank = Case(
        When(search_title__contains=" ".join(terms), then=Value(3)),
        When(all_in_title, then=Value(2)),
        When(any_in_title, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return (
        articles.annotate(rank=rank)
        .annotate(
            rank_key=ExpressionWrapper(
                F("rank") * Value(RANK_STEP) + F("pk"), output_field=BigIntegerField()
            )
        )
        .order_by("-rank", "-updated_at", "-pk")
    )


def linked_tickets(article: Article, user: Any) -> QuerySet[Ticket]:
    """The article's tickets that ``user`` may see (a client user: their own requests only;
    another client's tickets linked to a global article: never)."""
    return (
        visible_tickets(user)
        .filter(knowledge_articles=article)
        .select_related("organization")
        .order_by("-created_at", "-pk")
    )


def _tenant_tickets(organization: Organization) -> Q:
    """Tickets an article of ``organization`` may link: its own, or its clients' for a
    provider's global article."""
    if organization.is_provider:
        return Q(organization_id=organization.pk) | Q(organization__provider_id=organization.pk)
    return Q(organization_id=organization.pk)


def linkable_tickets(article: Article, user: Any, limit: int = 200) -> list[Ticket]:
    """Recent tickets of the article's tenant that ``user`` works and that are not linked."""
    return list(
        scope.visible(Ticket, user, Perm.WORK_TICKETS)
        .filter(_tenant_tickets(article.organization))
        .exclude(knowledge_articles=article)
        .select_related("organization")
        .order_by("-created_at", "-pk")[:limit]
    )


def writable_organizations(user: Any) -> list[Organization]:
    """Organisations where ``user`` may write articles: providers first, then clients."""
    organizations = scope.visible(Organization, user, Perm.WORK_TICKETS).filter(is_active=True)
    return sorted(organizations, key=lambda o: (not o.is_provider, o.name.casefold(), o.pk))


# --- Validation ------------------------------------------------------------------------------


def _clean_text(value: str) -> str:
    """Line ends as ``\\n``; no blank lines or trailing spaces around the text."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip("\n").rstrip()


def _check_content(
    title: str, body: str, note: str, errors: dict[str, list[str]]
) -> tuple[str, str, str]:
    title = " ".join(title.split())
    body = _clean_text(body)
    note = " ".join(note.split())
    if not title:
        errors["title"] = [_("This field is required.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [_("At most %(n)d characters.") % {"n": MAX_TITLE}]
    if not body.strip():
        errors["body"] = [_("This field is required.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [_("At most %(n)d characters.") % {"n": MAX_BODY}]
    if len(note) > MAX_NOTE:
        errors["note"] = [_("At most %(n)d characters.") % {"n": MAX_NOTE}]
    return title, body, note


def _check_visibility(visibility: str, errors: dict[str, list[str]]) -> None:
    if visibility not in Visibility.values:
        errors["visibility"] = [_("Choose provider or client.")]


def _check_services(codes: Iterable[Any], errors: dict[str, list[str]]) -> list[str]:
    cleaned: list[str] = []
    for code in codes:
        if not isinstance(code, str) or not SERVICE_CODE.match(code):
            errors["services"] = [
                _("%(code)s is not a service code (letters, digits, . _ -).") % {"code": code}
            ]
            return []
        if code not in cleaned:
            cleaned.append(code)
    if len(cleaned) > MAX_SERVICES:
        errors["services"] = [_("At most %(n)d services.") % {"n": MAX_SERVICES}]
    return cleaned


def _check_tickets(
    organization: Organization, tickets: Iterable[Ticket], errors: dict[str, list[str]]
) -> list[Ticket]:
    tickets = list(dict.fromkeys(tickets))
    if not tickets:
        return []
    ids = {t.pk for t in tickets}
    owned = set(
        Ticket.objects.filter(pk__in=ids)
        .filter(_tenant_tickets(organization))
        .values_list("pk", flat=True)
    )
    if owned != ids:
        errors["ticket_ids"] = [_("A ticket of another client cannot be linked to this article.")]
    return tickets


def _check_version(article: Article, expected: int | None) -> None:
    if expected is not None and expected != article.current_version:
        raise ValidationError(
            {
                "version": [
                    _("This article changed meanwhile (version %(now)d, not %(seen)d): reload it.")
                    % {"now": article.current_version, "seen": expected}
                ]
            }
        )


# --- Writes ----------------------------------------------------------------------------------


def _locked(article: Article) -> Article:
    locked: Article = (
        Article.objects.select_for_update().select_related("organization").get(pk=article.pk)
    )
    return locked


def _project(article: Article, title: str, body: str) -> None:
    article.title = title
    article.search_title = normalize(title)
    article.search_text = normalize(f"{title}\n{body}")


def _append_version(
    article: Article, *, actor: Any, title: str, body: str, note: str
) -> ArticleVersion:
    version: ArticleVersion = ArticleVersion.objects.create(
        article=article,
        number=article.current_version,
        title=title,
        body=body,
        note=note,
        author_id=actor_id(actor),
        author_label=actor_label(actor)[:254],
    )
    return version


@service
def create_article(
    *,
    actor: Any,
    organization: Organization,
    title: str,
    body: str,
    visibility: str = Visibility.PROVIDER,
    services: Iterable[str] = (),
    tickets: Iterable[Ticket] = (),
    note: str = "",
) -> Article:
    """A new article of a client, or a global one when ``organization`` is a provider."""
    scope.require(actor, Perm.WORK_TICKETS, organization)
    errors: dict[str, list[str]] = {}
    title, body, note = _check_content(title, body, note, errors)
    _check_visibility(visibility, errors)
    codes = _check_services(services, errors)
    linked = _check_tickets(organization, tickets, errors)
    if errors:
        raise ValidationError(errors)
    article = Article(
        organization=organization,
        visibility=visibility,
        services=codes,
        current_version=1,
    )
    _project(article, title, body)
    article.save()
    _append_version(article, actor=actor, title=title, body=body, note=note)
    if linked:
        article.tickets.add(*linked)
    record(
        actor=actor,
        action="article.create",
        target=article,
        after={
            **snapshot(article, AUDITED),
            "note": note,
            "ticket_ids": sorted(t.pk for t in linked),
        },
        tenant=organization.tenant,
    )
    return article


@service
def revise_article(
    article: Article,
    *,
    actor: Any,
    title: str | None = None,
    body: str | None = None,
    note: str = "",
    visibility: str | None = None,
    services: Iterable[str] | None = None,
    expected_version: int | None = None,
) -> Article:
    """A new version when the title or the text changes; the visibility and the services
    change on the article itself. ``None`` keeps a value. A stale ``expected_version`` or a
    revision that changes nothing is refused, and nothing is written."""
    article = _locked(article)
    scope.require(actor, Perm.WORK_TICKETS, article.organization)
    _check_version(article, expected_version)
    current = article.current
    errors: dict[str, list[str]] = {}
    new_title, new_body, note = _check_content(
        current.title if title is None else title,
        current.body if body is None else body,
        note,
        errors,
    )
    if visibility is not None:
        _check_visibility(visibility, errors)
    codes = _check_services(services, errors) if services is not None else article.services
    if errors:
        raise ValidationError(errors)
    before = snapshot(article, AUDITED)
    new_version = new_title != current.title or new_body != current.body
    if new_version:
        article.current_version += 1
        _project(article, new_title, new_body)
    if visibility is not None:
        article.visibility = visibility
    article.services = codes
    old, new = changed(before, snapshot(article, AUDITED))
    if not new:
        raise ValidationError({"__all__": [_("Nothing changed: the article is as it was.")]})
    article.save()
    if new_version:
        _append_version(article, actor=actor, title=new_title, body=new_body, note=note)
    record(
        actor=actor,
        action="article.revise" if new_version else "article.update",
        target=article,
        before=old,
        after={**new, "note": note} if note else new,
        tenant=article.organization.tenant,
    )
    return article


@service
def link_ticket(article: Article, *, actor: Any, ticket: Ticket) -> Article:
    """Link a ticket of the article's tenant (already linked: nothing to do)."""
    article = _locked(article)
    scope.require(actor, Perm.WORK_TICKETS, article.organization)
    errors: dict[str, list[str]] = {}
    _check_tickets(article.organization, [ticket], errors)
    if errors:
        raise ValidationError({"ticket_id": errors["ticket_ids"]})
    if article.tickets.filter(pk=ticket.pk).exists():
        return article
    article.tickets.add(ticket)
    article.save(update_fields=["updated_at"])
    record(
        actor=actor,
        action="article.link_ticket",
        target=article,
        after={
            "ticket_id": ticket.pk,
            "ticket_number": ticket.number,
            "ticket_organization_id": ticket.organization_id,
        },
        tenant=article.organization.tenant,
    )
    return article


@service
def unlink_ticket(article: Article, *, actor: Any, ticket: Ticket) -> Article:
    """Remove a ticket from the article (not linked: nothing to do)."""
    article = _locked(article)
    scope.require(actor, Perm.WORK_TICKETS, article.organization)
    if not article.tickets.filter(pk=ticket.pk).exists():
        return article
    article.tickets.remove(ticket)
    article.save(update_fields=["updated_at"])
    record(
        actor=actor,
        action="article.unlink_ticket",
        target=article,
        before={
            "ticket_id": ticket.pk,
            "ticket_number": ticket.number,
            "ticket_organization_id": ticket.organization_id,
        },
        tenant=article.organization.tenant,
    )
    return article


@service
def archive_article(article: Article, *, actor: Any, archived: bool = True) -> Article:
    """Archive an article (it leaves lists and search, stays readable by its address), or
    bring it back with ``archived=False``."""
    article = _locked(article)
    scope.require(actor, Perm.WORK_TICKETS, article.organization)
    if article.archived == archived:
        return article
    article.archived = archived
    article.save()
    record(
        actor=actor,
        action="article.archive" if archived else "article.unarchive",
        target=article,
        before={"archived": not archived},
        after={"archived": archived},
        tenant=article.organization.tenant,
    )
    return article
