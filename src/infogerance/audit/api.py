from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from infogerance.audit.models import AuditEvent
from infogerance.core.api import Id, Limit, Page, actor_of, keyset_page, with_errors
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

router = Router(tags=["audit"])


class AuditEventOut(Schema):
    id: int
    seq: int
    created_at: dt.datetime
    actor_id: int | None
    actor_label: str
    organization_id: int | None
    provider_id: int | None
    action: str
    target_type: str
    target_id: str
    target_repr: str
    before: Any = None
    after: Any = None
    request_id: str
    ip_address: str | None
    prev_hash: str
    hash: str


@router.get(
    "/audit-events", response=with_errors({200: Page[AuditEventOut]}), summary="Audit trail (read)"
)
def list_events(
    request: HttpRequest,
    action: str | None = None,
    organization_id: Id | None = None,
    actor_id: Id | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = scope.visible(AuditEvent, actor_of(request), Perm.VIEW_AUDIT)
    filters = {
        "action": action,
        "organization_id": organization_id,
        "actor_id": actor_id,
        "target_type": target_type,
        "target_id": target_id,
    }
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    return keyset_page(qs, cursor=cursor, limit=limit, field="seq", descending=True)


@router.get("/audit-events/{event_id}", response=with_errors({200: AuditEventOut}))
def get_event(request: HttpRequest, event_id: Id) -> Any:
    return scope.get_visible_or_404(
        AuditEvent,
        actor_of(request),
        Perm.VIEW_AUDIT,
        pk=event_id,
    )
