"""The knowledge base: articles and their immutable versions.

An article belongs to one client organisation, or to a provider (a *global* article, shared
with every client of that provider). Its ``visibility`` says who reads it: the provider's staff
only, or also the members of the client (of every client, for a global article). Editing an
article appends a version; the article row keeps the current title and the search columns as
a projection, written by the services in the same transaction as the version.

The visibility rule is part of the read path: :meth:`ArticleQuerySet.in_scope` applies it, so
``tenancy.scope.visible`` and ``get_visible_or_404`` answer for articles like for any other
tenant-owned row.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from infogerance.core.models import Immutable, Scope, TenantOwned, TenantQuerySet, TimeStamped
from infogerance.tenancy.models import Organization


class Visibility(models.TextChoices):
    PROVIDER = "provider", _("Provider staff only")
    CLIENT = "client", _("Provider staff and client members")


class ArticleQuerySet(TenantQuerySet["Article"]):
    def in_scope(self, scope: Scope) -> ArticleQuerySet:
        """Articles readable with ``scope``.

        A role held in a provider (``scope.provider_ids``) reads every article of the
        provider and of its clients. A role held in a client (``scope.org_ids``) reads the
        client-visible articles of that client and the client-visible global articles of its
        provider, never the provider-only ones.
        """
        if scope.is_empty:
            return self.none()
        query = Q(pk__in=[])
        if scope.provider_ids:
            query |= Scope(provider_ids=scope.provider_ids).q(
                Article.TENANT_ORG_FIELD, Article.TENANT_PROVIDER_FIELD
            )
        if scope.org_ids:
            org_ids = sorted(scope.org_ids)
            their_providers = Organization.objects.filter(
                pk__in=org_ids, provider__isnull=False
            ).values("provider_id")
            query |= Q(visibility=Visibility.CLIENT) & (
                Q(organization_id__in=org_ids) | Q(organization_id__in=their_providers)
            )
        return self.filter(query)


class Article(TenantOwned, TimeStamped):
    title = models.CharField(_("title"), max_length=200)
    visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.PROVIDER
    )
    services = models.JSONField(_("services"), default=list, blank=True)
    tickets = models.ManyToManyField(
        "helpdesk.Ticket",
        related_name="knowledge_articles",
        blank=True,
        verbose_name=_("tickets"),
    )
    current_version = models.PositiveIntegerField(_("version"), default=1)
    archived = models.BooleanField(_("archived"), default=False)
    # The current version folded by text.normalize(): what search reads.
    search_title = models.TextField(editable=False, default="")
    search_text = models.TextField(editable=False, default="")

    objects: ClassVar[Any] = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            models.Index(fields=["organization", "archived"], name="knowledge_article_org"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_global(self) -> bool:
        """Owned by a provider: shared with every client of that provider."""
        return bool(self.organization.is_provider)

    @property
    def current(self) -> ArticleVersion:
        version: ArticleVersion = self.versions.get(number=self.current_version)
        return version


class ArticleVersionQuerySet(TenantQuerySet["ArticleVersion"]):
    def in_scope(self, scope: Scope) -> ArticleVersionQuerySet:
        """A version is readable by whoever reads its article."""
        return self.filter(article__in=Article.objects.all().in_scope(scope).values("pk"))

    def update(self, **kwargs: Any) -> int:
        raise ValueError("article versions are immutable: revise the article")

    def delete(self) -> Any:
        raise ValueError("article versions are never deleted")


class ArticleVersion(Immutable):
    EDIT_REFUSED: ClassVar[str] = "article versions are immutable: revise the article"
    DELETE_REFUSED: ClassVar[str] = "article versions are never deleted"

    TENANT_ORG_FIELD: ClassVar[str] = "article__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "article__organization__provider_id"

    article = models.ForeignKey(
        Article, on_delete=models.PROTECT, related_name="versions", verbose_name=_("article")
    )
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    note = models.CharField(_("change note"), max_length=500, blank=True)
    author_id = models.BigIntegerField(null=True, blank=True)
    author_label = models.CharField(_("author"), max_length=254)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    objects: ClassVar[Any] = ArticleVersionQuerySet.as_manager()

    class Meta:
        ordering = ["article", "number"]
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="knowledge_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"
