"""Committee meetings and the committee pack: the minutes of the meetings that discuss a
monthly report (attendees, decisions, action items with an owner and a due date), who may
record and change them, the report page's section and form, the meeting page, the API, and
the pack PDF (the report followed by the minutes). Data is built through the services, as in
``test_reports.py`` (the contract is ``tests/contracts/minimal.yaml``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from infogerance.core.testing.audit import audit_expected, no_audit
from infogerance.sla import report as document
from infogerance.sla import services
from infogerance.sla.models import ActionItem, Meeting, MonthlyReport, ReportRevision
from tests.sla.test_report_pages import _pdf_text, browse, html, march
from tests.sla.test_reports import MAY, MINIMAL, contract

__all__ = ["browse", "contract", "march"]  # fixtures, imported

pytestmark = pytest.mark.django_db

HELD = dt.date(2026, 4, 14)
#: Those who record and change a committee's minutes: the provider's administrator (who runs
#: it) and the client's IT manager (who attends it).
RECORDERS = ("p_admin", "a_manager")
#: Within the tenant but without the right (they read the minutes, or not even the reports).
READERS = ("p_engineer", "p_auditor", "a_auditor")
#: Everyone else: a client user, the neighbour client, another provider.
OTHERS = ("a_user", "b_manager", "b_user", "q_admin")


def meeting_of(
    world: Any, report: MonthlyReport, who: str = "a_manager", **overrides: Any
) -> Meeting:
    values: dict[str, Any] = {
        "kind": "steering",
        "held_on": HELD,
        "title": "Comité de pilotage d'avril",
        "attendees": "Marie Durand (client)\n\n  Paula   Admin (provider) \n",
        "decisions": "Plan d'action sur la GTI P1.",
        "actions": [("Analyser les causes des retards P1", "Prestataire", dt.date(2026, 5, 15))],
    }
    values.update(overrides)
    return services.record_meeting(
        actor=world.user(who), contract=report.contract, report=report, **values
    )


def counts() -> tuple[int, int]:
    return Meeting.objects.count(), ActionItem.objects.count()


# --- Services --------------------------------------------------------------------------------


def test_recording_a_meeting(world: Any, march: ReportRevision) -> None:
    report = march.report
    with audit_expected("sla.meeting.record", organization_id=world.victim.pk) as seen:
        meeting = meeting_of(world, report)
    assert seen.event.target_id == str(meeting.pk)
    assert (meeting.organization_id, meeting.contract_id, meeting.report_id) == (
        world.victim.pk,
        report.contract_id,
        report.pk,
    )
    # One attendee a line, spaces tidied, blank lines dropped.
    assert meeting.attendees == "Marie Durand (client)\nPaula Admin (provider)"
    assert meeting.attendee_list == ["Marie Durand (client)", "Paula Admin (provider)"]
    assert meeting.created_by == world.user("a_manager").email
    (action,) = meeting.actions.all()
    assert (action.organization_id, action.owner, action.due_on, action.done_on) == (
        world.victim.pk,
        "Prestataire",
        dt.date(2026, 5, 15),
        None,
    )
    after = seen.event.after
    assert (after["title"], after["report_id"], after["held_on"]) == (
        "Comité de pilotage d'avril",
        report.pk,
        "2026-04-14",
    )
    assert after["actions"] == [
        {
            "id": action.pk,
            "text": "Analyser les causes des retards P1",
            "owner": "Prestataire",
            "due_on": "2026-05-15",
            "done_on": None,
        }
    ]
    # A meeting without a report, and without any action item, is fine too.
    alone = services.record_meeting(
        actor=world.user("p_admin"),
        contract=report.contract,
        kind="operational",
        held_on=HELD,
        title="Point hebdomadaire",
        attendees=["Pierre Engineer"],
    )
    assert (alone.report_id, alone.actions.count(), alone.decisions) == (None, 0, "")


@pytest.mark.parametrize("who", RECORDERS + READERS + OTHERS)
def test_who_may_record_change_and_close(world: Any, march: ReportRevision, who: str) -> None:
    report = march.report
    meeting = meeting_of(world, report, who="p_admin")
    action = meeting.actions.get()
    user = world.user(who)
    calls = {
        "record": lambda: meeting_of(world, report, who=who),
        "update": lambda: services.update_meeting(actor=user, meeting=meeting, title="Autre"),
        "add": lambda: services.add_action(
            actor=user, meeting=meeting, text="Relire", owner="Client", due_on=HELD
        ),
        "close": lambda: services.close_action(actor=user, action=action, done_on=HELD),
    }
    if who in RECORDERS:
        actions = {
            "record": "sla.meeting.record",
            "update": "sla.meeting.update",
            "add": "sla.action.add",
            "close": "sla.action.close",
        }
        for name, call in calls.items():
            with audit_expected(actions[name], actor_id=user.pk):
                call()
        assert counts() == (2, 3)
        return
    for name, call in calls.items():
        with no_audit("sla."), pytest.raises(PermissionDenied):
            call()
        assert counts() == (1, 1), name
    meeting.refresh_from_db()
    action.refresh_from_db()
    assert (meeting.title, action.done_on) == ("Comité de pilotage d'avril", None)


def _too_far() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=400)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Comité\x00"}, "title"),
        ({"kind": "weekly"}, "kind"),
        ({"attendees": "\n \n"}, "attendees"),
        ({"attendees": ["x" * 201]}, "attendees"),
        ({"attendees": [f"P{n}" for n in range(101)]}, "attendees"),
        ({"decisions": "x" * 10_001}, "decisions"),
        ({"held_on": "too far"}, "held_on"),
        ({"actions": [("Relire", "Client", dt.date(2026, 4, 13))]}, "actions.0.due_on"),
        ({"actions": [("Relire", "Client", HELD), ("", "Client", HELD)]}, "actions.1.text"),
        ({"actions": [("Relire", " ", HELD)]}, "actions.0.owner"),
        ({"actions": [("x" * 501, "Client", HELD)]}, "actions.0.text"),
        ({"actions": [("Relire", "Client", HELD)] * 101}, "actions"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    world: Any, march: ReportRevision, overrides: dict[str, Any], field: str
) -> None:
    if overrides.get("held_on") == "too far":
        overrides = {"held_on": _too_far(), "actions": []}
    with no_audit("sla."), pytest.raises(ValidationError) as error:
        meeting_of(world, march.report, **overrides)
    assert field in error.value.message_dict, error.value.message_dict
    assert counts() == (0, 0)


def test_the_report_must_be_of_the_meeting_s_contract(
    world: Any, march: ReportRevision, contract: Any
) -> None:
    from infogerance.contracts.services import import_contract

    admin = world.user("p_admin")
    other = import_contract(actor=admin, client=world.neighbour, text=MINIMAL).contract
    elsewhere = services.compute_report(
        actor=admin, contract=other, period="2026-03", now=MAY
    ).report
    with no_audit("sla."), pytest.raises(ValidationError) as error:
        services.record_meeting(
            actor=admin,
            contract=contract,
            report=elsewhere,
            kind="steering",
            held_on=HELD,
            title="Comité",
            attendees="Paula Admin",
        )
    assert list(error.value.message_dict) == ["report"]
    assert counts() == (0, 0)
    meeting = meeting_of(world, march.report)
    with no_audit("sla."), pytest.raises(ValidationError) as error:
        services.update_meeting(actor=admin, meeting=meeting, report=elsewhere)
    assert "report" in error.value.message_dict
    meeting.refresh_from_db()
    assert meeting.report_id == march.report_id


def test_updating_is_audited_before_and_after(world: Any, march: ReportRevision) -> None:
    meeting = meeting_of(world, march.report)
    admin = world.user("p_admin")
    with audit_expected("sla.meeting.update", target_id=str(meeting.pk)) as seen:
        services.update_meeting(
            actor=admin,
            meeting=meeting,
            title="Comité de pilotage, avril 2026",
            decisions="Plan d'action validé.",
            attendees=["Marie Durand (client)", "Paula Admin (provider)"],  # unchanged
            report=None,
        )
    assert seen.event.before == {
        "title": "Comité de pilotage d'avril",
        "decisions": "Plan d'action sur la GTI P1.",
        "report_id": march.report_id,
    }
    assert seen.event.after == {
        "title": "Comité de pilotage, avril 2026",
        "decisions": "Plan d'action validé.",
        "report_id": None,
    }
    # Nothing changed: nothing recorded.
    with no_audit("sla."):
        services.update_meeting(
            actor=admin, meeting=meeting, title="Comité de pilotage, avril 2026"
        )
    # Moved after an action's due date, an unknown field, an empty title: refused, unchanged.
    for changes, field in (
        ({"held_on": dt.date(2026, 5, 16)}, "held_on"),
        ({"held_on": _too_far()}, "held_on"),
        ({"created_by": "x"}, "created_by"),
        ({"title": "", "kind": "nope"}, "kind"),
    ):
        with no_audit("sla."), pytest.raises(ValidationError) as error:
            services.update_meeting(actor=admin, meeting=meeting, **changes)
        assert field in error.value.message_dict, changes
    meeting.refresh_from_db()
    assert (meeting.held_on, meeting.title, meeting.kind) == (
        HELD,
        "Comité de pilotage, avril 2026",
        "steering",
    )


def test_adding_and_closing_actions(world: Any, march: ReportRevision) -> None:
    meeting = meeting_of(world, march.report)
    manager = world.user("a_manager")
    with no_audit("sla."), pytest.raises(ValidationError) as error:
        services.add_action(
            actor=manager, meeting=meeting, text="Relire", owner="", due_on=dt.date(2026, 4, 1)
        )
    assert set(error.value.message_dict) == {"owner", "due_on"}
    with audit_expected("sla.action.add") as seen:
        added = services.add_action(
            actor=manager, meeting=meeting, text="Relire le PAQ", owner="Client", due_on=HELD
        )
    assert seen.event.after["owner"] == "Client" and seen.event.after["meeting"] == meeting.pk
    today = timezone.localdate()
    for done_on, message in (
        (today + dt.timedelta(days=1), "cannot be done in the future"),
        (dt.date(2026, 4, 13), "on or after its meeting"),
    ):
        with no_audit("sla."), pytest.raises(ValidationError) as error:
            services.close_action(actor=manager, action=added, done_on=done_on)
        assert message in error.value.message_dict["done_on"][0]
    with audit_expected("sla.action.close", target_id=str(added.pk)) as seen:
        services.close_action(actor=manager, action=added, done_on=dt.date(2026, 4, 20))
    assert (seen.event.before, seen.event.after) == (
        {"done_on": None},
        {"done_on": "2026-04-20"},
    )
    with no_audit("sla."), pytest.raises(ValidationError) as error:
        services.close_action(actor=manager, action=added)
    assert "already done" in error.value.message_dict["done_on"][0]
    added.refresh_from_db()
    assert added.done_on == dt.date(2026, 4, 20)
    # Without a date: today.
    first = meeting.actions.exclude(pk=added.pk).get()
    assert services.close_action(actor=manager, action=first).done_on == today


def test_an_open_action_past_its_due_date_is_overdue(world: Any, march: ReportRevision) -> None:
    meeting = meeting_of(world, march.report)
    action = meeting.actions.get()  # due 2026-05-15
    assert action.is_overdue(dt.date(2026, 5, 16))
    assert not action.is_overdue(dt.date(2026, 5, 15))
    action.done_on = dt.date(2026, 5, 20)
    assert not action.is_overdue(dt.date(2026, 6, 1))
    (row,) = document.committee_minutes([meeting], dt.date(2026, 5, 16))
    assert [a.overdue for a in row.actions] == [True]
    assert (row.open_actions, row.overdue_actions) == (1, 1)


# --- Pages -----------------------------------------------------------------------------------


def _form(
    title: str = "Comité de pilotage de mars", rows: dict[int, tuple[str, str, str]] | None = None
) -> dict[str, str]:
    data = {
        "meeting-kind": "steering",
        "meeting-held_on": "2026-04-14",
        "meeting-title": title,
        "meeting-attendees": "Marie Durand (client)\nPaula Admin (provider)",
        "meeting-decisions": "Plan d'action sur la GTI P1.",
    }
    for index, (text, owner, due_on) in (rows or {}).items():
        data.update(
            {
                f"action-{index}-text": text,
                f"action-{index}-owner": owner,
                f"action-{index}-due_on": due_on,
            }
        )
    return data


def test_the_report_page_lists_the_meetings(world: Any, march: ReportRevision, browse: Any) -> None:
    report = march.report
    past = timezone.localdate() - dt.timedelta(days=30)
    meeting_of(
        world,
        report,
        held_on=past,
        actions=[
            ("Analyser les retards P1", "Prestataire", past + dt.timedelta(days=10)),
            ("Relire le PAQ", "Client", past + dt.timedelta(days=60)),
        ],
    )
    url = reverse("sla:report", args=[report.pk])
    body = html(browse(world.user("a_auditor")).get(url))
    section = body.split('id="committee"')[1].split("</section>")[0]
    assert "Steering committee" in section
    assert "Comité de pilotage d&#x27;avril" in section
    assert "<li>Marie Durand (client)</li><li>Paula Admin (provider)</li>" in section
    assert "Plan d&#x27;action sur la GTI P1." in section
    overdue = section.split('data-state="overdue"')[1].split("</tr>")[0]
    assert "Analyser les retards P1" in overdue and "overdue" in overdue
    assert 'data-state="open"' in section
    assert reverse("sla:export_pack", args=[report.pk]) in body
    # A reader has no form; those who attend the committee have one.
    assert 'id="meeting-form"' not in body
    for who in RECORDERS:
        body = html(browse(world.user(who)).get(url))
        assert 'id="meeting-form"' in body
        assert body.count('name="action-') == 15  # five rows of three fields


def test_recording_a_meeting_from_the_report_page(
    world: Any, march: ReportRevision, browse: Any
) -> None:
    report = march.report
    client = browse(world.user("a_manager"))
    url = reverse("sla:meeting_record", args=[report.pk])
    rows = {
        0: ("Analyser les retards P1", "Prestataire", "2026-05-15"),
        2: ("Relire le PAQ", "Client", "2026-04-01"),  # before the meeting
        3: ("", "Client", ""),  # partly filled
    }
    with no_audit("sla."):
        body = html(client.post(url, _form(rows=rows)))
    assert counts() == (0, 0)
    row_3 = body.split('for="id_action-3-text"')[1].split("</td>")[0]
    assert "This field is required." in row_3
    # The row is fixed, the service then refuses row 2 (the second sent): shown on row 2.
    rows[3] = ("", "", "")
    with no_audit("sla."):
        body = html(client.post(url, _form(rows=rows)))
    assert counts() == (0, 0)
    row_2 = body.split('for="id_action-2-due_on"')[1].split("</td>")[0]
    assert "An action is due on or after the meeting" in row_2
    assert 'value="Relire le PAQ"' in body  # what was typed stays
    rows[2] = ("Relire le PAQ", "Client", "2026-04-30")
    with audit_expected("sla.meeting.record"):
        response = client.post(url, _form(rows=rows))
    assert response.status_code == 302
    assert response["Location"] == reverse("sla:report", args=[report.pk]) + "#committee"
    meeting = Meeting.objects.get()
    assert (meeting.report_id, meeting.title) == (report.pk, "Comité de pilotage de mars")
    assert [(a.text, a.owner) for a in meeting.actions.all()] == [
        ("Relire le PAQ", "Client"),
        ("Analyser les retards P1", "Prestataire"),
    ]
    body = html(client.get(reverse("sla:report", args=[report.pk])))
    assert reverse("sla:meeting", args=[meeting.pk]) in body


@pytest.mark.parametrize(("who", "status"), [("p_engineer", 403), ("a_auditor", 403)])
def test_readers_cannot_record(
    world: Any, march: ReportRevision, browse: Any, who: str, status: int
) -> None:
    meeting = meeting_of(world, march.report)
    action = meeting.actions.get()
    client = browse(world.user(who))
    posts = [
        (reverse("sla:meeting_record", args=[march.report_id]), _form()),
        (reverse("sla:meeting", args=[meeting.pk]), {"meeting-title": "x"}),
        (reverse("sla:action_add", args=[meeting.pk]), {"new-text": "x"}),
        (
            reverse("sla:action_close", args=[meeting.pk, action.pk]),
            {f"close-{action.pk}-done_on": "2026-04-20"},
        ),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == status, url
    assert counts() == (1, 1)
    body = html(client.get(reverse("sla:meeting", args=[meeting.pk])))
    assert 'id="meeting-edit-form"' not in body and 'id="action-form"' not in body


@pytest.mark.parametrize("who", OTHERS)
def test_others_get_404(world: Any, march: ReportRevision, browse: Any, who: str) -> None:
    meeting = meeting_of(world, march.report)
    action = meeting.actions.get()
    client = browse(world.user(who))
    for url in (
        reverse("sla:meeting", args=[meeting.pk]),
        reverse("sla:export_pack", args=[march.report_id]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("sla:meeting_record", args=[march.report_id]),
        reverse("sla:meeting", args=[meeting.pk]),
        reverse("sla:action_add", args=[meeting.pk]),
        reverse("sla:action_close", args=[meeting.pk, action.pk]),
    ):
        assert client.post(url, _form()).status_code == 404, url
    assert counts() == (1, 1)


def test_the_meeting_page(world: Any, march: ReportRevision, browse: Any) -> None:
    meeting = meeting_of(world, march.report)
    action = meeting.actions.get()
    client = browse(world.user("p_admin"))
    url = reverse("sla:meeting", args=[meeting.pk])
    body = html(client.get(url))
    assert "Comité de pilotage d&#x27;avril" in body and "Prestataire" in body
    assert f'id="close-{action.pk}"' in body
    assert f'<option value="{march.report_id}" selected>2026-03</option>' in body
    # Change the minutes: a refusal next to the field, then the change.
    edit = {
        "meeting-kind": "steering",
        "meeting-held_on": "2026-05-20",  # after the action's due date
        "meeting-title": "Comité de pilotage",
        "meeting-attendees": "Marie Durand",
        "meeting-decisions": "",
        "meeting-report": str(march.report_id),
    }
    body = html(client.post(url, edit))
    assert "An action of this meeting is due on" in body.split('for="id_meeting-held_on"')[1]
    with audit_expected("sla.meeting.update") as seen:
        response = client.post(url, {**edit, "meeting-held_on": "2026-04-15"})
    assert response.status_code == 302
    assert seen.event.after["held_on"] == "2026-04-15"
    meeting.refresh_from_db()
    assert (meeting.held_on, meeting.attendees, meeting.decisions) == (
        dt.date(2026, 4, 15),
        "Marie Durand",
        "",
    )
    # A report of another contract is not offered: the form refuses it.
    body = html(client.post(url, {**edit, "meeting-report": "999999"}))
    assert "Select a valid choice." in body
    # Add an action item, then close it.
    body = html(client.post(reverse("sla:action_add", args=[meeting.pk]), {"new-text": "x"}))
    assert "This field is required." in body.split('for="id_new-owner"')[1]
    response = client.post(
        reverse("sla:action_add", args=[meeting.pk]),
        {"new-text": "Relire le PAQ", "new-owner": "Client", "new-due_on": "2026-06-01"},
    )
    assert response.status_code == 302
    added = meeting.actions.get(text="Relire le PAQ")
    close = reverse("sla:action_close", args=[meeting.pk, added.pk])
    body = html(client.post(close, {f"close-{added.pk}-done_on": "2026-04-01"}, follow=True))
    assert "An action is done on or after its meeting" in body
    body = html(client.post(close, {f"close-{added.pk}-done_on": "2026-04-20"}, follow=True))
    assert "The action item was marked done." in body
    added.refresh_from_db()
    assert added.done_on == dt.date(2026, 4, 20)
    row = body.split(f'data-action="{added.pk}" data-state="done">')[1].split("</tr>")[0]
    assert "done on 04/20/2026" in row
    assert f'id="close-{added.pk}"' not in body
    # Another meeting's action is not this meeting's.
    other = meeting_of(world, march.report, title="Autre")
    stray = reverse("sla:action_close", args=[other.pk, action.pk])
    assert client.post(stray, {}).status_code == 404


def test_the_meeting_page_in_french(world: Any, march: ReportRevision, client: Any) -> None:
    meeting = meeting_of(world, march.report)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    client.force_login(world.user("a_manager"))
    body = html(client.get(reverse("sla:report", args=[march.report_id])))
    assert "Comité de pilotage</h2>" in body
    body = html(client.get(reverse("sla:meeting", args=[meeting.pk])))
    assert "Comité de pilotage" in body and "14 avril 2026" in body


# --- The committee pack ------------------------------------------------------------------------


def test_the_committee_pack(world: Any, march: ReportRevision, browse: Any) -> None:
    meeting_of(world, march.report)
    meeting_of(
        world,
        march.report,
        kind="strategic",
        title="Comité stratégique 2026",
        actions=[("Préparer l'avenant", "Direction des achats", dt.date(2026, 6, 30))],
    )
    response = browse(world.user("a_auditor")).get(
        reverse("sla:export_pack", args=[march.report_id])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="TEST-001-2026-03-r1-pack.pdf"'
    )
    text = " ".join(_pdf_text(response.content).split())
    for expected in (
        "TEST-001",
        "575.00",  # the report's figures come first
        "Committee minutes",
        "Comité de pilotage d'avril",
        "Comité stratégique 2026",
        "Marie Durand (client)",
        "Plan d'action sur la GTI P1.",
        "Prestataire",
        "Direction des achats",
    ):
        assert expected in text, expected
    assert text.index("575.00") < text.index("Committee minutes")
    assert text.index("Comité de pilotage d'avril") < text.index("Comité stratégique 2026")


def test_the_pack_marks_overdue_actions_and_follows_the_language(
    world: Any, march: ReportRevision
) -> None:
    meeting_of(world, march.report)  # its action is due 2026-05-15
    meetings = document.report_meetings(march.report)
    with translation.override("fr"):
        context = document.report_context(march.report, march, None)
        pdf = document.render_pack_pdf(context, meetings, "fr", today=dt.date(2026, 6, 1))
    text = " ".join(_pdf_text(pdf).split())
    assert "Comptes rendus des comités" in text and "en retard" in text
    assert "TEST-001" in text and "Prestataire" in text
    with translation.override("en"):
        context = document.report_context(march.report, march, None)
        pdf = document.render_pack_pdf(context, meetings, "en", today=dt.date(2026, 5, 1))
    text = " ".join(_pdf_text(pdf).split())
    assert "overdue" not in text and "open" in text
    # Without a meeting, the pack says so.
    empty = document.render_pack_pdf(context, [], "en", today=dt.date(2026, 5, 1))
    assert "No meeting has discussed this report yet." in " ".join(_pdf_text(empty).split())


# --- API -------------------------------------------------------------------------------------


def _api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def _send(client: Client, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def test_the_api(world: Any, march: ReportRevision, api_token: Any) -> None:
    contract_id = march.report.contract_id
    manager = _api(api_token(world.user("a_manager")))
    body = {
        "held_on": "2026-04-14",
        "title": "Comité de pilotage d'avril",
        "attendees": ["Marie Durand (client)", "Paula Admin (provider)"],
        "decisions": "Plan d'action.",
        "report_id": march.report_id,
        "actions": [
            {"text": "Analyser les retards", "owner": "Prestataire", "due_on": "2026-05-15"}
        ],
    }
    url = f"/api/v1/contracts/{contract_id}/meetings"
    # Bad input: the field is named, nothing is written.
    bad = _send(
        manager, "post", url, {**body, "actions": [{**body["actions"][0], "due_on": "2026-04-01"}]}
    )
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["actions.0.due_on"]
    unknown = _send(manager, "post", url, {**body, "minutes": "x"})
    assert unknown.status_code == 422 and "minutes" in unknown.json()["errors"]
    assert counts() == (0, 0)
    created = _send(manager, "post", url, body)
    assert created.status_code == 201, created.json()
    meeting = created.json()
    assert (meeting["kind"], meeting["report_id"], meeting["attendees"]) == (
        "steering",
        march.report_id,
        ["Marie Durand (client)", "Paula Admin (provider)"],
    )
    (action,) = meeting["actions"]
    assert (action["owner"], action["due_on"], action["done_on"]) == (
        "Prestataire",
        "2026-05-15",
        None,
    )
    assert action["overdue"] == (timezone.localdate() > dt.date(2026, 5, 15))

    auditor = _api(api_token(world.user("a_auditor")))
    page = auditor.get(url, {"report_id": march.report_id}).json()
    assert [m["id"] for m in page["items"]] == [meeting["id"]]
    assert auditor.get(f"/api/v1/meetings/{meeting['id']}").json()["title"] == body["title"]
    # Readers read, they do not write.
    assert _send(auditor, "post", url, body).status_code == 403
    patch = _send(auditor, "patch", f"/api/v1/meetings/{meeting['id']}", {"title": "x"})
    assert patch.status_code == 403

    changed = _send(
        manager, "patch", f"/api/v1/meetings/{meeting['id']}", {"title": "Avril", "report_id": None}
    )
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["report_id"]) == ("Avril", None)
    assert changed.json()["decisions"] == "Plan d'action."  # not sent, unchanged

    added = _send(
        manager,
        "post",
        f"/api/v1/meetings/{meeting['id']}/actions",
        {"text": "Relire le PAQ", "owner": "Client", "due_on": "2026-06-01"},
    )
    assert added.status_code == 201 and added.json()["owner"] == "Client"
    close = f"/api/v1/actions/{action['id']}/close"
    assert _send(auditor, "post", close, {}).status_code == 403
    closed = _send(manager, "post", close, {"done_on": "2026-04-20"})
    assert closed.status_code == 200
    assert (closed.json()["done_on"], closed.json()["overdue"]) == ("2026-04-20", False)
    again = _send(manager, "post", close, {})
    assert again.status_code == 400 and "done_on" in again.json()["errors"]

    # Outsiders get 404 on every one of them.
    outsider = _api(api_token(world.user("b_manager")))
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"/api/v1/meetings/{meeting['id']}").status_code == 404
    assert _send(outsider, "post", close, {}).status_code == 404
    assert counts() == (1, 2)
