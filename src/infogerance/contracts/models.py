"""Contracts and their versions. A version is immutable: an amendment is a new version."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from infogerance.core.models import Immutable, TenantOwned, TenantQuerySet

# Versions never change, so their parsed terms can be shared (the models are frozen).
_PARSED: dict[tuple[int | None, str], Any] = {}
_PARSED_MAX = 256


class Contract(TenantOwned):
    """A contract between a provider and one of its clients (the owner organisation)."""

    reference = models.CharField(_("reference"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["reference"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="contracts_reference_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def version_in_force(self, day: dt.date) -> ContractVersion | None:
        """The terms in force on ``day``: the latest version effective on or before it."""
        return (
            self.versions.filter(effective_from__lte=day)
            .order_by("-effective_from", "-number")
            .first()
        )

    def version_at(self, instant: dt.datetime) -> ContractVersion | None:
        """The terms in force at ``instant`` (an event's time): versions take effect at the
        start of their day, in the platform's time zone."""
        from django.utils import timezone

        return self.version_in_force(timezone.localdate(instant))

    @property
    def latest(self) -> ContractVersion | None:
        return self.versions.order_by("-number").first()


class ContractVersion(Immutable):
    EDIT_REFUSED: ClassVar[str] = "a contract version is never edited: import an amendment"
    DELETE_REFUSED: ClassVar[str] = "a contract version is never deleted"

    TENANT_ORG_FIELD: ClassVar[str] = "contract__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "contract__organization__provider_id"

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="versions", verbose_name=_("contract")
    )
    number = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    # JSON text, not a JSON column: PostgreSQL's jsonb reorders keys, and the order of the
    # contract's own mappings (calendars, priority matrix) is part of a byte-stable export.
    document = models.TextField(_("terms"))
    source = models.TextField(_("file as imported"))
    sha256 = models.CharField(_("fingerprint"), max_length=64)
    note = models.CharField(_("note"), max_length=500, blank=True)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    imported_by = models.CharField(_("imported by"), max_length=254)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["contract", "number"]
        verbose_name = _("contract version")
        verbose_name_plural = _("contract versions")
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="contracts_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.contract.reference} v{self.number}"

    def parsed(self) -> Any:
        """The terms as the format's (frozen) models; parsed once per version and process."""
        key = (self.pk, self.sha256)
        document = _PARSED.get(key)
        if document is None:
            from infogerance.contracts.format import ContractDocument

            document = ContractDocument.model_validate_json(self.document)
            if self.pk is not None:
                if len(_PARSED) >= _PARSED_MAX:
                    _PARSED.pop(next(iter(_PARSED)))
                _PARSED[key] = document
        return document

    @property
    def terms(self) -> dict[str, Any]:
        """The terms as plain data (for the API)."""
        data: dict[str, Any] = json.loads(self.document)
        return data
