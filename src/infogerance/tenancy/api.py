from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
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
from infogerance.tenancy import scope, services
from infogerance.tenancy.models import Membership, Organization
from infogerance.tenancy.roles import OrganizationKind, Perm, Role

router = Router(tags=["tenancy"])


class OrganizationOut(Schema):
    id: int
    kind: str
    name: str
    slug: str
    legal_name: str
    registration_id: str
    country: str
    provider_id: int | None
    require_2fa: bool
    is_active: bool
    created_at: dt.datetime


class ClientIn(StrictSchema):
    provider_id: Id
    name: str = Field(min_length=1, max_length=200)
    legal_name: str = Field("", max_length=200)
    registration_id: str = Field("", max_length=40)
    country: str = Field("FR", min_length=2, max_length=2)
    require_2fa: bool = False


class OrganizationPatch(StrictSchema):
    """Fields left out stay as they are; ``null`` is refused (no field may be emptied so)."""

    name: str = Field(OMITTED, min_length=1, max_length=200)
    legal_name: str = Field(OMITTED, max_length=200)
    registration_id: str = Field(OMITTED, max_length=40)
    country: str = Field(OMITTED, min_length=2, max_length=2)
    require_2fa: bool = Field(OMITTED)
    is_active: bool = Field(OMITTED)


class UserOut(Schema):
    id: int
    email: str
    full_name: str
    language: str
    is_active: bool
    date_joined: dt.datetime


class UserPatch(StrictSchema):
    full_name: str = Field(OMITTED, min_length=1, max_length=200)
    language: Literal["fr", "en"] = Field(OMITTED)
    is_active: bool = Field(OMITTED)


class MembershipOut(Schema):
    id: int
    organization_id: int
    user_id: int
    user_email: str
    user_full_name: str
    role: str
    created_at: dt.datetime

    @staticmethod
    def resolve_user_email(obj: Membership) -> str:
        return obj.user.email

    @staticmethod
    def resolve_user_full_name(obj: Membership) -> str:
        return obj.user.full_name


class MembershipIn(StrictSchema):
    organization_id: Id
    email: str = Field(min_length=3, max_length=254)
    full_name: str = Field("", max_length=200)
    role: Role = Field(strict=False)
    language: Literal["fr", "en"] = "fr"


class MembershipPatch(StrictSchema):
    role: Role = Field(strict=False)


def _user(request: HttpRequest) -> Any:
    return actor_of(request)


@router.get(
    "/organizations",
    response=with_errors({200: Page[OrganizationOut]}),
    summary="List organisations",
)
def list_organizations(
    request: HttpRequest,
    kind: OrganizationKind | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = scope.visible(Organization, _user(request))
    if kind:
        qs = qs.filter(kind=kind)
    return keyset_page(qs, cursor=cursor, limit=limit)


@router.get("/organizations/{org_id}", response=with_errors({200: OrganizationOut}))
def get_organization(request: HttpRequest, org_id: Id) -> Any:
    return scope.get_visible_or_404(Organization, _user(request), pk=org_id)


@router.post("/organizations", response=with_errors({201: OrganizationOut}), summary="Add a client")
def create_client(request: HttpRequest, payload: ClientIn) -> Any:
    user = _user(request)
    provider = scope.get_visible_or_404(Organization, user, pk=payload.provider_id)
    data = payload.model_dump(exclude={"provider_id"})
    org = services.create_organization(
        actor=user, kind=OrganizationKind.CLIENT, provider=provider, **data
    )
    return Status(201, org)


@router.patch("/organizations/{org_id}", response=with_errors({200: OrganizationOut}))
def update_organization(request: HttpRequest, org_id: Id, payload: OrganizationPatch) -> Any:
    user = _user(request)
    org = scope.get_visible_or_404(Organization, user, pk=org_id)
    return services.update_organization(org, actor=user, **payload.model_dump(exclude_unset=True))


@router.get("/users", response=with_errors({200: Page[UserOut]}))
def list_users(
    request: HttpRequest,
    organization_id: Id | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    user = _user(request)
    qs = scope.visible_users(user)
    if organization_id is not None:
        qs = qs.filter(
            memberships__organization__in=scope.visible(Membership, user, Perm.VIEW_MEMBERS)
            .filter(organization_id=organization_id)
            .values("organization_id")
        )
    return keyset_page(qs.distinct(), cursor=cursor, limit=limit)


@router.get("/users/{user_id}", response=with_errors({200: UserOut}))
def get_user(request: HttpRequest, user_id: Id) -> Any:
    return scope.get_visible_user_or_404(_user(request), user_id)


@router.patch("/users/{user_id}", response=with_errors({200: UserOut}))
def update_user(request: HttpRequest, user_id: Id, payload: UserPatch) -> Any:
    target = scope.get_visible_user_or_404(_user(request), user_id)
    return services.update_user(
        target, actor=_user(request), **payload.model_dump(exclude_unset=True)
    )


@router.get("/memberships", response=with_errors({200: Page[MembershipOut]}))
def list_memberships(
    request: HttpRequest,
    organization_id: Id | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = scope.visible(Membership, _user(request), Perm.VIEW_MEMBERS).select_related("user")
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return keyset_page(qs, cursor=cursor, limit=limit)


@router.post("/memberships", response=with_errors({201: MembershipOut}), summary="Invite a member")
def create_membership(request: HttpRequest, payload: MembershipIn) -> Any:
    user = _user(request)
    org = scope.get_visible_or_404(Organization, user, pk=payload.organization_id)
    membership = services.invite_member(
        actor=user,
        organization=org,
        email=str(payload.email),
        full_name=payload.full_name,
        role=payload.role,
        language=payload.language,
    )
    return Status(201, membership)


@router.patch("/memberships/{membership_id}", response=with_errors({200: MembershipOut}))
def update_membership(request: HttpRequest, membership_id: Id, payload: MembershipPatch) -> Any:
    user = _user(request)
    membership = scope.get_visible_or_404(Membership, user, Perm.VIEW_MEMBERS, pk=membership_id)
    return services.change_role(membership, actor=user, role=payload.role)


@router.delete("/memberships/{membership_id}", response=with_errors({204: None}))
def delete_membership(request: HttpRequest, membership_id: Id) -> Any:
    user = _user(request)
    membership = scope.get_visible_or_404(Membership, user, Perm.VIEW_MEMBERS, pk=membership_id)
    services.remove_member(membership, actor=user)
    return Status(204, None)
