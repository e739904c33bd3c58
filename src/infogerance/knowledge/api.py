from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from infogerance.core.api import (
    OMITTED,
    Id,
    Limit,
    Page,
    StrictSchema,
    actor_of,
    keyset_page,
    with_errors,
)
from infogerance.helpdesk.models import Ticket
from infogerance.knowledge import services
from infogerance.knowledge.models import Article, ArticleVersion, Visibility
from infogerance.knowledge.services import MAX_BODY, MAX_NOTE, MAX_SERVICES, MAX_TITLE
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import Perm

router = Router(tags=["knowledge"])

ServiceCode = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]


class ArticleOut(Schema):
    id: int
    organization_id: int
    is_global: bool = Field(description="Owned by the provider: shared with all its clients")
    visibility: str
    title: str
    body: str = Field(description="The text of the current version")
    services: list[str]
    ticket_ids: list[int] = Field(description="Linked tickets that the caller may see")
    current_version: int
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ArticleBrief(Schema):
    id: int
    organization_id: int
    visibility: str
    title: str
    services: list[str]
    current_version: int
    archived: bool
    updated_at: dt.datetime


class ArticleVersionOut(Schema):
    number: int
    title: str
    body: str
    note: str
    author_label: str
    created_at: dt.datetime


class ArticleIn(StrictSchema):
    organization_id: Id = Field(description="A client, or the provider for a global article")
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    body: str = Field(min_length=1, max_length=MAX_BODY)
    visibility: Visibility = Field(Visibility.PROVIDER, strict=False)
    services: list[ServiceCode] = Field([], max_length=MAX_SERVICES)
    ticket_ids: list[Id] = Field([], max_length=100)
    note: str = Field("", max_length=MAX_NOTE)


class ArticleReviseIn(StrictSchema):
    title: str = Field(OMITTED, min_length=1, max_length=MAX_TITLE)
    body: str = Field(OMITTED, min_length=1, max_length=MAX_BODY)
    visibility: Visibility = Field(OMITTED, strict=False)
    services: list[ServiceCode] = Field(OMITTED, max_length=MAX_SERVICES)
    note: str = Field("", max_length=MAX_NOTE)
    expected_version: int | None = Field(
        None, ge=1, description="The version the change was made on: refused if stale"
    )


class ArticleTicketIn(StrictSchema):
    ticket_id: Id


class ArticleArchiveIn(StrictSchema):
    archived: bool = True


def _find(request: HttpRequest, article_id: int) -> Article:
    article: Article = scope.get_visible_or_404(
        Article.objects.select_related("organization"), actor_of(request), pk=article_id
    )
    return article


def _out(article: Article, request: HttpRequest) -> dict[str, Any]:
    return {
        "id": article.pk,
        "organization_id": article.organization_id,
        "is_global": article.is_global,
        "visibility": article.visibility,
        "title": article.title,
        "body": article.current.body,
        "services": article.services,
        "ticket_ids": list(
            services.linked_tickets(article, actor_of(request)).values_list("pk", flat=True)
        ),
        "current_version": article.current_version,
        "archived": article.archived,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
    }


@router.get(
    "/articles",
    response=with_errors({200: Page[ArticleBrief]}),
    summary="Knowledge base articles (with q: a search, best title matches first)",
)
def list_articles(
    request: HttpRequest,
    q: str | None = None,
    organization_id: Id | None = None,
    include_archived: bool = False,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    actor = actor_of(request)
    if q and q.strip():
        articles = services.search(actor, q, include_archived=include_archived)
        field = "rank_key"
    else:
        articles = services.visible_articles(actor, include_archived=include_archived)
        field = "pk"
    if organization_id is not None:
        articles = articles.filter(organization_id=organization_id)
    return keyset_page(articles, cursor=cursor, limit=limit, field=field, descending=True)


@router.post("/articles", response=with_errors({201: ArticleOut}), summary="Write an article")
def create_article(request: HttpRequest, payload: ArticleIn) -> Any:
    actor = actor_of(request)
    organization = scope.get_visible_or_404(Organization, actor, pk=payload.organization_id)
    scope.require(actor, Perm.WORK_TICKETS, organization)
    tickets = [
        scope.get_visible_or_404(Ticket, actor, Perm.WORK_TICKETS, pk=ticket_id)
        for ticket_id in payload.ticket_ids
    ]
    article = services.create_article(
        actor=actor,
        organization=organization,
        title=payload.title,
        body=payload.body,
        visibility=payload.visibility,
        services=payload.services,
        tickets=tickets,
        note=payload.note,
    )
    return Status(201, _out(article, request))


@router.get("/articles/{article_id}", response=with_errors({200: ArticleOut}))
def get_article(request: HttpRequest, article_id: Id) -> Any:
    return _out(_find(request, article_id), request)


@router.get(
    "/articles/{article_id}/versions",
    response=with_errors({200: list[ArticleVersionOut]}),
    summary="Every version of the article, oldest first (immutable)",
)
def article_versions(request: HttpRequest, article_id: Id) -> Any:
    article = _find(request, article_id)
    return list(ArticleVersion.objects.filter(article=article).order_by("number"))


@router.get(
    "/articles/{article_id}/versions/{number}", response=with_errors({200: ArticleVersionOut})
)
def article_version(request: HttpRequest, article_id: Id, number: Id) -> Any:
    version = ArticleVersion.objects.filter(article=_find(request, article_id), number=number)
    found = version.first()
    if found is None:
        raise Http404("no such version")
    return found


@router.post(
    "/articles/{article_id}/revise",
    response=with_errors({200: ArticleOut}),
    summary="Change an article: a new version when the title or the text changes",
)
def revise_article(request: HttpRequest, article_id: Id, payload: ArticleReviseIn) -> Any:
    article = services.revise_article(
        _find(request, article_id),
        actor=actor_of(request),
        title=payload.title,
        body=payload.body,
        visibility=payload.visibility,
        services=payload.services,
        note=payload.note,
        expected_version=payload.expected_version,
    )
    return _out(article, request)


@router.post(
    "/articles/{article_id}/tickets",
    response=with_errors({200: ArticleOut}),
    summary="Link a ticket of the article's client (or of any client, for a global article)",
)
def link_ticket(request: HttpRequest, article_id: Id, payload: ArticleTicketIn) -> Any:
    actor = actor_of(request)
    article = _find(request, article_id)
    scope.require(actor, Perm.WORK_TICKETS, article.organization)
    ticket = scope.get_visible_or_404(Ticket, actor, Perm.WORK_TICKETS, pk=payload.ticket_id)
    return _out(services.link_ticket(article, actor=actor, ticket=ticket), request)


@router.delete(
    "/articles/{article_id}/tickets/{ticket_id}",
    response=with_errors({204: None}),
    summary="Unlink a ticket",
)
def unlink_ticket(request: HttpRequest, article_id: Id, ticket_id: Id) -> Any:
    article = _find(request, article_id)
    ticket = article.tickets.filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("this ticket is not linked")
    services.unlink_ticket(article, actor=actor_of(request), ticket=ticket)
    return Status(204, None)


@router.post(
    "/articles/{article_id}/archive",
    response=with_errors({200: ArticleOut}),
    summary="Archive an article (or bring it back with archived: false)",
)
def archive_article(request: HttpRequest, article_id: Id, payload: ArticleArchiveIn) -> Any:
    article = services.archive_article(
        _find(request, article_id), actor=actor_of(request), archived=payload.archived
    )
    return _out(article, request)
