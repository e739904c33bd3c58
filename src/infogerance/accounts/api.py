from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from infogerance.accounts import services
from infogerance.accounts.models import ApiToken, TokenScope
from infogerance.accounts.policy import has_second_factor
from infogerance.core.api import Id, Limit, Page, StrictSchema, actor_of, keyset_page, with_errors

router = Router(tags=["accounts"])


class TokenOut(Schema):
    id: int
    name: str
    display: str
    scope: str
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret, shown this once and never again.")


class TokenIn(StrictSchema):
    name: str = Field(min_length=1, max_length=100)
    scope: TokenScope = Field(TokenScope.READ, strict=False)
    days: int | None = Field(None, ge=1)


class MembershipBrief(Schema):
    organization_id: int
    organization_name: str
    organization_kind: str
    role: str


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    language: str
    second_factor: bool
    memberships: list[MembershipBrief]


@router.get("/me", response=with_errors({200: MeOut}), summary="Who am I")
def me(request: HttpRequest) -> Any:
    user: Any = actor_of(request)
    memberships = [
        {
            "organization_id": m.organization_id,
            "organization_name": m.organization.name,
            "organization_kind": m.organization.kind,
            "role": m.role,
        }
        for m in user.memberships.select_related("organization")
    ]
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "language": user.language,
        "second_factor": has_second_factor(user),
        "memberships": memberships,
    }


@router.get("/tokens", response=with_errors({200: Page[TokenOut]}), summary="My API tokens")
def list_tokens(request: HttpRequest, cursor: str | None = None, limit: Limit = 50) -> Any:
    qs = ApiToken.objects.filter(user=actor_of(request))
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True)


@router.post("/tokens", response=with_errors({201: TokenCreated}), summary="Create an API token")
def create_token(request: HttpRequest, payload: TokenIn) -> Any:
    token, secret = services.create_token(
        actor=actor_of(request),
        name=payload.name,
        scope=payload.scope,
        days=payload.days,
    )
    data = TokenOut.model_validate(token, from_attributes=True).model_dump()
    return Status(201, {**data, "token": secret})


@router.delete(
    "/tokens/{token_id}", response=with_errors({204: None}), summary="Revoke an API token"
)
def revoke_token(request: HttpRequest, token_id: Id) -> Any:
    token = get_object_or_404(ApiToken, pk=token_id, user=actor_of(request))
    services.revoke_token(token, actor=actor_of(request))
    return Status(204, None)
