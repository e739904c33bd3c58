"""Base pieces for tenant-owned models. No domain models live here.

Tenancy is expressed by a :class:`Scope`: the organisations a user may see for a given right,
as two sets, the organisations seen directly and the providers whose whole tree (the provider
and every client it serves) is seen. Every tenant-owned queryset filters through
:meth:`TenantQuerySet.in_scope`; there is no other read path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from django.db import models
from django.db.models import Q

_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class Scope:
    org_ids: frozenset[int] = frozenset()
    provider_ids: frozenset[int] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not self.org_ids and not self.provider_ids

    def q(self, org_field: str, provider_field: str | None) -> Q:
        """A filter on ``org_field`` (the owning organisation's id) and, when given,
        ``provider_field`` (the id of the provider that serves the owner)."""
        if self.is_empty:
            return Q(pk__in=[])
        query = Q(**{f"{org_field}__in": sorted(self.org_ids | self.provider_ids)})
        if self.provider_ids and provider_field:
            query |= Q(**{f"{provider_field}__in": sorted(self.provider_ids)})
        return query

    def covers(self, org_id: int | None, provider_id: int | None) -> bool:
        if org_id is None:
            return False
        return (
            org_id in self.org_ids
            or org_id in self.provider_ids
            or (provider_id is not None and provider_id in self.provider_ids)
        )


@dataclass(frozen=True)
class TenantRef:
    """Where a record is filed: the owning organisation and the provider whose tree holds it."""

    organization_id: int | None = None
    provider_id: int | None = None


NO_TENANT = TenantRef()


class TenantQuerySet(models.QuerySet[_M]):
    def in_scope(self, scope: Scope) -> TenantQuerySet[_M]:
        model: Any = self.model
        return self.filter(scope.q(model.TENANT_ORG_FIELD, model.TENANT_PROVIDER_FIELD))


class TenantOwned(models.Model):
    """A row that belongs to exactly one organisation (usually a client).

    Subclasses may override the two lookups when the owner is reached another way.
    """

    TENANT_ORG_FIELD: ClassVar[str] = "organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "organization__provider_id"

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="+"
    )

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ScheduledOccurrence(models.Model):
    """One occurrence of a periodic job, claimed by exactly one scheduler.

    The unique key makes the claim a compare-and-set: two schedulers on two machines race to
    insert the same (name, slot) row and only one insert succeeds.
    """

    name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    claimed_at = models.DateTimeField(auto_now_add=True)
    claimed_by = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="core_occurrence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.slot.isoformat()}"


class Immutable(models.Model):
    """A row written once: the record of something that happened (an audit event, a ticket
    event, a contract or article version). Changing or deleting one through the ORM raises;
    what changed is recorded as a new row."""

    EDIT_REFUSED: ClassVar[str] = "this record is immutable"
    DELETE_REFUSED: ClassVar[str] = "this record is never deleted"

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError(self.EDIT_REFUSED)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(self.DELETE_REFUSED)
