from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infogerance.core.forms import apply_errors
from infogerance.helpdesk.models import Ticket
from infogerance.knowledge import services
from infogerance.knowledge.forms import ArticleForm, split_codes
from infogerance.knowledge.models import Article, ArticleVersion
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

PAGE = 50
MAX_QUERY = 200


def _find(request: HttpRequest, article_id: int) -> Article:
    article: Article = scope.get_visible_or_404(
        Article.objects.select_related("organization"), request.user, pk=article_id
    )
    return article


def _flag(value: str | None) -> bool:
    return value in {"1", "on", "true"}


@login_required
def article_list(request: HttpRequest) -> HttpResponse:
    """The articles a person may read; the search box answers live (HTMX partial)."""
    user: Any = request.user
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    archived = _flag(request.GET.get("archived"))
    if query:
        articles = services.search(user, query, include_archived=archived)
    else:
        articles = services.visible_articles(user, include_archived=archived).order_by(
            "-updated_at", "-pk"
        )
    rows = list(articles[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    bodies: dict[int, str] = {}
    if query and rows:
        # The current text of the shown articles, for the excerpts around the words found.
        bodies = dict(
            ArticleVersion.objects.filter(
                article__in=[a.pk for a in rows], number=F("article__current_version")
            ).values_list("article_id", "body")
        )
    context = {
        "results": [(article, bodies.get(article.pk, "")) for article in rows],
        "query": query,
        "archived": archived,
        "more": more,
        "can_write": bool(services.writable_organizations(user)),
    }
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render(request, "knowledge/_results.html", context)
    return render(request, "knowledge/article_list.html", context)


def _page(request: HttpRequest, article: Article, version: ArticleVersion) -> HttpResponse:
    user: Any = request.user
    can_write = scope.has_perm(user, Perm.WORK_TICKETS, article.organization)
    linkable = services.linkable_tickets(article, user) if can_write else []
    context = {
        "article": article,
        "version": version,
        "is_current": version.number == article.current_version,
        "history": article.versions.defer("body").order_by("-number"),
        "tickets": services.linked_tickets(article, user),
        "linkable": linkable,
        "can_write": can_write,
    }
    return render(request, "knowledge/article_detail.html", context)


@login_required
def article_detail(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _find(request, article_id)
    return _page(request, article, article.current)


@login_required
def article_version(request: HttpRequest, article_id: int, number: int) -> HttpResponse:
    """An older version, as it was written."""
    article = _find(request, article_id)
    version = article.versions.filter(number=number).first()
    if version is None:
        raise Http404("no such version")
    return _page(request, article, version)


def _organization_choices(user: Any) -> list[tuple[int, str]]:
    choices = []
    for organization in services.writable_organizations(user):
        if organization.is_provider:
            label = _("%(name)s — every client (global article)") % {"name": organization.name}
        else:
            label = organization.name
        choices.append((organization.pk, label))
    return choices


def _show_errors(form: ArticleForm, error: ValidationError) -> None:
    """The service's errors on the form; a stale version is said at the top."""
    if hasattr(error, "error_dict"):
        fields = error.message_dict
        error = ValidationError(
            {("__all__" if k == "version" else k): v for k, v in fields.items()}
        )
    apply_errors(form, error)


@login_required
def article_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    choices = _organization_choices(user)
    if not choices:
        raise PermissionDenied("writing articles")
    form = ArticleForm(request.POST or None, organizations=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        organization = next(
            o for o in services.writable_organizations(user) if o.pk == data["organization"]
        )
        try:
            article = services.create_article(
                actor=user,
                organization=organization,
                title=data["title"],
                body=data["body"],
                visibility=data["visibility"],
                services=split_codes(data["services"]),
                note=data["note"],
            )
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("The article was published."))
            return redirect("knowledge:article", article_id=article.pk)
    return render(request, "knowledge/article_form.html", {"form": form, "article": None})


@login_required
def article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    user: Any = request.user
    article = _find(request, article_id)
    scope.require(user, Perm.WORK_TICKETS, article.organization)
    current = article.current
    form = ArticleForm(
        request.POST or None,
        initial={
            "title": current.title,
            "body": current.body,
            "visibility": article.visibility,
            "services": ", ".join(article.services),
            "version": article.current_version,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.revise_article(
                article,
                actor=user,
                title=data["title"],
                body=data["body"],
                visibility=data["visibility"],
                services=split_codes(data["services"]),
                note=data["note"],
                expected_version=data["version"],
            )
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("The article was saved."))
            return redirect("knowledge:article", article_id=article.pk)
    return render(request, "knowledge/article_form.html", {"form": form, "article": article})


def _after(request: HttpRequest, article: Article, action: Any) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("knowledge:article", article_id=article.pk)


@login_required
@require_POST
def article_link(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _find(request, article_id)
    scope.require(request.user, Perm.WORK_TICKETS, article.organization)
    raw = request.POST.get("ticket_id", "")
    if not raw.isdigit() or len(raw) > 18:
        messages.error(request, _("Choose a ticket."))
        return redirect("knowledge:article", article_id=article.pk)
    ticket = scope.get_visible_or_404(Ticket, request.user, Perm.WORK_TICKETS, pk=int(raw))
    return _after(
        request,
        article,
        lambda: services.link_ticket(article, actor=request.user, ticket=ticket),
    )


@login_required
@require_POST
def article_unlink(request: HttpRequest, article_id: int, ticket_id: int) -> HttpResponse:
    article = _find(request, article_id)
    ticket = article.tickets.filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("this ticket is not linked")
    return _after(
        request,
        article,
        lambda: services.unlink_ticket(article, actor=request.user, ticket=ticket),
    )


@login_required
@require_POST
def article_archive(request: HttpRequest, article_id: int) -> HttpResponse:
    article = _find(request, article_id)
    archived = _flag(request.POST.get("archived", "1"))
    services.archive_article(article, actor=request.user, archived=archived)
    if archived:
        messages.success(request, _("The article was archived."))
    else:
        messages.success(request, _("The article is back in the knowledge base."))
    return redirect("knowledge:article", article_id=article.pk)
