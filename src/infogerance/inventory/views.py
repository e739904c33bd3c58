"""Pages of the inventory: assets, an asset, the diff of two inventories, agents and their
health, enrolment tokens, licences, and the technical audit of a client."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from infogerance.core.documents import trend_svg
from infogerance.core.forms import apply_errors
from infogerance.inventory import eol, services, technical_audit
from infogerance.inventory.diff import diff
from infogerance.inventory.models import (
    HEALTH_ORDER,
    LATE_AFTER,
    OFFLINE_AFTER,
    Agent,
    AgentHealth,
    Asset,
    AssetKind,
    EnrollmentToken,
    InventorySnapshot,
    Licence,
    Lifecycle,
    Ownership,
    PerformanceSummary,
    with_health,
)
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import Perm

PAGE = 50
AGENT_PAGE = 100
NEW_TOKEN_KEY = "inventory.new_enrolment_token"
SOFTWARE_PAGE = 200
MAX_QUERY = 100


def _asset(request: HttpRequest, asset_id: int) -> Asset:
    asset: Asset = scope.get_visible_or_404(
        Asset.objects.select_related("organization"), request.user, Perm.VIEW_INVENTORY, pk=asset_id
    )
    return asset


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    """Assets the person may see, filtered, 50 a page (keyset on name and id)."""
    user: Any = request.user
    clients = scope.active_clients(user, Perm.VIEW_INVENTORY)
    if not clients:
        raise PermissionDenied("inventory")
    get = request.GET
    assets = services.visible_assets(user)
    client_id = _int(get.get("client"))
    if client_id is not None:
        assets = assets.filter(organization_id=client_id)
    if get.get("kind") in AssetKind.values:
        assets = assets.filter(kind=get["kind"])
    lifecycle = get.get("lifecycle", "")
    if lifecycle in Lifecycle.values:
        assets = assets.filter(lifecycle=lifecycle)
    query = get.get("q", "").strip()[:MAX_QUERY]
    if query:
        assets = assets.filter(
            Q(name__icontains=query) | Q(hostname__icontains=query) | Q(serial__icontains=query)
        )
    if get.get("disk") == "low":
        assets = assets.filter(disk_free_ratio__lt=technical_audit.LOW_DISK_RATIO)
    if get.get("updates") == "security":
        assets = assets.filter(security_updates__gt=0)
    after = get.get("after", "")
    if "|" in after:
        name, _sep, pk = after.rpartition("|")
        if pk.isdigit():
            assets = assets.filter(Q(name__gt=name) | Q(name=name, pk__gt=int(pk)))
    rows = list(assets.order_by("name", "pk")[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    supports = {
        a.pk: eol.support(a.os_id or a.os_family, a.os_version, a.os_name)
        for a in rows
        if a.os_name
    }
    params = get.copy()
    params.pop("after", None)
    if more:
        params["after"] = f"{rows[-1].name}|{rows[-1].pk}"
    context = {
        "rows": [(a, supports.get(a.pk)) for a in rows],
        "clients": clients,
        "kinds": AssetKind.choices,
        "lifecycles": Lifecycle.choices,
        "filters": get,
        "next_query": params.urlencode() if more else "",
        "can_manage": bool(scope.active_clients(user, Perm.MANAGE_INVENTORY)),
        "can_enrol": bool(scope.active_clients(user, Perm.MANAGE_AGENTS)),
    }
    return render(request, "inventory/asset_list.html", context)


@login_required
def asset_detail(request: HttpRequest, asset_id: int) -> HttpResponse:
    user: Any = request.user
    asset = _asset(request, asset_id)
    query = request.GET.get("software", "").strip()[:MAX_QUERY]
    software = asset.software.order_by("name", "pk")
    if query:
        software = software.filter(name__icontains=query)
    performance = list(
        PerformanceSummary.objects.filter(asset=asset).defer("data").order_by("-window_end")[:96]
    )
    rates = dict(
        PerformanceSummary.objects.filter(pk__in=[p.pk for p in performance[:10]]).values_list(
            "pk", "data"
        )
    )
    points = [(p.window_end.isoformat(), p.cpu_p95) for p in reversed(performance)]
    memory = [(p.window_end.isoformat(), p.memory_p95) for p in reversed(performance)]
    snaps = list(asset.snapshots.defer("data").order_by("-collected_at", "-pk")[:51])
    latest: dict[str, Any] = {}
    if snaps:
        latest = (
            InventorySnapshot.objects.filter(pk=snaps[0].pk).values_list("data", flat=True).get()
        )
    agents = list(asset.agents.order_by("-enrolled_at", "-pk"))
    reporting = next((a for a in agents if a.revoked_at is None and a.uptime_seconds), None)
    context = {
        "asset": asset,
        "support": eol.support(asset.os_id or asset.os_family, asset.os_version, asset.os_name),
        "components": asset.components.all(),
        "software": software[:SOFTWARE_PAGE],
        "software_total": software.count(),
        "software_query": query,
        "snapshots": [
            (snap, snaps[i + 1].pk if i + 1 < len(snaps) else None)
            for i, snap in enumerate(snaps[:50])
        ],
        "agents": agents,
        "uptime": reporting.uptime_seconds if reporting else None,
        "machine": {
            "collected_at": snaps[0].collected_at if snaps else None,
            "ports": sorted(
                latest.get("ports") or [],
                key=lambda p: (p.get("port", 0), p.get("protocol", ""), p.get("address", "")),
            ),
            "services": sorted(
                latest.get("services") or [],
                key=lambda s: (s.get("state") != "running", s.get("name", "")),
            ),
            "running": sum(1 for s in latest.get("services") or [] if s.get("state") == "running"),
            "users": latest.get("users") or [],
            "notes": latest.get("notes") or [],
        },
        "performance": [
            (p, [(rates[p.pk].get(rate) or {}).get("mean") for rate in technical_audit.RATES])
            for p in performance[:10]
        ],
        "cpu_chart": trend_svg(points, None, width=480, height=80, pad=4) if points else "",
        "memory_chart": trend_svg(memory, None, width=480, height=80, pad=4) if memory else "",
        "can_manage": scope.has_perm(user, Perm.MANAGE_INVENTORY, asset.organization),
        "can_revoke": scope.has_perm(user, Perm.MANAGE_AGENTS, asset.organization),
        "now": timezone.now(),
    }
    return render(request, "inventory/asset_detail.html", context)


@login_required
def asset_diff(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = _asset(request, asset_id)
    ids = [_int(request.GET.get("from")), _int(request.GET.get("to"))]
    found = {s.pk: s for s in asset.snapshots.filter(pk__in=[i for i in ids if i])}
    if ids[0] not in found or ids[1] not in found:
        raise Http404("no such snapshot of this asset")
    old, new = found[ids[0]], found[ids[1]]
    context = {"asset": asset, "old": old, "new": new, "sections": diff(old.data, new.data)}
    return render(request, "inventory/asset_diff.html", context)


class AssetForm(forms.Form):
    organization = forms.TypedChoiceField(label=gettext_lazy("Client"), coerce=int)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=AssetKind.choices)
    lifecycle = forms.ChoiceField(label=gettext_lazy("Lifecycle"), choices=Lifecycle.choices)
    ownership = forms.ChoiceField(label=pgettext_lazy("asset", "Owner"), choices=Ownership.choices)
    lease_item = forms.CharField(
        label=gettext_lazy("Lease line"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("The item of a rental of the client's contract, as written there."),
    )
    location = forms.CharField(label=gettext_lazy("Location"), max_length=200, required=False)
    vendor = forms.CharField(label=gettext_lazy("Manufacturer"), max_length=200, required=False)
    model = forms.CharField(label=gettext_lazy("Model"), max_length=200, required=False)
    serial = forms.CharField(label=gettext_lazy("Serial number"), max_length=200, required=False)
    notes = forms.CharField(
        label=gettext_lazy("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self, *args: Any, clients: list[Organization] | None, agent: bool = False, **kwargs: Any
    ):
        """``clients``: where a new asset may be recorded (None when editing one)."""
        super().__init__(*args, **kwargs)
        if clients is None:
            del self.fields["organization"]
        else:
            organization: Any = self.fields["organization"]
            organization.choices = [(c.pk, c.name) for c in clients]
        if agent:  # reported by the agent: not typed by hand
            for name in ("vendor", "model", "serial"):
                del self.fields[name]


@login_required
def asset_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    clients = scope.active_clients(user, Perm.MANAGE_INVENTORY)
    if not clients:
        raise PermissionDenied("recording assets")
    form = AssetForm(request.POST or None, clients=clients)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        client = next(c for c in clients if c.pk == data.pop("organization"))
        data.pop("version")
        try:
            asset = services.create_asset(actor=user, client=client, fields=data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The asset was recorded."))
            return redirect("inventory:asset", asset_id=asset.pk)
    return render(request, "inventory/asset_form.html", {"form": form, "asset": None})


@login_required
def asset_edit(request: HttpRequest, asset_id: int) -> HttpResponse:
    user: Any = request.user
    asset = _asset(request, asset_id)
    scope.require(user, Perm.MANAGE_INVENTORY, asset.organization)
    initial = {name: getattr(asset, name) for name in services.ASSET_FIELDS}
    form = AssetForm(
        request.POST or None,
        clients=None,
        agent=asset.source == "agent",
        initial={**initial, "version": asset.version},
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            services.update_asset(asset, actor=user, fields=data, expected_version=version)
        except ValidationError as exc:
            error = exc
            if hasattr(exc, "error_dict") and "version" in exc.error_dict:
                error = ValidationError({"__all__": exc.message_dict["version"]})
            apply_errors(form, error)
        else:
            messages.success(request, _("The asset was saved."))
            return redirect("inventory:asset", asset_id=asset.pk)
    return render(request, "inventory/asset_form.html", {"form": form, "asset": asset})


@login_required
def agent_list(request: HttpRequest) -> HttpResponse:
    """Agents and their health (reporting, late, offline, never reported, revoked), counted
    and sorted in the database, those needing attention first, 100 a page; by client and by
    health."""
    user: Any = request.user
    clients = scope.active_clients(user, Perm.VIEW_INVENTORY)
    if not clients:
        raise PermissionDenied("inventory")
    agents = scope.visible(Agent, user, Perm.VIEW_INVENTORY)
    client_id = _int(request.GET.get("client"))
    if client_id is not None:
        agents = agents.filter(organization_id=client_id)
    rated = with_health(agents, timezone.now())
    counts = dict(
        rated.order_by()
        .values_list("health_state")
        .annotate(n=Count("pk"))
        .values_list("health_state", "n")
    )
    health = request.GET.get("health", "")
    if health in AgentHealth.values:
        rated = rated.filter(health_state=health)
    ordered = rated.select_related("asset", "organization").order_by(
        "health_rank", "organization__name", "asset__name", "pk"
    )
    page = Paginator(ordered, AGENT_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "rows": [(agent, agent.health_state) for agent in page.object_list],
        "page": page,
        "page_query": query.urlencode(),
        "healths": [(value, counts.get(value, 0)) for value in HEALTH_ORDER],
        "clients": clients,
        "filters": request.GET,
        "late_after": LATE_AFTER,
        "offline_after": OFFLINE_AFTER,
    }
    return render(request, "inventory/agent_list.html", context)


@login_required
@require_POST
def agent_revoke(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent: Agent = scope.get_visible_or_404(
        Agent.objects.select_related("organization"), request.user, Perm.VIEW_INVENTORY, pk=agent_id
    )
    services.revoke_agent(agent, actor=request.user)
    messages.success(request, _("The agent's credential was revoked."))
    return redirect("inventory:asset", asset_id=agent.asset_id)


class TokenForm(forms.Form):
    organization = forms.TypedChoiceField(label=gettext_lazy("Client"), coerce=int)
    label = forms.CharField(label=gettext_lazy("Label"), max_length=200)
    days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        min_value=1,
        max_value=services.MAX_TOKEN_DAYS,
        initial=7,
    )
    max_uses = forms.IntegerField(
        label=gettext_lazy("Machines it may enrol"),
        min_value=1,
        max_value=services.MAX_TOKEN_USES,
        initial=1,
    )

    def __init__(self, *args: Any, clients: list[Organization], **kwargs: Any):
        super().__init__(*args, **kwargs)
        organization: Any = self.fields["organization"]
        organization.choices = [(c.pk, c.name) for c in clients]


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    clients = scope.active_clients(user, Perm.MANAGE_AGENTS)
    if not clients:
        raise PermissionDenied("enrolment tokens")
    form = TokenForm(request.POST or None, clients=clients)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        client = next(c for c in clients if c.pk == data["organization"])
        try:
            _token, secret = services.create_enrollment_token(
                actor=user,
                client=client,
                label=data["label"],
                days=data["days"],
                max_uses=data["max_uses"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            # Post/redirect/get: the secret goes through the session to the next page only,
            # so that reloading it neither shows it again nor creates another token.
            request.session[NEW_TOKEN_KEY] = secret
            return redirect("inventory:tokens")
    shown: str | None = (
        request.session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    )
    tokens = scope.visible(EnrollmentToken, user, Perm.MANAGE_AGENTS).select_related(
        "organization"
    )[:200]
    now = timezone.now()
    context = {
        "form": form,
        "secret": shown,
        "server": request.build_absolute_uri("/").rstrip("/"),
        "tokens": [(t, t.state(now)) for t in tokens],
    }
    return render(request, "inventory/token_list.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, enrollment_token_id: int) -> HttpResponse:
    token: EnrollmentToken = scope.get_visible_or_404(
        EnrollmentToken.objects.select_related("organization"),
        request.user,
        Perm.MANAGE_AGENTS,
        pk=enrollment_token_id,
    )
    services.revoke_enrollment_token(token, actor=request.user)
    messages.success(request, _("The enrolment token was revoked."))
    return redirect("inventory:tokens")


class LicenceForm(forms.Form):
    organization = forms.TypedChoiceField(label=gettext_lazy("Client"), coerce=int)
    product = forms.CharField(label=gettext_lazy("Product"), max_length=255)
    software_name = forms.CharField(
        label=gettext_lazy("Software name"),
        max_length=255,
        help_text=gettext_lazy("Installed software of this name counts as an installation."),
    )
    owned = forms.IntegerField(
        label=gettext_lazy("Licences owned"), min_value=0, max_value=10_000_000
    )

    def __init__(self, *args: Any, clients: list[Organization], **kwargs: Any):
        super().__init__(*args, **kwargs)
        organization: Any = self.fields["organization"]
        organization.choices = [(c.pk, c.name) for c in clients]


@login_required
def licence_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not scope.active_clients(user, Perm.VIEW_INVENTORY):
        raise PermissionDenied("inventory")
    clients = scope.active_clients(user, Perm.MANAGE_INVENTORY)
    form = LicenceForm(request.POST or None, clients=clients) if clients else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("licences")
        if form.is_valid():
            data = form.cleaned_data
            client = next(c for c in clients if c.pk == data["organization"])
            try:
                services.save_licence(
                    actor=user,
                    client=client,
                    product=data["product"],
                    software_name=data["software_name"],
                    owned=data["owned"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("The licences were recorded."))
                return redirect("inventory:licences")
    licences = list(
        scope.visible(Licence, user, Perm.VIEW_INVENTORY).select_related("organization")[:500]
    )
    usage = services.licence_usage(licences)
    rows = [(lic, usage[lic.pk]) for lic in licences]
    return render(request, "inventory/licence_list.html", {"rows": rows, "form": form})


@login_required
def audit_report(request: HttpRequest, client_id: int) -> HttpResponse:
    """The technical audit of a client: a page, or its PDF with ``?format=pdf``."""
    client: Organization = scope.get_visible_or_404(
        Organization, request.user, Perm.VIEW_INVENTORY, pk=client_id
    )
    if client.kind != "client":
        raise Http404("not a client")
    if request.GET.get("format") == "pdf":
        language = translation.get_language() or "fr"
        pdf = technical_audit.audit_pdf(client, language)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="audit-{client.slug}.pdf"'
        return response
    context = technical_audit.audit_context(client)
    return render(request, "inventory/audit_report.html", context)
