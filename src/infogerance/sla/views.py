"""The monthly service reports: the list, one report (a revision of it), its exports and PDF,
and the forms that compute, review, freeze and dispute; the committee meetings that discuss
a report, their action items, and the committee pack (the report and the minutes, as one
PDF). Every write is a service call."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from infogerance.contracts.models import Contract
from infogerance.core.forms import apply_errors
from infogerance.sla import report as document
from infogerance.sla import services
from infogerance.sla.forms import (
    ACTION_ROWS,
    ActionForm,
    CloseActionForm,
    ComputeForm,
    DecisionForm,
    DisputeForm,
    MeetingForm,
    RecomputeForm,
)
from infogerance.sla.models import (
    DisputeState,
    Meeting,
    MeetingKind,
    MonthlyReport,
    ReportRevision,
    ReportState,
)
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

PAGE = 50


# --- Lookups ---------------------------------------------------------------------------------


def _find(request: HttpRequest, report_id: int) -> MonthlyReport:
    report: MonthlyReport = scope.get_visible_or_404(
        MonthlyReport.objects.select_related("contract", "organization"),
        request.user,
        Perm.VIEW_REPORTS,
        pk=report_id,
    )
    return report


def _revision(request: HttpRequest, report: MonthlyReport) -> ReportRevision:
    """The revision asked for with ``?revision=N``, else the latest."""
    raw = request.GET.get("revision", "")
    if raw and (not raw.isdigit() or len(raw) > 9):
        raise Http404("no such revision")
    number = int(raw) if raw else report.revision
    revision = (
        report.revisions.select_related("version")
        .defer("version__document", "version__source")
        .filter(number=number)
        .first()
        if number
        else None
    )
    if revision is None:
        raise Http404("no such revision")
    return revision


def _manageable_contracts(user: Any) -> list[Contract]:
    return [
        contract
        for contract in scope.visible(Contract, user, Perm.VIEW_REPORTS)
        .select_related("organization")
        .order_by("organization__name", "reference")
        if scope.has_perm(user, Perm.MANAGE_REPORTS, contract.organization)
    ]


def _contract_choices(contracts: Iterable[Contract]) -> list[tuple[int, str]]:
    return [(c.pk, f"{c.reference} — {c.title} ({c.organization.name})") for c in contracts]


def _previous_month() -> str:
    today = timezone.localdate()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


# --- The list --------------------------------------------------------------------------------


def _list_page(
    request: HttpRequest, compute_form: ComputeForm | None = None, status: int = 200
) -> HttpResponse:
    user: Any = request.user
    if scope.scope_for(user, Perm.VIEW_REPORTS).is_empty:
        raise PermissionDenied("no report to see")
    contracts = list(
        scope.visible(Contract, user, Perm.VIEW_REPORTS)
        .select_related("organization")
        .order_by("organization__name", "reference")
    )
    reports = services.visible_reports(user).order_by("-period", "contract__reference", "pk")
    wanted_contract = request.GET.get("contract", "")
    if wanted_contract.isdigit() and len(wanted_contract) < 19:
        reports = reports.filter(contract_id=int(wanted_contract))
    wanted_state = request.GET.get("state", "")
    if wanted_state in ReportState.values:
        reports = reports.filter(state=wanted_state)
    page = Paginator(reports, PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    due = {
        report_id: (amount, currency)
        for report_id, amount, currency in ReportRevision.objects.filter(
            report__in=[r.pk for r in rows], number=F("report__revision")
        ).values_list("report_id", "evaluation__summary__due", "evaluation__summary__currency")
    }
    manageable = _manageable_contracts(user)
    if compute_form is None and manageable:
        compute_form = ComputeForm(
            contracts=_contract_choices(manageable), initial={"period": _previous_month()}
        )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "rows": [
            (report, document.money_text(*due[report.pk]) if report.pk in due else "—")
            for report in rows
        ],
        "page": page,
        "query": query.urlencode(),
        "contracts": contracts,
        "states": ReportState.choices,
        "filters": {"contract": wanted_contract, "state": wanted_state},
        "compute_form": compute_form,
    }
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render(request, "sla/_report_rows.html", context, status=status)
    return render(request, "sla/report_list.html", context, status=status)


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """The monthly reports the person may see; filters answer in place (HTMX partial)."""
    return _list_page(request)


@login_required
@require_POST
def report_compute(request: HttpRequest) -> HttpResponse:
    """Compute a month of a contract, then show its report."""
    user: Any = request.user
    manageable = _manageable_contracts(user)
    if not manageable:
        raise PermissionDenied("computing reports")
    form = ComputeForm(request.POST, contracts=_contract_choices(manageable))
    if form.is_valid():
        contract = next(c for c in manageable if c.pk == form.cleaned_data["contract"])
        try:
            revision = services.compute_report(
                actor=user,
                contract=contract,
                period=form.cleaned_data["period"].strip(),
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Revision %(n)d of %(period)s was computed.")
                % {"n": revision.number, "period": revision.report.period},
            )
            return redirect("sla:report", report_id=revision.report_id)
    return _list_page(request, compute_form=form)


# --- One report ------------------------------------------------------------------------------


def _level_choices(revision: ReportRevision) -> list[tuple[str, str]]:
    return [
        (r["level"], f"{r.get('name') or r['level']} ({r['level']})")
        for r in revision.evaluation.get("results", [])
    ]


def _detail_page(
    request: HttpRequest,
    report: MonthlyReport,
    revision: ReportRevision,
    *,
    dispute_form: DisputeForm | None = None,
    decision_forms: dict[int, DecisionForm] | None = None,
    meeting_form: MeetingForm | None = None,
    action_forms: list[ActionForm] | None = None,
) -> HttpResponse:
    user: Any = request.user
    context = document.report_context(report, revision, user)
    can_manage = scope.has_perm(user, Perm.MANAGE_REPORTS, report.organization)
    can_meet = services.may_record_meetings(user, report.organization)
    if can_meet and meeting_form is None:
        meeting_form, action_forms = _meeting_forms(report)
    can_dispute = scope.has_perm(user, Perm.DISPUTE, report.organization) and context["is_latest"]
    if can_dispute and dispute_form is None:
        dispute_form = DisputeForm(levels=_level_choices(revision))
    forms_by_dispute = dict(decision_forms or {})
    if can_manage:
        for dispute in context["disputes"]:
            if dispute.state == DisputeState.OPEN and dispute.pk not in forms_by_dispute:
                forms_by_dispute[dispute.pk] = DecisionForm(prefix=f"dispute-{dispute.pk}")
    suffix = "" if context["is_latest"] else f"?revision={revision.number}"
    context.update(
        {
            "can_manage": can_manage,
            "can_dispute": can_dispute,
            "dispute_form": dispute_form if can_dispute else None,
            "decision_rows": [(d, forms_by_dispute.get(d.pk)) for d in context["disputes"]],
            "recompute_form": RecomputeForm() if can_manage else None,
            "revision_query": suffix,
            "minutes": document.committee_minutes(
                document.report_meetings(report), timezone.localdate()
            ),
            "meeting_form": meeting_form if can_meet else None,
            "action_forms": action_forms if can_meet else [],
        }
    )
    return render(request, "sla/report_detail.html", context)


@login_required
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    return _detail_page(request, report, _revision(request, report))


def _after(request: HttpRequest, report: MonthlyReport, action: Any, done: str) -> HttpResponse:
    """Run a button's service call; its refusal is said at the top of the report."""
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("sla:report", report_id=report.pk)


@login_required
@require_POST
def report_submit(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    return _after(
        request,
        report,
        lambda: services.submit_report(actor=request.user, report=report),
        _("The report was submitted for review."),
    )


def _expected(request: HttpRequest) -> int | None:
    """The revision the person was looking at when they clicked (``None`` if not sent)."""
    value = request.POST.get("revision", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@login_required
@require_POST
def report_freeze(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    return _after(
        request,
        report,
        lambda: services.freeze_report(
            actor=request.user, report=report, expected_revision=_expected(request)
        ),
        _("The report was frozen."),
    )


@login_required
@require_POST
def report_recompute(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    scope.require(request.user, Perm.MANAGE_REPORTS, report.organization)
    form = RecomputeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("note", [])))
        return redirect("sla:report", report_id=report.pk)
    note = form.cleaned_data["note"]
    return _after(
        request,
        report,
        lambda: services.compute_report(
            actor=request.user, contract=report.contract, period=report.period, note=note
        ),
        _("A new revision was computed."),
    )


@login_required
@require_POST
def dispute_open(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    scope.require(request.user, Perm.DISPUTE, report.organization)
    revision = _revision(request, report)
    form = DisputeForm(request.POST, levels=_level_choices(revision))
    if form.is_valid():
        try:
            services.open_dispute(
                actor=request.user,
                report=report,
                level_id=form.cleaned_data["level_id"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "The dispute was opened: the level's penalty is held from the next "
                    "computation until the steering committee decides."
                ),
            )
            return redirect("sla:report", report_id=report.pk)
    return _detail_page(request, report, revision, dispute_form=form)


@login_required
@require_POST
def dispute_decide(request: HttpRequest, report_id: int, dispute_id: int) -> HttpResponse:
    report = _find(request, report_id)
    dispute = report.disputes.filter(pk=dispute_id).first()
    if dispute is None:
        raise Http404("no such dispute")
    scope.require(request.user, Perm.MANAGE_REPORTS, report.organization)
    form = DecisionForm(request.POST, prefix=f"dispute-{dispute.pk}")
    if form.is_valid():
        try:
            services.decide_dispute(
                actor=request.user,
                dispute=dispute,
                outcome=form.cleaned_data["outcome"],
                decision=form.cleaned_data["decision"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The decision was recorded: the next computation of the month applies it."),
            )
            return redirect("sla:report", report_id=report.pk)
    return _detail_page(
        request, report, _revision(request, report), decision_forms={dispute.pk: form}
    )


# --- Committee meetings ----------------------------------------------------------------------


def _meeting_forms(report: MonthlyReport, data: Any = None) -> tuple[MeetingForm, list[ActionForm]]:
    """The form recording a meeting about ``report``, and its optional action rows."""
    title = _("%(committee)s, %(month)s") % {
        "committee": MeetingKind.STEERING.label,
        "month": date_format(document.month_start(report.period), "YEAR_MONTH_FORMAT"),
    }
    meeting_form = MeetingForm(
        data,
        prefix="meeting",
        initial={"held_on": timezone.localdate(), "title": title},
    )
    rows = [ActionForm(data, prefix=f"action-{n}", optional=True) for n in range(ACTION_ROWS)]
    return meeting_form, rows


def _apply_meeting_errors(
    error: ValidationError, meeting_form: MeetingForm, action_forms: Sequence[ActionForm]
) -> None:
    """A service's refusal next to the fields: ``actions.N.field`` on the N-th action row
    sent, the rest on the meeting's form."""
    if not hasattr(error, "error_dict"):
        meeting_form.add_error(None, error.messages)
        return
    for key, texts in error.message_dict.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "actions" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(action_forms):
                form = action_forms[index]
                form.add_error(parts[2] if parts[2] in form.fields else None, texts)
                continue
        meeting_form.add_error(key if key in meeting_form.fields else None, texts)


@login_required
@require_POST
def meeting_record(request: HttpRequest, report_id: int) -> HttpResponse:
    """Record a meeting that discussed the report, with up to five action items."""
    report = _find(request, report_id)
    if not services.may_record_meetings(request.user, report.organization):
        raise PermissionDenied("recording meetings")
    meeting_form, action_forms = _meeting_forms(report, request.POST)
    valid = meeting_form.is_valid()
    valid = all([form.is_valid() for form in action_forms]) and valid
    if valid:
        sent = [form for form in action_forms if not form.is_blank()]
        try:
            services.record_meeting(
                actor=request.user,
                contract=report.contract,
                report=report,
                actions=[form.spec() for form in sent],
                **meeting_form.cleaned_data,
            )
        except ValidationError as exc:
            _apply_meeting_errors(exc, meeting_form, sent)
        else:
            messages.success(request, _("The meeting was recorded."))
            return redirect(reverse("sla:report", args=[report.pk]) + "#committee")
    return _detail_page(
        request,
        report,
        _revision(request, report),
        meeting_form=meeting_form,
        action_forms=action_forms,
    )


def _find_meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    meeting: Meeting = scope.get_visible_or_404(
        Meeting.objects.select_related("contract", "report", "organization").prefetch_related(
            "actions"
        ),
        request.user,
        Perm.VIEW_REPORTS,
        pk=meeting_id,
    )
    return meeting


def _contract_reports(user: Any, meeting: Meeting) -> dict[str, MonthlyReport]:
    reports = services.visible_reports(user).filter(contract_id=meeting.contract_id)
    return {str(report.pk): report for report in reports.order_by("-period")}


def _meeting_page(
    request: HttpRequest,
    meeting: Meeting,
    *,
    edit_form: MeetingForm | None = None,
    action_form: ActionForm | None = None,
) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    can_meet = services.may_record_meetings(user, meeting.organization)
    if can_meet and edit_form is None:
        edit_form = MeetingForm(
            prefix="meeting",
            reports=[(pk, r.period) for pk, r in _contract_reports(user, meeting).items()],
            initial={
                "kind": meeting.kind,
                "held_on": meeting.held_on,
                "title": meeting.title,
                "attendees": meeting.attendees,
                "decisions": meeting.decisions,
                "report": str(meeting.report_id or ""),
            },
        )
    if can_meet and action_form is None:
        action_form = ActionForm(prefix="new")
    (minutes,) = document.committee_minutes([meeting], today)
    context = {
        "meeting": meeting,
        "row": minutes,
        "can_meet": can_meet,
        "edit_form": edit_form if can_meet else None,
        "action_form": action_form if can_meet else None,
        "today": today,
    }
    return render(request, "sla/meeting_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """A meeting's minutes; those who record meetings change them here (POST)."""
    meeting = _find_meeting(request, meeting_id)
    if request.method != "POST":
        return _meeting_page(request, meeting)
    if not services.may_record_meetings(request.user, meeting.organization):
        raise PermissionDenied("changing meetings")
    reports = _contract_reports(request.user, meeting)
    form = MeetingForm(
        request.POST, prefix="meeting", reports=[(pk, r.period) for pk, r in reports.items()]
    )
    if form.is_valid():
        changes = dict(form.cleaned_data)
        chosen = changes.pop("report")
        try:
            services.update_meeting(
                actor=request.user,
                meeting=meeting,
                report=reports[chosen] if chosen else None,
                **changes,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The meeting was updated."))
            return redirect("sla:meeting", meeting_id=meeting.pk)
    return _meeting_page(request, meeting, edit_form=form)


@login_required
@require_POST
def action_add(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = _find_meeting(request, meeting_id)
    if not services.may_record_meetings(request.user, meeting.organization):
        raise PermissionDenied("adding actions")
    form = ActionForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.add_action(actor=request.user, meeting=meeting, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The action item was added."))
            return redirect("sla:meeting", meeting_id=meeting.pk)
    return _meeting_page(request, meeting, action_form=form)


@login_required
@require_POST
def action_close(request: HttpRequest, meeting_id: int, action_id: int) -> HttpResponse:
    meeting = _find_meeting(request, meeting_id)
    action = meeting.actions.select_related("organization").filter(pk=action_id).first()
    if action is None:
        raise Http404("no such action item")
    if not services.may_record_meetings(request.user, meeting.organization):
        raise PermissionDenied("closing actions")
    form = CloseActionForm(request.POST, prefix=f"close-{action.pk}")
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("done_on", [])))
    else:
        try:
            services.close_action(
                actor=request.user, action=action, done_on=form.cleaned_data["done_on"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The action item was marked done."))
    return redirect("sla:meeting", meeting_id=meeting.pk)


# --- Exports ---------------------------------------------------------------------------------


def _file_name(report: MonthlyReport, revision: ReportRevision, suffix: str) -> str:
    reference = re.sub(r"[^A-Za-z0-9._-]+", "_", report.contract.reference).strip("._") or "report"
    return f"{reference}-{report.period}-r{revision.number}{suffix}"


def _attachment(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: Any) -> str:
    """A free-text cell, defused for spreadsheets (a leading = + - @ would start a formula)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _flag(value: Any) -> str:
    return "" if value is None else "true" if value else "false"


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode("utf-8")


CSV_TYPE = "text/csv; charset=utf-8; header=present"

RESULT_COLUMNS = (
    "level",
    "name",
    "metric",
    "services",
    "priority",
    "target_value",
    "target_unit",
    "target_seconds",
    "compliance",
    "value",
    "met",
    "sample",
    "within",
    "breaches",
    "overrun_seconds",
)
ITEM_COLUMNS = ("level", "ref", "value", "met", "overrun_seconds", "days_late", "note")
PENALTY_COLUMNS = (
    "rule_id",
    "kind",
    "level_id",
    "service",
    "quantity",
    "unit_amount",
    "amount",
    "currency",
    "held",
    "waived",
    "formula",
    "note",
)


@login_required
def export_json(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    revision = _revision(request, report)
    body = orjson.dumps(revision.evaluation, option=orjson.OPT_INDENT_2) + b"\n"
    return _attachment(body, "application/json", _file_name(report, revision, ".json"))


@login_required
def export_results(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    revision = _revision(request, report)
    rows = [
        (
            _text_cell(r["level"]),
            _text_cell(r.get("name")),
            r["metric"],
            _text_cell(" ".join(r.get("services", []))),
            _text_cell(r.get("priority")),
            r["target"]["value"],
            r["target"]["unit"],
            r.get("target_seconds"),
            r.get("compliance"),
            r.get("value"),
            _flag(r.get("met")),
            r.get("sample"),
            r.get("within"),
            r.get("breaches"),
            r.get("overrun_seconds"),
        )
        for r in revision.evaluation.get("results", [])
    ]
    return _attachment(
        _csv(RESULT_COLUMNS, rows), CSV_TYPE, _file_name(report, revision, "-results.csv")
    )


@login_required
def export_items(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    revision = _revision(request, report)
    rows = [
        (
            _text_cell(r["level"]),
            _text_cell(item.get("ref")),
            item.get("value"),
            _flag(item.get("met")),
            item.get("overrun_seconds"),
            item.get("days_late"),
            _text_cell(item.get("note")),
        )
        for r in revision.evaluation.get("results", [])
        for item in r.get("items", [])
    ]
    return _attachment(
        _csv(ITEM_COLUMNS, rows), CSV_TYPE, _file_name(report, revision, "-items.csv")
    )


@login_required
def export_penalties(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _find(request, report_id)
    revision = _revision(request, report)
    penalties = revision.evaluation.get("penalties", {})
    rows = [
        (
            _text_cell(line.get("rule_id")),
            line.get("kind"),
            _text_cell(line.get("level_id")),
            _text_cell(line.get("service")),
            line.get("quantity"),
            line.get("unit_amount"),
            line.get("amount"),
            penalties.get("currency"),
            _flag(line.get("held")),
            _flag(line.get("waived")),
            _text_cell(line.get("formula")),
            _text_cell(line.get("note")),
        )
        for line in penalties.get("lines", [])
    ]
    return _attachment(
        _csv(PENALTY_COLUMNS, rows), CSV_TYPE, _file_name(report, revision, "-penalties.csv")
    )


@login_required
def export_pdf(request: HttpRequest, report_id: int) -> HttpResponse:
    """The report as a PDF, in the language of the page that asked for it."""
    report = _find(request, report_id)
    revision = _revision(request, report)
    language = translation.get_language() or "fr"
    context = document.report_context(report, revision, request.user)
    pdf = document.render_pdf(context, language)
    return _attachment(pdf, "application/pdf", _file_name(report, revision, ".pdf"))


@login_required
def export_pack(request: HttpRequest, report_id: int) -> HttpResponse:
    """The committee pack: the report (the revision asked for) followed by the minutes of
    the meetings that discussed it, as one PDF in the language of the page."""
    report = _find(request, report_id)
    revision = _revision(request, report)
    language = translation.get_language() or "fr"
    context = document.report_context(report, revision, request.user)
    pdf = document.render_pack_pdf(context, document.report_meetings(report), language)
    return _attachment(pdf, "application/pdf", _file_name(report, revision, "-pack.pdf"))
