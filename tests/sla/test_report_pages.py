"""The monthly service report's pages: the list and the compute form, a report (any of its
revisions) with its trend charts, breaches, penalty statement and disputes, the review
buttons, the exports (JSON, CSV) and the PDF. Data is built through the services, as in
``test_reports.py`` (the contract is ``tests/contracts/minimal.yaml``).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from infogerance.helpdesk.models import Ticket
from infogerance.sla import report as document
from infogerance.sla import services
from infogerance.sla.models import Dispute, DisputeState, MonthlyReport, ReportRevision
from tests.sla.test_reports import MAY, OUTAGE, contract, jsonl, p1_ticket, paris

__all__ = ["contract"]  # the fixture, imported from test_reports

pytestmark = pytest.mark.django_db

VIEWERS = ("p_admin", "p_engineer", "p_auditor", "a_manager", "a_auditor")


@pytest.fixture
def browse(client: Any) -> Any:
    """The test client logged in as a world user, its pages in English (the source strings)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def do(user: Any) -> Any:
        client.logout()
        client.force_login(user)
        return client

    return do


@pytest.fixture
def march(world: Any, contract: Any) -> ReportRevision:
    """March 2026: a P1 met (20 min) and one missed (45 min), a 45-minute outage. GTI 50 %
    and availability 99.8991 % both missed; 150 + 625 − franchise 200 = 575.00 EUR due."""
    p1_ticket(world, contract, paris(2, 10), 20)
    p1_ticket(world, contract, paris(29, 1, 30), 45)
    services.record_operations(
        actor=world.user("p_engineer"), contract=contract, text=jsonl(OUTAGE)
    )
    return services.compute_report(
        actor=world.user("p_admin"), contract=contract, period="2026-03", now=MAY
    )


def urls(report_id: int) -> dict[str, str]:
    return {
        name: reverse(f"sla:{name}", kwargs={"report_id": report_id})
        for name in (
            "report",
            "export_json",
            "export_results",
            "export_items",
            "export_penalties",
            "export_pdf",
        )
    }


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


# --- Who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["p_admin", "a_manager"])
def test_every_page_renders(world: Any, march: ReportRevision, browse: Any, who: str) -> None:
    client = browse(world.user(who))
    assert client.get(reverse("sla:reports")).status_code == 200
    for name, url in urls(march.report_id).items():
        for query in ("", "?revision=1"):
            response = client.get(url + query)
            assert response.status_code == 200, (name, query)


@pytest.mark.parametrize("who", VIEWERS)
def test_the_people_with_the_right_see_the_report(
    world: Any, march: ReportRevision, browse: Any, who: str
) -> None:
    client = browse(world.user(who))
    body = html(client.get(reverse("sla:reports")))
    assert reverse("sla:report", args=[march.report_id]) in body
    assert client.get(reverse("sla:report", args=[march.report_id])).status_code == 200
    assert client.get(urls(march.report_id)["export_items"]).status_code == 200


def test_a_client_user_has_no_right_to_reports(
    world: Any, march: ReportRevision, browse: Any
) -> None:
    client = browse(world.user("a_user"))
    assert client.get(reverse("sla:reports")).status_code == 403
    for name, url in urls(march.report_id).items():
        assert client.get(url).status_code == 404, name
    post = client.post(reverse("sla:dispute_open", args=[march.report_id]))
    assert post.status_code == 404
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("who", ["b_manager", "b_user", "q_admin"])
def test_outsiders_get_404(world: Any, march: ReportRevision, browse: Any, who: str) -> None:
    client = browse(world.user(who))
    for name, url in urls(march.report_id).items():
        assert client.get(url).status_code == 404, name
    for name in ("report_submit", "report_freeze", "report_recompute", "dispute_open"):
        assert client.post(reverse(f"sla:{name}", args=[march.report_id])).status_code == 404
    march.report.refresh_from_db()
    assert (march.report.state, march.report.revision) == ("draft", 1)


def test_the_list_filters_by_contract_and_state(
    world: Any, march: ReportRevision, browse: Any
) -> None:
    from infogerance.contracts.services import import_contract
    from tests.sla.test_reports import MINIMAL

    admin = world.user("p_admin")
    other = import_contract(actor=admin, client=world.neighbour, text=MINIMAL).contract
    services.compute_report(actor=admin, contract=other, period="2026-02", now=MAY)
    client = browse(admin)
    body = html(client.get(reverse("sla:reports")))
    assert "575.00\u00a0EUR" in body and "2026-02" in body
    body = html(client.get(reverse("sla:reports"), {"contract": march.report.contract_id}))
    assert "2026-03" in body and "2026-02" not in body
    # The HTMX filter gets the table alone.
    partial = html(
        client.get(reverse("sla:reports"), {"contract": other.pk}, headers={"HX-Request": "true"})
    )
    assert partial.lstrip().startswith('<div class="table-wrap">')
    assert "2026-02" in partial and "2026-03" not in partial
    body = html(client.get(reverse("sla:reports"), {"state": "frozen"}))
    assert "No monthly report." in body
    # The client's manager sees their own client's report only.
    body = html(browse(world.user("b_manager")).get(reverse("sla:reports")))
    assert "2026-02" in body and "2026-03" not in body


# --- The report ------------------------------------------------------------------------------


def test_the_report_page(world: Any, march: ReportRevision, browse: Any) -> None:
    slow = Ticket.objects.get(number=2)
    body = html(browse(world.user("p_admin")).get(reverse("sla:report", args=[march.report_id])))
    evaluation = march.evaluation
    # Identity, period, state, revision, as-of instant, inputs hash.
    for text in (
        "TEST-001",
        "Contrat d&#x27;infogérance de test",
        "Provider P SAS",
        "Client A SAS",
        "March 2026",
        "<code>2026-03</code>",
        "Draft",
        march.inputs_sha256,
        "1 of 1, computed on",
    ):
        assert text in body, text
    # The results: measured values against targets, verdicts, sample, breaches, trends.
    assert '<data value="50.0000">50\u00a0%</data>' in body
    assert '<data value="99.8991">99.8991\u00a0%</data>' in body
    assert "30 minutes for 95\u00a0% of the items" in body
    assert body.count('data-verdict="missed"') == 2
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg" class="trend"') == 2
    assert 'aria-label="GTI P1, 2025-03 to 2026-03; target 95\u00a0%:' in body
    # The breaches: the late ticket, linked to its page, 15 minutes over, 1 day late.
    assert f'<a href="{reverse("helpdesk:ticket", args=[slow.pk])}">Ticket #2</a>' in body
    assert '<data value="900">15\u00a0min</data>' in body
    assert "INC-7" in body
    # The penalty statement: each line's formula, the steps, the amount due.
    for line in evaluation["penalties"]["lines"]:
        assert escape(line["formula"]) in body
    for step in evaluation["penalties"]["steps"]:
        assert escape(step) in body
    assert '<strong id="amount-due">575.00\u00a0EUR</strong>' in body
    # Volumes.
    assert "<dt>Tickets counted</dt><dd>2</dd>" in body
    # The provider's buttons; no dispute form for the provider.
    assert reverse("sla:report_submit", args=[march.report_id]) in body
    assert reverse("sla:report_recompute", args=[march.report_id]) in body
    assert 'id="dispute-form"' not in body


def test_the_report_page_in_french(world: Any, march: ReportRevision, client: Any) -> None:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    client.force_login(world.user("a_manager"))
    body = html(client.get(reverse("sla:report", args=[march.report_id])))
    assert '<html lang="fr">' in body
    assert "mars 2026" in body
    assert '<strong id="amount-due">575,00\u00a0EUR</strong>' in body
    assert '<data value="99.8991">99,8991\u00a0%</data>' in body
    assert "<td>99,9\u00a0%</td>" in body  # the target, written the same way


def test_the_client_manager_sees_the_dispute_form_not_the_buttons(
    world: Any, march: ReportRevision, browse: Any
) -> None:
    body = html(browse(world.user("a_manager")).get(reverse("sla:report", args=[march.report_id])))
    assert 'id="dispute-form"' in body
    assert '<option value="dispo-infra">' in body
    assert reverse("sla:report_submit", args=[march.report_id]) not in body
    assert reverse("sla:report_recompute", args=[march.report_id]) not in body


def test_only_ticket_refs_link_to_tickets(world: Any, march: ReportRevision, browse: Any) -> None:
    # An outage whose id is "2" is not ticket #2.
    services.record_operations(
        actor=world.user("p_engineer"),
        contract=march.report.contract,
        text=jsonl(
            {
                **OUTAGE,
                "id": "2",
                "start": "2026-03-20T10:00:00+01:00",
                "end": "2026-03-20T10:05:00+01:00",
            }
        ),
    )
    services.compute_report(
        actor=world.user("p_admin"), contract=march.report.contract, period="2026-03", now=MAY
    )
    body = html(browse(world.user("a_auditor")).get(reverse("sla:report", args=[march.report_id])))
    ticket = reverse("helpdesk:ticket", args=[Ticket.objects.get(number=2).pk])
    assert body.count(f'href="{ticket}"') == 1
    outages = body.split('<table class="data breaches" data-level="dispo-infra">')[1]
    assert "<td>2</td>" in outages.split("</table>")[0]
    # Without a person to read them, nothing is linked (a CLI's PDF).
    assert document.ticket_urls(march.report, None, {2}) == {}


def test_older_revisions_and_the_revision_list(
    world: Any, march: ReportRevision, browse: Any
) -> None:
    admin = world.user("p_admin")
    services.compute_report(
        actor=admin, contract=march.report.contract, period="2026-03", now=MAY, note="Relecture"
    )
    client = browse(admin)
    url = reverse("sla:report", args=[march.report_id])
    latest = html(client.get(url))
    assert "2 of 2, computed on" in latest and "Relecture" in latest
    assert f'href="{url}?revision=1"' in latest
    assert latest.count(march.inputs_sha256) == 3  # shown, and both rows of the list
    older = html(client.get(url, {"revision": 1}))
    assert "This is revision 1, as it was computed; the latest is revision 2." in older
    assert f"{reverse('sla:export_pdf', args=[march.report_id])}?revision=1" in older
    for bad in ("3", "0", "x", "1" * 12):
        assert client.get(url, {"revision": bad}).status_code == 404, bad


def test_the_trend_reads_the_previous_months(
    world: Any, contract: Any, march: ReportRevision, browse: Any
) -> None:
    admin = world.user("p_admin")
    # February: no ticket, no outage: availability 100 %, GTI without data.
    for _twice in range(2):  # the latest revision of the month counts
        services.compute_report(actor=admin, contract=contract, period="2026-02", now=MAY)
    history = document.trend_values(march.report, document.months_before("2026-03"))
    assert history == {"2026-02": {"gti-p1": None, "dispo-infra": "100.0000"}}
    body = html(browse(admin).get(reverse("sla:report", args=[march.report_id])))
    row = body.split('data-level="dispo-infra"')[1].split("</tr>")[0]
    assert row.count("<polyline") == 1 and row.count("<circle") == 2
    assert "2026-02 100\u00a0%; 2026-03 99.8991\u00a0%" in row
    gti = body.split('data-level="gti-p1"')[1].split("</tr>")[0]
    assert gti.count("<polyline") == 0 and gti.count("<circle") == 1


# --- Forms -----------------------------------------------------------------------------------


def test_the_compute_form(world: Any, contract: Any, browse: Any) -> None:
    client = browse(world.user("p_admin"))
    url = reverse("sla:report_compute")
    for period, message in (
        ("2026-13", "Write the month as YYYY-MM, e.g. 2026-03."),
        ("2026-3", "Write the month as YYYY-MM, e.g. 2026-03."),
        ("2099-01", "This month has not begun."),
    ):
        body = html(client.post(url, {"contract": contract.pk, "period": period}))
        field = body.split('for="id_period"')[1].split('<div class="field">')[0]
        assert '<ul class="errorlist" role="alert">' in field and message in field, period
        assert not MonthlyReport.objects.exists()
    response = client.post(url, {"contract": contract.pk, "period": "2026-03", "note": "Mars"})
    report = MonthlyReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sla:report", args=[report.pk])
    assert (report.period, report.revision, report.revisions.get().note) == ("2026-03", 1, "Mars")


@pytest.mark.parametrize("who", ["p_engineer", "a_manager", "p_auditor"])
def test_only_provider_admins_compute(world: Any, contract: Any, browse: Any, who: str) -> None:
    client = browse(world.user(who))
    body = html(client.get(reverse("sla:reports")))
    assert 'id="compute-form"' not in body
    response = client.post(
        reverse("sla:report_compute"), {"contract": contract.pk, "period": "2026-03"}
    )
    assert response.status_code == 403
    assert not MonthlyReport.objects.exists()


def test_the_dispute_form(world: Any, march: ReportRevision, browse: Any) -> None:
    client = browse(world.user("a_manager"))
    url = reverse("sla:dispute_open", args=[march.report_id])
    body = html(client.post(url, {"level_id": "dispo-infra", "reason": "  "}))
    assert "This field is required." in body.split('for="id_reason"')[1]
    response = client.post(url, {"level_id": "dispo-infra", "reason": "Coupure du site."})
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert (dispute.level_id, dispute.state, dispute.revision) == ("dispo-infra", "open", 1)
    body = html(client.get(reverse("sla:report", args=[march.report_id])))
    row = body.split('id="disputes"')[1].split("</table>")[0]
    assert 'data-level="dispo-infra" data-state="open"' in row and "Coupure du site." in row
    assert "under dispute" in body
    # The same level again: the service's refusal is shown next to the field.
    body = html(client.post(url, {"level_id": "dispo-infra", "reason": "Encore."}))
    assert "This service level is already under dispute." in body.split('for="id_level_id"')[1]
    assert Dispute.objects.count() == 1
    # The provider does not contest its own figures.
    admin = browse(world.user("p_admin"))
    assert admin.post(url, {"level_id": "gti-p1", "reason": "x"}).status_code == 403
    assert Dispute.objects.count() == 1


def test_the_decision_form_and_the_next_revision(
    world: Any, march: ReportRevision, browse: Any
) -> None:
    report = march.report
    dispute = services.open_dispute(
        actor=world.user("a_manager"), report=report, level_id="dispo-infra", reason="Non."
    )
    url = reverse("sla:dispute_decide", args=[report.pk, dispute.pk])
    prefix = f"dispute-{dispute.pk}"
    manager = browse(world.user("a_manager"))
    assert manager.post(url, {f"{prefix}-outcome": "waived"}).status_code == 403
    client = browse(world.user("p_admin"))
    body = html(client.get(reverse("sla:report", args=[report.pk])))
    assert f'id="decide-{dispute.pk}"' in body
    body = html(client.post(url, {f"{prefix}-outcome": "waived", f"{prefix}-decision": ""}))
    assert "This field is required." in body.split(f'for="id_{prefix}-decision"')[1]
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.OPEN
    response = client.post(
        url, {f"{prefix}-outcome": "waived", f"{prefix}-decision": "Force majeure."}
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.state, dispute.decision) == (DisputeState.WAIVED, "Force majeure.")
    # Decided once only: the service's refusal, next to the field.
    body = html(client.post(url, {f"{prefix}-outcome": "upheld", f"{prefix}-decision": "Non."}))
    assert "This dispute has already been decided." in body
    # The next computation applies it: the line is shown, waived, and not counted.
    assert client.post(reverse("sla:report_recompute", args=[report.pk])).status_code == 302
    body = html(client.get(reverse("sla:report", args=[report.pk])))
    assert "waived by the committee" in body
    assert '<strong id="amount-due">0.00\u00a0EUR</strong>' in body  # 150 − franchise 200
    other = Dispute.objects.exclude(pk=dispute.pk)
    assert not other.exists()
    assert client.post(reverse("sla:dispute_decide", args=[report.pk, 99999])).status_code == 404


def test_submit_freeze_and_recompute(world: Any, march: ReportRevision, browse: Any) -> None:
    report = march.report
    manager = browse(world.user("a_manager"))
    assert manager.post(reverse("sla:report_submit", args=[report.pk])).status_code == 403
    client = browse(world.user("p_admin"))
    freeze = reverse("sla:report_freeze", args=[report.pk])
    # Freezing a draft is refused: said at the top, nothing changes.
    response = client.post(freeze, follow=True)
    assert "this needs a report in In review" in html(response)
    report.refresh_from_db()
    assert report.state == "draft"
    client.post(reverse("sla:report_submit", args=[report.pk]))
    report.refresh_from_db()
    assert report.state == "review"
    body = html(client.post(freeze, follow=True))
    assert "The report was frozen." in body
    report.refresh_from_db()
    assert (report.state, report.frozen_revision) == ("frozen", 1)
    recompute = reverse("sla:report_recompute", args=[report.pk])
    body = html(client.post(recompute, {"note": "x" * 501}, follow=True))
    assert "Ensure this value has at most 500 characters (it has 501)." in body
    assert report.revisions.count() == 1
    client.post(recompute, {"note": "Correction"})
    report.refresh_from_db()
    assert (report.state, report.revision, report.frozen_revision) == ("review", 2, 1)
    assert report.revisions.get(number=2).note == "Correction"


# --- Exports ---------------------------------------------------------------------------------


def _csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    text = response.content.decode("utf-8")
    assert text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _flag(value: Any) -> str:
    return "" if value is None else "true" if value else "false"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def test_the_exports(world: Any, march: ReportRevision, browse: Any) -> None:
    client = browse(world.user("a_manager"))
    links = urls(march.report_id)
    evaluation = march.evaluation

    response = client.get(links["export_json"])
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="TEST-001-2026-03-r1.json"'
    assert json.loads(response.content) == evaluation

    results = _csv_rows(client.get(links["export_results"]))
    assert [row["level"] for row in results] == ["gti-p1", "dispo-infra"]
    for row, result in zip(results, evaluation["results"], strict=True):
        assert row == {
            "level": result["level"],
            "name": result["name"],
            "metric": result["metric"],
            "services": " ".join(result["services"]),
            "priority": _text(result["priority"]),
            "target_value": result["target"]["value"],
            "target_unit": result["target"]["unit"],
            "target_seconds": _text(result["target_seconds"]),
            "compliance": _text(result["compliance"]),
            "value": _text(result["value"]),
            "met": _flag(result["met"]),
            "sample": str(result["sample"]),
            "within": str(result["within"]),
            "breaches": str(result["breaches"]),
            "overrun_seconds": _text(result["overrun_seconds"]),
        }

    items = _csv_rows(client.get(links["export_items"]))
    expected = [
        {
            "level": result["level"],
            "ref": item["ref"],
            "value": _text(item["value"]),
            "met": _flag(item["met"]),
            "overrun_seconds": _text(item["overrun_seconds"]),
            "days_late": str(item["days_late"]),
            "note": item["note"],
        }
        for result in evaluation["results"]
        for item in result["items"]
    ]
    assert items == expected
    assert [(r["level"], r["ref"], r["met"]) for r in items] == [
        ("gti-p1", "1", "true"),
        ("gti-p1", "2", "false"),
        ("dispo-infra", "INC-7", "false"),
    ]

    response = client.get(links["export_penalties"])
    assert response["Content-Disposition"] == (
        'attachment; filename="TEST-001-2026-03-r1-penalties.csv"'
    )
    lines = _csv_rows(response)
    assert [(r["rule_id"], r["amount"], r["currency"], r["held"], r["formula"]) for r in lines] == [
        (line["rule_id"], line["amount"], "EUR", _flag(line["held"]), line["formula"])
        for line in evaluation["penalties"]["lines"]
    ]


def test_an_export_follows_the_revision_asked_for(
    world: Any, march: ReportRevision, browse: Any
) -> None:
    admin = world.user("p_admin")
    services.open_dispute(
        actor=world.user("a_manager"), report=march.report, level_id="gti-p1", reason="Non."
    )
    services.compute_report(actor=admin, contract=march.report.contract, period="2026-03", now=MAY)
    client = browse(admin)
    url = urls(march.report_id)["export_penalties"]
    held = {r["rule_id"]: r["held"] for r in _csv_rows(client.get(url))}
    before = {r["rule_id"]: r["held"] for r in _csv_rows(client.get(url + "?revision=1"))}
    assert (held["pen-gti"], before["pen-gti"]) == ("true", "false")
    response = client.get(urls(march.report_id)["export_json"] + "?revision=1")
    assert "r1.json" in response["Content-Disposition"]


def test_a_text_cell_that_would_start_a_formula_is_defused() -> None:
    from infogerance.sla.views import _text_cell

    assert _text_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _text_cell("INC-7") == "INC-7"
    assert _text_cell(None) == ""


# --- The PDF ---------------------------------------------------------------------------------


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text, extracted by pypdf (a test dependency)."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _laid_out_text(rendered: Any) -> str:
    """The text WeasyPrint laid out on the pages (what the PDF draws), from its boxes."""
    from weasyprint.formatting_structure import boxes

    return " ".join(
        box.text
        for page in rendered.pages
        for box in page._page_box.descendants()
        if isinstance(box, boxes.TextBox)
    )


def test_the_pdf(world: Any, march: ReportRevision, browse: Any) -> None:
    response = browse(world.user("a_manager")).get(urls(march.report_id)["export_pdf"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="TEST-001-2026-03-r1.pdf"'
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    for expected in ("TEST-001", "2026-03", "575.00"):
        assert expected in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["TEST-001", "2026-03", "March 2026", "575.00 EUR", "Amount due", "Breaches"]),
        ("fr", ["TEST-001", "2026-03", "mars 2026", "575,00 EUR", "12 500,00 EUR"]),
    ],
)
def test_the_laid_out_pdf(
    world: Any, march: ReportRevision, language: str, expected: list[str]
) -> None:
    with translation.override(language):
        context = document.report_context(march.report, march, world.user("p_admin"))
    rendered = document.render_document(context, language)
    text = " ".join(_laid_out_text(rendered).replace("\u00a0", " ").replace("\u202f", " ").split())
    for piece in expected:
        assert piece in text, piece
    assert march.inputs_sha256 in text.replace(" ", "")
    pdf = document.render_pdf(context, language)
    assert pdf.startswith(b"%PDF")


def test_the_pdf_fetches_nothing() -> None:
    from infogerance.core.documents import no_network_fetcher

    fetcher = no_network_fetcher()
    for url in ("http://example.org/x.png", "https://example.org/a.css", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="fetches nothing"):
            (fetcher.fetch if hasattr(fetcher, "fetch") else fetcher)(url)


# --- The trend chart -------------------------------------------------------------------------


def test_trend_svg_coordinates() -> None:
    # 3 points on 160 × 40 with 4 px of margin: x = 4, 80, 156; the values 0..10 map to
    # y = 36..4 (32 px for 10 units), so 5 → 20; the target 5 is the line y = 20.
    svg = document.trend_svg(
        [("a", 0), ("b", 10), ("c", 5)], 5, title="T <x>", width=160, height=40, pad=4
    )
    assert svg.startswith(
        '<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="160" height="40" '
        'viewBox="0 0 160 40" role="img" aria-label="T &lt;x&gt;"><title>T &lt;x&gt;</title>'
    )
    assert '<line class="trend-target" x1="4" y1="20" x2="156" y2="20"' in svg
    assert 'points="4,36 80,4 156,20"' in svg
    assert '<circle class="trend-point" cx="156" cy="20" r="2.5"' in svg  # the month shown
    assert '<circle class="trend-point" cx="4" cy="36" r="1.5"' in svg


def test_trend_svg_scale_includes_the_target_and_gaps_break_the_line() -> None:
    # Values 99.8 and 99.9 with a target of 100: the scale runs 99.8..100 (0.2 over 32 px).
    from decimal import Decimal

    svg = document.trend_svg(
        [("j", Decimal("99.8")), ("f", None), ("m", Decimal("99.9")), ("a", Decimal("100"))],
        Decimal("100"),
        width=100,
        height=40,
        pad=4,
    )
    # x = 4 + i × 92 / 3: 4, 34.67, 65.33, 96; y(99.8) = 36, y(99.9) = 20, y(100) = 4.
    assert svg.count("<polyline") == 1
    assert 'points="65.33,20 96,4"' in svg
    assert '<circle class="trend-point" cx="4" cy="36" r="1.5"' in svg
    assert 'y1="4"' in svg
    assert 'aria-label="j: 99.8; m: 99.9; a: 100; → 100"' in svg


def test_trend_svg_flat_empty_and_single() -> None:
    flat = document.trend_svg([("a", 3), ("b", 3)], None, width=20, height=20, pad=0)
    assert 'points="0,10 20,10"' in flat and "trend-target" not in flat
    empty = document.trend_svg([("a", None), ("b", None)], 95, title="x")
    assert "<circle" not in empty and "<polyline" not in empty and "trend-target" in empty
    single = document.trend_svg([("a", 1)], None, width=20, height=10, pad=0)
    assert '<circle class="trend-point" cx="10" cy="5" r="2.5"' in single


def test_the_navigation_has_the_reports(world: Any, browse: Any) -> None:
    body = html(browse(world.user("a_manager")).get(reverse("sla:reports")))
    assert '<a href="/reports/" aria-current="page">Service levels</a>' in body
