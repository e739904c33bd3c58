"""Service levels on the platform: the raw operational records, the monthly reports with
their immutable revisions, the disputes, and the governance committees' minutes.

* :class:`ServiceRecord`: an outage, a maintenance window, a backup run, a restore test, an
  evolution request or a patch of a contract, as a line of the events file
  (``docs/formats/events.md``); written once (imported through the API or a file), never
  edited. Ticket events and satisfaction answers come from the help desk.
* :class:`MonthlyReport`: one per contract and month; its figures are
  :class:`ReportRevision` rows, each an immutable computation with the hash of its inputs.
  A report goes from *draft* to *review* to *frozen*; recomputing appends a revision (a frozen
  report's frozen revision stays what it was; the new revision must be frozen in its turn).
* :class:`Dispute`: the client's IT manager contests a service level of a revision; its
  penalty is held until the steering committee decides.
* :class:`Meeting`: a committee of a contract (steering, strategic, operational) with its
  attendees and decisions, usually about a monthly report; its :class:`ActionItem` rows have
  an owner and a due date. The committee pack is the report followed by these minutes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from infogerance.contracts.models import Contract, ContractVersion
from infogerance.core.models import Immutable, TenantOwned, TenantQuerySet


class RecordKind(models.TextChoices):
    OUTAGE = "outage", _("Outage")
    MAINTENANCE = "maintenance", _("Maintenance window")
    BACKUP_RUN = "backup_run", _("Backup run")
    RESTORE_TEST = "restore_test", _("Restore test")
    EVOLUTION = "evolution", _("Evolution request")
    PATCH = "patch", _("Patch")


class ServiceRecord(TenantOwned, Immutable):
    contract = models.ForeignKey(
        Contract,
        on_delete=models.PROTECT,
        related_name="service_records",
        verbose_name=_("contract"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RecordKind.choices)
    ref = models.CharField(_("identifier"), max_length=120)
    service = models.CharField(_("service"), max_length=40)
    #: The record's main instant (an outage's start, a run's schedule…), for periods.
    at = models.DateTimeField(_("time"))
    #: The record as one line of the events file, normalised.
    data = models.JSONField()
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    created_by = models.CharField(_("by"), max_length=254)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("service record")
        constraints = [
            models.UniqueConstraint(fields=["contract", "kind", "ref"], name="sla_record_ref")
        ]
        indexes = [models.Index(fields=["contract", "kind", "at"], name="sla_record_period")]


class ReportState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    FROZEN = "frozen", _("Frozen")


class MonthlyReport(TenantOwned):
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="reports", verbose_name=_("contract")
    )
    period = models.CharField(_("month"), max_length=7)  # YYYY-MM
    state = models.CharField(
        _("state"), max_length=10, choices=ReportState.choices, default=ReportState.DRAFT
    )
    #: The revision shown (the latest computed).
    revision = models.PositiveIntegerField(_("revision"), default=0)
    #: The revision that was frozen last, if any.
    frozen_revision = models.PositiveIntegerField(_("frozen revision"), null=True, blank=True)
    frozen_at = models.DateTimeField(_("frozen"), null=True, blank=True)
    frozen_by = models.CharField(_("frozen by"), max_length=254, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-period", "contract_id"]
        verbose_name = _("monthly report")
        constraints = [
            models.UniqueConstraint(fields=["contract", "period"], name="sla_report_month")
        ]

    def __str__(self) -> str:
        return f"{self.contract.reference} {self.period}"


class ReportRevision(TenantOwned, Immutable):
    report = models.ForeignKey(MonthlyReport, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField(_("revision"))
    version = models.ForeignKey(
        ContractVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("terms")
    )
    computed_at = models.DateTimeField(_("computed"))
    computed_by = models.CharField(_("by"), max_length=254)
    as_of = models.DateTimeField(_("as of"))
    #: SHA-256 of the canonical inputs (terms, ticket events, records): the same hash, the
    #: same figures.
    inputs_sha256 = models.CharField(max_length=64)
    inputs = models.JSONField(default=dict)  # counts of what went in
    #: The evaluation in the JSON shape of ``sla evaluate`` (docs/formats/evaluation.md).
    evaluation = models.JSONField()
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["report_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="sla_revision_number")
        ]


class DisputeState(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Penalty upheld")
    WAIVED = "waived", _("Penalty waived")


class Dispute(TenantOwned):
    report = models.ForeignKey(MonthlyReport, on_delete=models.PROTECT, related_name="disputes")
    revision = models.PositiveIntegerField(_("revision"))
    level_id = models.CharField(_("service level"), max_length=40)
    reason = models.TextField(_("reason"))
    opened_by = models.CharField(_("opened by"), max_length=254)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    state = models.CharField(
        _("state"), max_length=10, choices=DisputeState.choices, default=DisputeState.OPEN
    )
    decision = models.TextField(_("decision"), blank=True)
    decided_by = models.CharField(_("decided by"), max_length=254, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("dispute")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "level_id"],
                condition=models.Q(state="open"),
                name="sla_one_open_dispute_per_level",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report} {self.level_id}"


class MeetingKind(models.TextChoices):
    STEERING = "steering", _("Steering committee")
    STRATEGIC = "strategic", _("Strategic committee")
    OPERATIONAL = "operational", _("Operational committee")


class Meeting(TenantOwned):
    """A governance committee of a contract, as its minutes: who attended, what was
    decided, and the action items. A steering committee usually discusses a monthly report
    (``report``); the committee pack is that report followed by the minutes."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="meetings", verbose_name=_("contract")
    )
    report = models.ForeignKey(
        MonthlyReport,
        on_delete=models.PROTECT,
        related_name="meetings",
        null=True,
        blank=True,
        verbose_name=_("monthly report"),
    )
    kind = models.CharField(
        _("committee"), max_length=20, choices=MeetingKind.choices, default=MeetingKind.STEERING
    )
    held_on = models.DateField(_("held on"))
    title = models.CharField(_("title"), max_length=200)
    #: One attendee a line (a name, with a role or a party if wanted).
    attendees = models.TextField(_("attendees"))
    decisions = models.TextField(_("decisions"), blank=True)
    created_by = models.CharField(_("recorded by"), max_length=254)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("committee meeting")
        indexes = [models.Index(fields=["contract", "held_on"], name="sla_meeting_contract")]

    def __str__(self) -> str:
        return f"{self.held_on.isoformat()} {self.title}"

    @property
    def attendee_list(self) -> list[str]:
        return [line for line in self.attendees.splitlines() if line.strip()]


class ActionItem(TenantOwned):
    """Something a committee asked someone (a person or a party) to do by a date."""

    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, related_name="actions", verbose_name=_("meeting")
    )
    text = models.CharField(_("action"), max_length=500)
    owner = models.CharField(_("owner"), max_length=200)
    due_on = models.DateField(_("due on"))
    done_on = models.DateField(_("done on"), null=True, blank=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("action item")

    def __str__(self) -> str:
        return f"{self.text[:60]} ({self.owner})"

    def is_overdue(self, today: dt.date) -> bool:
        """Still open after its due date."""
        return self.done_on is None and self.due_on < today
