"""The audit trail: append-only, hash-chained events.

Each event stores the hash of the previous one (``prev_hash``) and its own ``hash``, computed
over a canonical JSON form of its content. Sequence numbers are contiguous. Altering a row
breaks its own hash; deleting one breaks the sequence and the link of the next. Database
triggers refuse UPDATE and DELETE; ``infogerance audit verify`` finds tampering done around them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from infogerance.core.models import Immutable, Scope, TenantQuerySet

GENESIS_HASH = "0" * 64


class AuditEventQuerySet(TenantQuerySet["AuditEvent"]):
    pass


class AuditEvent(Immutable):
    EDIT_REFUSED: ClassVar[str] = "audit events are append-only"
    DELETE_REFUSED: ClassVar[str] = "audit events are append-only"

    TENANT_ORG_FIELD: ClassVar[str] = "organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "provider_id"

    seq = models.BigIntegerField(_("sequence"), unique=True)
    created_at = models.DateTimeField(_("time"), db_index=True)
    # Plain integers, not foreign keys: the trail outlives what it describes and no cascade
    # may ever touch it.
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("actor"), max_length=254)
    organization_id = models.BigIntegerField(_("organisation id"), null=True, blank=True)
    provider_id = models.BigIntegerField(_("provider id"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    target_type = models.CharField(_("object type"), max_length=100, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    objects: ClassVar[Any] = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["organization_id", "-seq"], name="audit_org_seq"),
            models.Index(fields=["provider_id", "-seq"], name="audit_provider_seq"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_repr}"

    def canonical(self) -> dict[str, Any]:
        """The content covered by the hash (everything but the hash itself)."""
        return {
            "seq": self.seq,
            "created_at": self.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "organization_id": self.organization_id,
            "provider_id": self.provider_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_repr": self.target_repr,
            "before": self.before,
            "after": self.after,
            "request_id": self.request_id,
            "ip_address": self.ip_address,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        payload = json.dumps(
            self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def visible_in(self, scope: Scope) -> bool:
        return scope.covers(self.organization_id, self.provider_id)
