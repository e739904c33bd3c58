from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infogerance.audit.models import AuditEvent
from infogerance.core.forms import apply_errors
from infogerance.tenancy import forms, scope, services
from infogerance.tenancy.models import Membership, Organization
from infogerance.tenancy.roles import OrganizationKind, Perm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """One home page, whose sections depend on the person's roles."""
    user: Any = request.user
    grants = scope.grants_of(user)
    orgs = scope.visible(Organization, user).annotate(member_count=Count("memberships"))
    providers = [o for o in orgs if o.kind == OrganizationKind.PROVIDER]
    clients = [o for o in orgs if o.kind == OrganizationKind.CLIENT]
    can_audit = not scope.scope_for(user, Perm.VIEW_AUDIT).is_empty
    recent = (
        scope.visible(AuditEvent, user, Perm.VIEW_AUDIT).order_by("-seq")[:8] if can_audit else []
    )
    context = {
        "grants": grants,
        "roles": sorted({g.role.label for g in grants}),
        "providers": providers,
        "clients": clients,
        "can_create_client": [p for p in providers if scope.has_perm(user, Perm.CREATE_CLIENT, p)],
        "can_audit": can_audit,
        "recent_events": recent,
    }
    return render(request, "tenancy/home.html", context)


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    orgs = (
        scope.visible(Organization, user)
        .select_related("provider")
        .annotate(member_count=Count("memberships"))
        .order_by("kind", "name")
    )
    kind = request.GET.get("kind")
    if kind in OrganizationKind.values:
        orgs = orgs.filter(kind=kind)
    providers = scope.visible(Organization, user).filter(kind=OrganizationKind.PROVIDER)
    creatable = [p for p in providers if scope.has_perm(user, Perm.CREATE_CLIENT, p)]
    return render(
        request,
        "tenancy/organization_list.html",
        {"organizations": orgs, "creatable": creatable, "kind": kind},
    )


@login_required
def organization_create(request: HttpRequest, org_id: int) -> HttpResponse:
    """Add a client to the provider ``org_id``."""
    user: Any = request.user
    provider = scope.get_visible_or_404(
        Organization, user, pk=org_id, kind=OrganizationKind.PROVIDER
    )
    scope.require(user, Perm.CREATE_CLIENT, provider)
    form = forms.ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.create_organization(
                actor=user, kind=OrganizationKind.CLIENT, provider=provider, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The client %(name)s was created.") % {"name": org.name})
            return redirect("tenancy:organization", org_id=org.pk)
    return render(
        request,
        "tenancy/organization_form.html",
        {"form": form, "provider": provider, "creating": True},
    )


@login_required
def organization_detail(request: HttpRequest, org_id: int) -> HttpResponse:
    user: Any = request.user
    org = scope.get_visible_or_404(Organization.objects.select_related("provider"), user, pk=org_id)
    can_see_members = scope.has_perm(user, Perm.VIEW_MEMBERS, org)
    members = (
        scope.visible(Membership, user, Perm.VIEW_MEMBERS)
        .filter(organization=org)
        .select_related("user")
    )
    context = {
        "org": org,
        "members": members,
        "can_see_members": can_see_members,
        "can_manage": scope.has_perm(user, Perm.MANAGE_MEMBERS, org),
        "manageable": services.manageable_user_ids(user, [m.user_id for m in members]),
        "can_change": scope.has_perm(user, Perm.CHANGE_ORG, org),
        "can_create_client": org.is_provider and scope.has_perm(user, Perm.CREATE_CLIENT, org),
        "clients": scope.visible(org.clients.all(), user) if org.is_provider else [],
        "role_choices": forms.role_choices(org),
    }
    return render(request, "tenancy/organization_detail.html", context)


@login_required
def organization_edit(request: HttpRequest, org_id: int) -> HttpResponse:
    user: Any = request.user
    org = scope.get_visible_or_404(Organization, user, pk=org_id)
    scope.require(user, Perm.CHANGE_ORG, org)
    form = forms.OrganizationForm(request.POST or None, instance=org)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_organization(org, actor=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The organisation was saved."))
            return redirect("tenancy:organization", org_id=org.pk)
    org.refresh_from_db()
    return render(request, "tenancy/organization_form.html", {"form": form, "org": org})


@login_required
def member_invite(request: HttpRequest, org_id: int) -> HttpResponse:
    user: Any = request.user
    org = scope.get_visible_or_404(Organization, user, pk=org_id)
    scope.require(user, Perm.MANAGE_MEMBERS, org)
    form = forms.InviteForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invite_member(actor=user, organization=org, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": membership.user})
            return redirect("tenancy:organization", org_id=org.pk)
    return render(request, "tenancy/member_form.html", {"form": form, "org": org})


@login_required
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    user: Any = request.user
    membership = scope.get_visible_or_404(
        Membership.objects.select_related("organization", "user"),
        user,
        Perm.VIEW_MEMBERS,
        pk=membership_id,
    )
    form = forms.RoleForm(request.POST, organization=membership.organization)
    if form.is_valid():
        try:
            services.change_role(membership, actor=user, role=form.cleaned_data["role"])
            messages.success(request, _("The role was changed."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("Unknown role."))
    return redirect("tenancy:organization", org_id=membership.organization_id)


@login_required
@require_POST
def user_active(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate a person (no login, no token) or reactivate them."""
    actor: Any = request.user
    person = scope.get_visible_user_or_404(actor, user_id)
    active = request.POST.get("active") == "1"
    try:
        services.update_user(person, actor=actor, is_active=active)
        if active:
            messages.success(
                request, _("The account was reactivated: %(name)s.") % {"name": person}
            )
        else:
            messages.success(
                request, _("The account was deactivated: %(name)s.") % {"name": person}
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    back = request.POST.get("next", "")
    if back.startswith("/organizations/"):
        return redirect(back)
    return redirect("tenancy:organizations")


@login_required
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    user: Any = request.user
    membership = scope.get_visible_or_404(
        Membership.objects.select_related("organization", "user"),
        user,
        Perm.VIEW_MEMBERS,
        pk=membership_id,
    )
    try:
        services.remove_member(membership, actor=user)
        messages.success(request, _("%(name)s was removed.") % {"name": membership.user})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("tenancy:organization", org_id=membership.organization_id)
