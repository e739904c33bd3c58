"""The tenant-safe read path.

``visible(queryset, user, perm)`` is the only way views, the API and services read tenant-owned
rows. ``get_visible_or_404`` answers 404 for anything outside the user's scope, whether it
exists or not, and files an audit event when it does exist (a probe across tenants).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from infogerance.core.models import NO_TENANT, Scope, TenantRef
from infogerance.tenancy.models import Membership, Organization, User
from infogerance.tenancy.roles import OrganizationKind, Perm, Role, grants

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_infogerance_memberships"


@dataclass(frozen=True)
class Grant:
    role: Role
    organization_id: int
    organization_kind: str
    provider_id: int | None


def grants_of(user: Any) -> list[Grant]:
    """The user's memberships, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        rows = Membership.objects.filter(user_id=user.pk, organization__is_active=True).values_list(
            "role", "organization_id", "organization__kind", "organization__provider_id"
        )
        cached = [Grant(Role(r), o, k, p) for r, o, k, p in rows]
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget(user: Any) -> None:
    """Drop the cached memberships (after a change to them)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def scope_for(user: Any, perm: Perm = Perm.VIEW) -> Scope:
    org_ids: set[int] = set()
    provider_ids: set[int] = set()
    for grant in grants_of(user):
        if not grants(grant.role, perm):
            continue
        if grant.organization_kind == OrganizationKind.PROVIDER:
            provider_ids.add(grant.organization_id)
        else:
            org_ids.add(grant.organization_id)
    return Scope(frozenset(org_ids), frozenset(provider_ids))


def has_perm(user: Any, perm: Perm, organization: Organization) -> bool:
    return scope_for(user, perm).covers(organization.pk, organization.provider_id)


def require(user: Any, perm: Perm, organization: Organization) -> None:
    """Raise PermissionDenied unless ``user`` holds ``perm`` on ``organization``."""
    from infogerance.core.actors import SystemActor

    if isinstance(user, SystemActor):
        return
    if not has_perm(user, perm, organization):
        raise PermissionDenied(f"{perm} on organisation {organization.pk}")


def roles_in(user: Any, organization: Organization) -> set[Role]:
    """Roles that apply to ``organization``, directly or through its provider."""
    roles = set()
    for grant in grants_of(user):
        if grant.organization_id in (organization.pk, organization.provider_id):
            roles.add(grant.role)
    return roles


def visible(source: type[M] | QuerySet[M], user: Any, perm: Perm = Perm.VIEW) -> QuerySet[M]:
    queryset: Any = source if isinstance(source, QuerySet) else source._default_manager.all()
    return cast(QuerySet[M], queryset.in_scope(scope_for(user, perm)))


def active_clients(user: Any, perm: Perm) -> list[Organization]:
    """The active client organisations on which ``user`` has ``perm``, by name (what a form
    offers to choose from, and whether a page shows its buttons)."""
    return list(
        visible(Organization, user, perm)
        .filter(kind=OrganizationKind.CLIENT, is_active=True)
        .order_by("name")
    )


def get_visible_or_404(
    source: type[M] | QuerySet[M], user: Any, perm: Perm = Perm.VIEW, **lookup: Any
) -> M:
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    try:
        return visible(queryset, user, perm).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        pass
    model: Any = queryset.model
    try:
        owner = (
            queryset.filter(**lookup)
            .values_list(model.TENANT_ORG_FIELD, model.TENANT_PROVIDER_FIELD)
            .first()
        )
    except (ValueError, TypeError):
        owner = None
    if owner is not None:
        from infogerance.audit.services import record

        # Filed under the owner's tenant, so that its administrators see the probe.
        record(
            actor=user,
            action="access.denied",
            tenant=TenantRef(owner[0], owner[1] or owner[0]),
            target_type=model._meta.label_lower,
            target_id=str(lookup.get("pk") or lookup.get("id") or ""),
            after={"reason": "outside scope", "perm": str(perm)},
        )
    raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.")


def visible_users(user: Any) -> QuerySet[User]:
    """People who belong to an organisation whose members ``user`` may see, and ``user``."""
    member_of_visible = visible(Membership, user, Perm.VIEW_MEMBERS).values("user_id")
    return User.objects.filter(Q(pk__in=member_of_visible) | Q(pk=getattr(user, "pk", None)))


def get_visible_user_or_404(user: Any, pk: Any) -> User:
    found = visible_users(user).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise Http404("No user matches the given query.")
    return found


def home_tenant(user: Any) -> TenantRef:
    """Where events about a person (their logins, their own account) are filed: their first
    organisation, or nowhere for someone who belongs to none."""
    if not getattr(user, "pk", None) or not getattr(user, "is_authenticated", True):
        return NO_TENANT
    membership = (
        Membership.objects.filter(user_id=user.pk)
        .select_related("organization")
        .order_by("pk")
        .first()
    )
    return membership.organization.tenant if membership else NO_TENANT


def primary_organization(user: Any) -> Organization | None:
    """The organisation a user works for (the first provider membership, else the first)."""
    grants_list = grants_of(user)
    if not grants_list:
        return None
    ordered = sorted(
        grants_list, key=lambda g: (g.organization_kind != OrganizationKind.PROVIDER, g.role)
    )
    return Organization.objects.filter(pk=ordered[0].organization_id).first()
