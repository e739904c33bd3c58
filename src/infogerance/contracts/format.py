"""The contract file format (cahier des charges as code), version 1.

These pydantic models are the reference of the YAML format: the JSON Schema in
``docs/contract.schema.json`` is generated from them and the API serves it. Cross-references
(a service level's calendar, a penalty's service levels…) are checked after the fields, so
that every problem of a file is reported at once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, model_validator

FORMAT_VERSION = 1

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Text = Annotated[str, Field(max_length=20_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
StartTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
EndTime = Annotated[
    str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$", description="24:00: midnight")
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ContractType(StrEnum):
    SERVICE_BUREAU = "service_bureau"
    FACILITIES_MANAGEMENT = "facilities_management"
    GLOBAL = "global"
    SELECTIVE = "selective"
    PRODUCTION = "production"
    TMA = "tma"
    HELPDESK = "helpdesk"
    HOSTING = "hosting"
    DR = "dr"
    OFFSHORE = "offshore"


class Phase(StrEnum):
    AVANT_PROJET = "avant_projet"
    TRANSITION = "transition"
    RUN = "run"
    REVERSIBILITE = "reversibilite"
    CLOSED = "closed"


class Metric(StrEnum):
    GTI = "gti"
    GTR = "gtr"
    RESOLUTION = "resolution"
    AVAILABILITY = "availability"
    BACKUP_SUCCESS = "backup_success"
    RESTORE_TEST = "restore_test"
    RPO = "rpo"
    RTO_TEST = "rto_test"
    PATCH_LATENCY = "patch_latency"
    QUOTE_DELAY = "quote_delay"
    ON_TIME_DELIVERY = "on_time_delivery"
    FIRST_CONTACT_RESOLUTION = "first_contact_resolution"
    SATISFACTION = "satisfaction"


class Unit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    BUSINESS_DAYS = "business_days"
    DAYS = "days"
    PERCENT = "percent"
    SCORE = "score"


# Which units make sense for which metric: durations for clocks, percentages for rates.
DURATION_UNITS = {Unit.MINUTES, Unit.HOURS, Unit.BUSINESS_DAYS, Unit.DAYS}
METRIC_UNITS: dict[Metric, set[Unit]] = {
    Metric.GTI: DURATION_UNITS,
    Metric.GTR: DURATION_UNITS,
    Metric.RESOLUTION: DURATION_UNITS,
    Metric.AVAILABILITY: {Unit.PERCENT},
    Metric.BACKUP_SUCCESS: {Unit.PERCENT},
    Metric.RESTORE_TEST: {Unit.PERCENT},
    Metric.RPO: DURATION_UNITS,
    Metric.RTO_TEST: DURATION_UNITS,
    Metric.PATCH_LATENCY: DURATION_UNITS,
    Metric.QUOTE_DELAY: DURATION_UNITS,
    Metric.ON_TIME_DELIVERY: {Unit.PERCENT},
    Metric.FIRST_CONTACT_RESOLUTION: {Unit.PERCENT},
    Metric.SATISFACTION: {Unit.PERCENT, Unit.SCORE},
}
TICKET_METRICS = {Metric.GTI, Metric.GTR, Metric.RESOLUTION}

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- parties and scope ------------------------------------------------------------------


class Party(Model):
    legal_name: Name
    registration_id: str = Field("", max_length=40, description="SIREN in France")
    country: Country = "FR"


class Parties(Model):
    provider: Party
    client: Party


class Offshore(Model):
    countries_of_service: list[Country] = Field(min_length=1)
    countries_of_data: list[Country] = Field(min_length=1)


class Site(Model):
    code: Code
    name: Name
    address: str = Field("", max_length=500)


class Application(Model):
    code: Code
    name: Name
    description: str = Field("", max_length=2000)


class Perimeter(Model):
    sites: list[Site] = []
    asset_classes: list[Name] = []
    applications: list[Application] = []
    users: int | None = Field(None, ge=0, description="Number of users covered")
    exclusions: list[Text] = []


class Renewal(StrEnum):
    TACIT = "tacit"
    EXPRESS = "express"


class Term(Model):
    start: dt.date
    end: dt.date
    renewal: Renewal = Renewal.EXPRESS
    notice_months: int = Field(3, ge=0, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> Term:
        if self.end <= self.start:
            raise ValueError(_("The end must come after the start."))
        return self


class Fees(Model):
    monthly_fee: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    price_index: str = Field("", max_length=100, description="e.g. Syntec")


class Rental(Model):
    item: Name
    lessor: Name
    start: dt.date
    end: dt.date
    monthly_rent: Money
    buy_out_option: bool = False
    buy_out_price: Money | None = None
    return_terms: Text = ""

    @model_validator(mode="after")
    def _ordered(self) -> Rental:
        if self.end <= self.start:
            raise ValueError(_("The end must come after the start."))
        return self


# --- calendars ----------------------------------------------------------------------------


class WindowSpec(Model):
    days: list[Weekday] = Field(min_length=1)
    start: StartTime
    end: EndTime = Field(description="may be before start: the window then ends the next day")


class TimeRange(Model):
    start: StartTime
    end: EndTime


class CalendarException(Model):
    date: dt.date
    windows: list[TimeRange] = Field(
        [], description="replaces the weekly windows that day; empty: closed"
    )
    reason: str = Field("", max_length=200)


class CalendarPreset(StrEnum):
    HO = "HO"
    HNO = "HNO"
    H24X7 = "24x7"


class HolidaySet(StrEnum):
    FR = "FR"
    FR_ALSACE_MOSELLE = "FR-ALSACE-MOSELLE"


class CalendarDef(Model):
    preset: CalendarPreset | None = None
    timezone: str = "Europe/Paris"
    windows: list[WindowSpec] = []
    holidays: list[HolidaySet] = []
    open_on_holidays: bool = False
    exceptions: list[CalendarException] = []

    @model_validator(mode="after")
    def _preset_or_windows(self) -> CalendarDef:
        if self.preset is None and not self.windows:
            raise ValueError(_("A calendar needs a preset or windows."))
        if self.preset is not None:
            # A preset is complete: a time zone or holidays beside it would be ignored.
            # (Judged on values, not on the fields written: stored terms carry every field.)
            extra = sorted(
                name
                for name in ("timezone", "windows", "holidays", "open_on_holidays", "exceptions")
                if getattr(self, name) != type(self).model_fields[name].default
            )
            if extra:
                raise ValueError(
                    _("A calendar with a preset has no other field (here: %(fields)s).")
                    % {"fields": ", ".join(extra)}
                )
        return self


# --- services, priorities, service levels -------------------------------------------------


class Pricing(StrEnum):
    INCLUDED = "included"
    UNIT = "unit"


class Service(Model):
    code: Code
    name: Name
    family: str = Field("", max_length=100)
    calendar: Code
    pricing: Pricing = Pricing.INCLUDED
    unit_price: Money | None = None
    description: Text = ""

    @model_validator(mode="after")
    def _price(self) -> Service:
        if self.pricing == Pricing.UNIT and self.unit_price is None:
            raise ValueError(_("A unit-priced service needs a unit_price."))
        return self


Priority = Annotated[str, Field(pattern=r"^P[1-9]$")]


class PriorityMatrix(Model):
    impacts: list[Code] = Field(min_length=1)
    urgencies: list[Code] = Field(min_length=1)
    matrix: dict[str, dict[str, Priority]]

    @model_validator(mode="after")
    def _complete(self) -> PriorityMatrix:
        if len(set(self.impacts)) != len(self.impacts):
            raise ValueError(_("An impact is listed twice."))
        if len(set(self.urgencies)) != len(self.urgencies):
            raise ValueError(_("An urgency is listed twice."))
        for impact in self.impacts:
            row = self.matrix.get(impact)
            if row is None:
                raise ValueError(
                    _("The matrix has no row for impact %(impact)r.") % {"impact": impact}
                )
            missing = [u for u in self.urgencies if u not in row]
            if missing:
                raise ValueError(
                    _("Impact %(impact)r has no priority for urgency %(urgency)r.")
                    % {"impact": impact, "urgency": missing[0]}
                )
        unknown = [i for i in self.matrix if i not in self.impacts]
        if unknown:
            raise ValueError(
                _("The matrix has an unknown impact %(impact)r.") % {"impact": unknown[0]}
            )
        for impact, row in self.matrix.items():
            strays = [u for u in row if u not in self.urgencies]
            if strays:
                raise ValueError(
                    _("Impact %(impact)r has an unknown urgency %(urgency)r.")
                    % {"impact": impact, "urgency": strays[0]}
                )
        return self

    @property
    def priorities(self) -> set[str]:
        return {p for row in self.matrix.values() for p in row.values()}


class Target(Model):
    value: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
    unit: Unit


class PriorityChange(StrEnum):
    KEEP_ELAPSED = "keep_elapsed"  # the new target applies to the time already elapsed
    RESTART = "restart"  # the clock starts again at the change
    STRICTEST = "strictest"  # the ticket is judged against the stricter of the two targets


class ClockEvent(StrEnum):
    """The ticket events a clock can start or stop on (the help desk records them)."""

    CREATED = "created"
    ASSIGNED = "assigned"
    INTERVENTION_STARTED = "intervention_started"
    RESTORED = "restored"
    RESOLVED = "resolved"
    CLOSED = "closed"


class PauseStatus(StrEnum):
    """The help desk's waiting statuses a clock rule may pause on."""

    WAITING_CLIENT = "waiting_client"
    ACCESS_REFUSED = "access_refused"
    THIRD_PARTY = "third_party"


class ClockRule(Model):
    start: ClockEvent = Field(ClockEvent.CREATED, description="ticket event that starts it")
    stop: ClockEvent = Field(description="ticket event that stops it")
    # A closed list: a typo would otherwise make a pause silently never pause.
    pause_statuses: list[PauseStatus] = []
    on_priority_change: PriorityChange = PriorityChange.KEEP_ELAPSED


class Cause(StrEnum):
    CLIENT = "client"
    THIRD_PARTY = "third_party"
    FORCE_MAJEURE = "force_majeure"
    PLANNED_MAINTENANCE = "planned_maintenance"


class SLExclusions(Model):
    causes: list[Cause] = []
    maintenance_notice_hours: int | None = Field(None, ge=0, le=24 * 90)


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class ServiceLevel(Model):
    id: Code
    name: str = Field("", max_length=200)
    metric: Metric
    services: list[Code] = Field(min_length=1)
    priority: Priority | None = None
    target: Target
    compliance: Percent | None = Field(None, description="% of items that must meet the target")
    period: Period = Period.MONTH
    calendar: Code
    clock: ClockRule | None = None
    exclusions: SLExclusions = SLExclusions()

    @model_validator(mode="after")
    def _consistent(self) -> ServiceLevel:
        if self.target.unit not in METRIC_UNITS[self.metric]:
            allowed = ", ".join(sorted(u.value for u in METRIC_UNITS[self.metric]))
            raise ValueError(
                _("Unit %(unit)r does not fit metric %(metric)r (use %(allowed)s).")
                % {"unit": self.target.unit.value, "metric": self.metric.value, "allowed": allowed}
            )
        if self.target.unit == Unit.PERCENT and self.target.value > 100:
            raise ValueError(_("A percentage target is at most 100."))
        if self.metric in TICKET_METRICS and self.clock is None:
            raise ValueError(
                _("Metric %(metric)r needs a clock rule.") % {"metric": self.metric.value}
            )
        return self


# --- penalties ----------------------------------------------------------------------------


class Tier(Model):
    below: Percent = Field(description="applies when the measured level is below this")
    fee_pct: Percent


class PenaltyKind(StrEnum):
    FIXED_PER_BREACH = "fixed_per_breach"
    PER_STARTED_HOUR = "per_started_hour"
    TIERED_FEE_PCT = "tiered_fee_pct"
    PUBLIC_DELAY = "public_delay"
    BONUS = "bonus"


class PenaltyRule(Model):
    id: Code
    kind: PenaltyKind
    service_levels: list[Code] = Field(min_length=1)
    amount: Money | None = Field(None, description="fixed_per_breach, per_started_hour, bonus")
    tiers: list[Tier] = []
    value: Money | None = Field(None, description="public_delay: V, value of the late service")
    rate_per_thousand: Annotated[Decimal, Field(ge=0, le=1000, decimal_places=4)] | None = Field(
        None, description="public_delay: the penalty per day late is V × R / 1000"
    )
    description: Text = ""

    @model_validator(mode="after")
    def _base(self) -> PenaltyRule:
        fields = {
            PenaltyKind.FIXED_PER_BREACH: {"amount"},
            PenaltyKind.PER_STARTED_HOUR: {"amount"},
            PenaltyKind.BONUS: {"amount"},
            PenaltyKind.TIERED_FEE_PCT: {"tiers"},
            PenaltyKind.PUBLIC_DELAY: {"value", "rate_per_thousand"},
        }[self.kind]
        for name in sorted(fields):
            value = getattr(self, name)
            if value is None or value == []:
                raise ValueError(
                    _("A %(kind)s penalty has no base: set %(field)s.")
                    % {"kind": self.kind.value, "field": name}
                )
        foreign = sorted(
            name
            for name in ("amount", "tiers", "value", "rate_per_thousand")
            if name not in fields and getattr(self, name) not in (None, [])
        )
        if foreign:
            raise ValueError(
                _("%(fields)s does not apply to a %(kind)s penalty.")
                % {"fields": ", ".join(foreign), "kind": self.kind.value}
            )
        if self.tiers:
            thresholds = [t.below for t in self.tiers]
            if thresholds != sorted(thresholds, reverse=True) or len(set(thresholds)) != len(
                thresholds
            ):
                raise ValueError(_("Tiers go from the highest threshold down, each once."))
        return self


class Caps(Model):
    contract_pct: Percent | None = Field(None, description="cap as % of the monthly fee")
    per_service_pct: dict[str, Percent] = {}


class Penalties(Model):
    rules: list[PenaltyRule] = []
    franchise: Money = Decimal("0")
    caps: Caps = Caps()
    bonus_offsets_malus: bool = True


# --- acceptance, continuity, governance, reversibility -----------------------------------


class ExitCriteria(Model):
    blocking: int = Field(0, ge=0)
    major: int = Field(0, ge=0)
    minor: int = Field(0, ge=0)


class Acceptance(Model):
    vabf_days: int = Field(ge=0, le=365)
    vsr_days: int = Field(ge=0, le=365)
    exit_criteria: ExitCriteria = ExitCriteria()
    decision_deadline_days: int = Field(ge=0, le=365)
    tacit_acceptance: bool = False
    vsr_max_unavailability_pct: Percent | None = None
    clause_text: Text


class ServiceDuration(Model):
    service: Code
    value: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]
    unit: Literal["minutes", "hours", "days"]


class Archiving(Model):
    data_class: Name
    years: int = Field(ge=0, le=100)
    counted_from: str = Field("", max_length=200)


class Continuity(Model):
    rpo: list[ServiceDuration] = []
    rto: list[ServiceDuration] = []
    backup_retention_days: int | None = Field(None, ge=1, le=36_500)
    archiving: list[Archiving] = []
    encryption: str = Field("", max_length=500)
    data_locations: list[Country] = []
    subcontracting_allowed: bool = False
    fallback_premises: str = Field("", max_length=1000)


class CommitteeLevel(StrEnum):
    STRATEGIC = "strategic"
    STEERING = "steering"
    OPERATIONAL = "operational"


class Committee(Model):
    level: CommitteeLevel
    cadence: Literal["weekly", "monthly", "quarterly", "half_yearly", "yearly"]
    members: list[Name] = []


class Governance(Model):
    committees: list[Committee] = []


class Reversibility(Model):
    deliverables: list[Text] = []
    formats: list[Name] = []
    max_duration_months: int = Field(6, ge=1, le=60)
    clause_text: Text = ""


# --- the contract -----------------------------------------------------------------------


class ContractDocument(Model):
    """A contract version: everything the platform measures is measured against it."""

    format_version: int = Field(1, ge=FORMAT_VERSION, le=FORMAT_VERSION)
    reference: Code
    title: Name
    language: Literal["fr", "en"] = "fr"
    parties: Parties
    object: Text
    scope_text: Text = ""
    types: list[ContractType] = Field(min_length=1)
    offshore: Offshore | None = None
    perimeter: Perimeter = Perimeter()
    term: Term
    phase: Phase = Phase.RUN
    fees: Fees
    rentals: list[Rental] = []
    calendars: dict[Code, CalendarDef] = {}
    catalogue: list[Service] = Field(min_length=1)
    priority_matrix: PriorityMatrix | None = None
    service_levels: list[ServiceLevel] = []
    penalties: Penalties = Penalties()
    acceptance: Acceptance | None = None
    continuity: Continuity = Continuity()
    governance: Governance = Governance()
    reversibility: Reversibility = Reversibility()
    evolution_procedure: Text = ""

    @model_validator(mode="after")
    def _calendar_names(self) -> ContractDocument:
        presets = {p.value for p in CalendarPreset}
        for name in self.calendars:
            if name in presets:
                raise ValueError(
                    _("%(name)r is the name of a preset: give your calendar another name.")
                    % {"name": name}
                )
        return self

    def calendar_names(self) -> set[str]:
        return set(self.calendars) | {p.value for p in CalendarPreset}

    def references(self) -> list[tuple[tuple[Any, ...], str]]:
        """Every broken cross-reference, as (field path, message)."""
        return cross_references(self.model_dump(mode="json"))


def _entries(data: Any, *keys: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of the list at ``keys`` with their index (anything else is skipped)."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    if not isinstance(data, list):
        return []
    return [(i, item) for i, item in enumerate(data) if isinstance(item, dict)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def cross_references(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """The cross-references of a contract, checked on its raw data.

    Raw data, so that they are checked even when some fields fail to validate: a file's
    problems are reported at once, whatever their kind. Values of the wrong type are
    skipped here (the field validation reports them).
    """
    problems: list[tuple[tuple[Any, ...], str]] = []
    raw_calendars = data.get("calendars")
    calendars = {p.value for p in CalendarPreset} | (
        set(raw_calendars) if isinstance(raw_calendars, dict) else set()
    )
    catalogue = _entries(data, "catalogue")
    services = [(i, _text(s.get("code"))) for i, s in catalogue]
    problems += _duplicates(("catalogue",), services, _("Duplicate service code %(code)r."))
    service_set = {code for _i, code in services if code}

    def unknown_calendar(path: tuple[Any, ...], name: Any) -> None:
        if isinstance(name, str) and name not in calendars:
            problems.append((path, _("Unknown calendar %(name)r.") % {"name": name}))

    def unknown_service(path: tuple[Any, ...], code: Any) -> None:
        if isinstance(code, str) and code not in service_set:
            problems.append((path, _("Unknown service %(code)r.") % {"code": code}))

    for i, service in catalogue:
        unknown_calendar(("catalogue", i, "calendar"), service.get("calendar"))
    levels = _entries(data, "service_levels")
    level_ids = [(i, _text(level.get("id"))) for i, level in levels]
    problems += _duplicates(
        ("service_levels",), level_ids, _("Duplicate service level id %(code)r.")
    )
    matrix = data.get("priority_matrix")
    rows = matrix.get("matrix") if isinstance(matrix, dict) else None
    priorities = {
        p
        for row in (rows.values() if isinstance(rows, dict) else [])
        if isinstance(row, dict)
        for p in row.values()
    }
    for i, level in levels:
        unknown_calendar(("service_levels", i, "calendar"), level.get("calendar"))
        codes = level.get("services")
        for j, code in enumerate(codes if isinstance(codes, list) else []):
            unknown_service(("service_levels", i, "services", j), code)
        priority = level.get("priority")
        if isinstance(priority, str) and priority not in priorities:
            problems.append(
                (
                    ("service_levels", i, "priority"),
                    _("Priority %(priority)r is not in the priority matrix.")
                    % {"priority": priority},
                )
            )
    level_set = {code for _i, code in level_ids if code}
    rules = _entries(data, "penalties", "rules")
    problems += _duplicates(
        ("penalties", "rules"),
        [(i, _text(r.get("id"))) for i, r in rules],
        _("Duplicate penalty id %(code)r."),
    )
    for i, rule in rules:
        refs = rule.get("service_levels")
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, str) and ref not in level_set:
                problems.append(
                    (
                        ("penalties", "rules", i, "service_levels", j),
                        _("Unknown service level %(id)r.") % {"id": ref},
                    )
                )
    penalties = data.get("penalties")
    caps = penalties.get("caps") if isinstance(penalties, dict) else None
    per_service = caps.get("per_service_pct") if isinstance(caps, dict) else None
    for code in per_service if isinstance(per_service, dict) else {}:
        unknown_service(("penalties", "caps", "per_service_pct", code), code)
    for section in ("rpo", "rto"):
        for i, item in _entries(data, "continuity", section):
            unknown_service(("continuity", section, i, "service"), item.get("service"))
    types = data.get("types")
    if (
        isinstance(types, list)
        and ContractType.OFFSHORE.value in types
        and not data.get("offshore")
    ):
        problems.append(
            (("offshore",), _("An offshore contract states its countries of service and of data."))
        )
    sites = [(i, _text(site.get("code"))) for i, site in _entries(data, "perimeter", "sites")]
    problems += _duplicates(("perimeter", "sites"), sites, _("Duplicate site code %(code)r."))
    return problems


def _duplicates(
    path: tuple[Any, ...], codes: list[tuple[int, str | None]], message: str
) -> list[tuple[tuple[Any, ...], str]]:
    """``message`` has a %(code)r placeholder: one message per kind of code."""
    seen: set[str] = set()
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, code in codes:
        if code is None:
            continue
        if code in seen:
            problems.append(((*path, i), message % {"code": code}))
        seen.add(code)
    return problems


def json_schema() -> dict[str, Any]:
    schema = ContractDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Infogérance contract, format version 1"
    return schema
