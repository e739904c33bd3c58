"""Tickets and their immutable events.

The event log is the source of truth: every clock is computed from it. The ticket row keeps
the current status, priority and assignee as a projection, written by the services in the
same transaction as the event, for lists and filters; ``version`` guards against lost updates.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from infogerance.core.models import Immutable, TenantOwned, TenantQuerySet
from infogerance.helpdesk.workflow import Cause, Channel, Kind, Status


class Ticket(TenantOwned):
    number = models.PositiveIntegerField(_("number"))
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("contract"),
    )
    service_code = models.CharField(_("service"), max_length=40)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    impact = models.CharField(_("impact"), max_length=40)
    urgency = models.CharField(_("urgency"), max_length=40)
    priority = models.CharField(_("priority"), max_length=4)
    status = models.CharField(_("status"), max_length=30, choices=Status.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requester"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("assignee"),
    )
    queue = models.CharField(_("queue"), max_length=60, default="support")
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices, blank=True)
    created_at = models.DateTimeField(_("opened"))
    updated_at = models.DateTimeField(_("updated"))
    version = models.PositiveIntegerField(_("version"), default=1)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="helpdesk_number")
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-created_at"], name="helpdesk_list"),
            models.Index(
                fields=["organization", "priority", "-created_at"], name="helpdesk_list_priority"
            ),
            models.Index(fields=["status", "-created_at"], name="helpdesk_list_status"),
            models.Index(fields=["assignee", "status"], name="helpdesk_assignee"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class TicketCounter(models.Model):
    """The last ticket number given in each client organisation: numbers are taken by an
    upsert that increments and returns it in one statement, so that two tickets opened at
    once wait for each other on this row only, and never get the same number."""

    organization = models.OneToOneField(
        "tenancy.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.last_number}"


class TicketEvent(Immutable):
    EDIT_REFUSED: ClassVar[str] = "ticket events are immutable: record a new event"
    DELETE_REFUSED: ClassVar[str] = "ticket events are immutable"

    TENANT_ORG_FIELD: ClassVar[str] = "ticket__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "ticket__organization__provider_id"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField(_("time"))
    kind = models.CharField(_("kind"), max_length=20)
    status = models.CharField(_("status"), max_length=30, blank=True)
    priority = models.CharField(_("priority"), max_length=4, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(_("by"), max_length=254)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    internal = models.BooleanField(_("provider only"), default=False)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["ticket", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="helpdesk_event_seq")]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.kind}"


class ClockAlert(models.Model):
    """A warning sent for one clock of one ticket at one threshold: sent once, ever.

    The unique key is the compare-and-set: two workers checking the same clock race to
    insert the same row, and only the one whose insert succeeds notifies anybody.
    """

    TENANT_ORG_FIELD: ClassVar[str] = "ticket__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "ticket__organization__provider_id"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="alerts")
    level_id = models.CharField(max_length=200)
    threshold = models.PositiveSmallIntegerField()  # % of the target
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.JSONField(default=list)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "level_id", "threshold"], name="helpdesk_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.level_id} {self.threshold}%"


class Notification(models.Model):
    """An in-app notification (also sent by e-mail)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    message = models.CharField(_("message"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message


def attachment_path(instance: Attachment, filename: str) -> str:
    # Files are stored under opaque names: the person's file name is kept in the row only.
    return f"attachments/{instance.ticket.organization_id}/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    TENANT_ORG_FIELD: ClassVar[str] = "ticket__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "ticket__organization__provider_id"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    name = models.CharField(_("file name"), max_length=120)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    uploaded_by = models.CharField(max_length=254)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    internal = models.BooleanField(_("provider only"), default=False)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.name


class SatisfactionAnswer(models.Model):
    """The requester's answer to the survey sent when a ticket is resolved (once)."""

    TENANT_ORG_FIELD: ClassVar[str] = "ticket__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "ticket__organization__provider_id"

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="satisfaction")
    score = models.PositiveSmallIntegerField(_("score"))  # 1 (very unhappy) to 5 (very happy)
    comment = models.TextField(_("comment"), blank=True)
    answered_by = models.CharField(max_length=254)
    answered_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.score}/5"
