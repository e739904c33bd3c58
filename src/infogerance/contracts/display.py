"""Readable names of the format's codes, in the user's language."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from django.utils.translation import gettext_lazy as _

LABELS: dict[str, Any] = {
    # contract types
    "service_bureau": _("Service bureau"),
    "facilities_management": _("Facilities management"),
    "global": _("Global outsourcing"),
    "selective": _("Selective outsourcing"),
    "production": _("Production (operations)"),
    "tma": _("Application maintenance (TMA)"),
    "helpdesk": _("Help desk"),
    "hosting": _("Hosting"),
    "dr": _("Disaster recovery"),
    "offshore": _("Offshore"),
    # phases
    "avant_projet": _("Pre-project"),
    "transition": _("Transition"),
    "run": _("Run"),
    "reversibilite": _("Reversibility"),
    "closed": _("Closed"),
    # metrics
    "gti": _("Intervention time (GTI)"),
    "gtr": _("Restoration time (GTR)"),
    "resolution": _("Resolution time"),
    "availability": _("Availability"),
    "backup_success": _("Backup success rate"),
    "restore_test": _("Restore tests passed"),
    "rpo": _("Recovery point (RPO)"),
    "rto_test": _("Recovery time in tests (RTO)"),
    "patch_latency": _("Patch latency"),
    "quote_delay": _("Quote delay"),
    "on_time_delivery": _("On-time delivery"),
    "first_contact_resolution": _("First-contact resolution"),
    "satisfaction": _("Satisfaction"),
    # units
    "minutes": _("minutes"),
    "hours": _("hours"),
    "business_days": _("business days"),
    "days": _("days"),
    "percent": "%",
    "score": _("points"),
    # penalties
    "fixed_per_breach": _("Fixed amount per breach"),
    "per_started_hour": _("Per started hour of overrun"),
    "tiered_fee_pct": _("Percentage of the monthly fee, by tier"),
    "public_delay": _("Public-procurement delay penalty (V × R / 1000)"),
    "bonus": _("Bonus"),
    # renewal, pricing, periods, causes, priority changes, committees
    "tacit": _("tacit"),
    "express": _("express"),
    "included": _("included in the fee"),
    "unit": _("unit-priced"),
    "month": _("month"),
    "quarter": _("quarter"),
    "year": _("year"),
    "client": _("caused by the client"),
    "third_party": _("caused by a third party"),
    "force_majeure": _("force majeure"),
    "planned_maintenance": _("planned maintenance"),
    "keep_elapsed": _("the new target applies to the time already elapsed"),
    "restart": _("the clock starts again"),
    "strictest": _("the stricter target applies"),
    "strategic": _("Strategic committee"),
    "steering": _("Steering committee (comité de pilotage)"),
    "operational": _("Operational committee"),
    "weekly": _("weekly"),
    "monthly": _("monthly"),
    "quarterly": _("quarterly"),
    "half_yearly": _("every six months"),
    "yearly": _("yearly"),
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
    # clock events
    "created": _("opening of the ticket"),
    "assigned": _("assignment"),
    "intervention_started": _("start of the intervention"),
    "restored": _("restoration of service"),
    "resolved": _("resolution"),
    "FR": _("French public holidays"),
    "FR-ALSACE-MOSELLE": _("French public holidays, Alsace-Moselle"),
}


def quantity(value: Any, unit: Any) -> str:
    """A target as words: "30 minutes", "1 business day", "99.5 %"."""
    from decimal import Decimal

    from django.utils.translation import ngettext

    key = unit.value if isinstance(unit, Enum) else str(unit)
    number = Decimal(value).normalize() if not isinstance(value, Decimal) else value.normalize()
    text = f"{number:f}"
    count = int(number) if number == number.to_integral_value() else 2
    forms = {
        "minutes": ngettext("%(n)s minute", "%(n)s minutes", count),
        "hours": ngettext("%(n)s hour", "%(n)s hours", count),
        "days": ngettext("%(n)s day", "%(n)s days", count),
        "business_days": ngettext("%(n)s business day", "%(n)s business days", count),
        "score": ngettext("%(n)s point", "%(n)s points", count),
    }
    if key == "percent":
        return f"{text}\u00a0%"
    return forms.get(key, f"%(n)s {key}") % {"n": text}


def label(value: Any) -> Any:
    key = value.value if isinstance(value, Enum) else value
    if isinstance(key, str):
        return LABELS.get(key, key)
    if isinstance(value, dt.date):
        return value
    return value
