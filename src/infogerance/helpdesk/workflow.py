"""Ticket statuses and the transitions the workflow allows."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    INTERVENTION_STARTED = "intervention_started", _("Intervention started")
    WAITING_CLIENT = "waiting_client", _("Waiting for the client")
    ACCESS_REFUSED = "access_refused", _("Access refused")
    THIRD_PARTY = "third_party", _("Waiting for a third party")
    RESTORED = "restored", _("Service restored")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Kind(models.TextChoices):
    INCIDENT = "incident", _("Incident")
    REQUEST = "request", _("Service request")
    PROBLEM = "problem", _("Problem")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    API = "api", _("API")
    MONITORING = "monitoring", _("Monitoring")


class Cause(models.TextChoices):
    PROVIDER = "provider", _("Provider")
    CLIENT = "client", _("Client")
    THIRD_PARTY = "third_party", _("Third party")
    FORCE_MAJEURE = "force_majeure", _("Force majeure")


WAITING = {Status.WAITING_CLIENT, Status.ACCESS_REFUSED, Status.THIRD_PARTY}
WORKING = {Status.INTERVENTION_STARTED, *WAITING}

# status -> statuses it may move to (reopening is its own event, not a transition here)
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.ASSIGNED, Status.INTERVENTION_STARTED, *WAITING, Status.RESOLVED},
    Status.ASSIGNED: {Status.INTERVENTION_STARTED, *WAITING, Status.RESOLVED},
    Status.INTERVENTION_STARTED: {*WAITING, Status.RESTORED, Status.RESOLVED},
    Status.WAITING_CLIENT: {
        Status.INTERVENTION_STARTED,
        Status.ACCESS_REFUSED,
        Status.THIRD_PARTY,
        Status.RESTORED,
        Status.RESOLVED,
    },
    Status.ACCESS_REFUSED: {
        Status.INTERVENTION_STARTED,
        Status.WAITING_CLIENT,
        Status.THIRD_PARTY,
        Status.RESTORED,
        Status.RESOLVED,
    },
    Status.THIRD_PARTY: {
        Status.INTERVENTION_STARTED,
        Status.WAITING_CLIENT,
        Status.ACCESS_REFUSED,
        Status.RESTORED,
        Status.RESOLVED,
    },
    Status.RESTORED: {Status.INTERVENTION_STARTED, Status.WAITING_CLIENT, Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED},
    Status.CLOSED: set(),
}
REOPENABLE = {Status.RESTORED, Status.RESOLVED, Status.CLOSED}


def allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, set())
