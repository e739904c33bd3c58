"""The inventory's pages and the technical audit (page and PDF), with hand-computed figures."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from infogerance.inventory import services, technical_audit
from infogerance.inventory.models import Agent, Asset, EnrollmentToken
from tests.inventory import factory

pytestmark = pytest.mark.django_db


def browser(world: Any, who: str) -> Client:
    client = Client()
    client.force_login(world.user(who))
    return client


def enrolled(world: Any, hostname: str) -> Agent:
    _token, secret = services.create_enrollment_token(
        actor=world.user("p_admin"), client=world.victim, label="x"
    )
    return services.enroll(
        actor=services.AGENT_ACTOR, body={"token": secret, "hostname": hostname}
    ).agent


def summary(
    sequence: int,
    end: dt.datetime,
    cpu: tuple[float, float, float],
    memory_p95: float,
    disk_read_p95: float | None = None,
    net_recv_p95: float | None = None,
) -> dict[str, Any]:
    report = factory.performance(sequence)
    report["data"].update(
        window_start=(end - dt.timedelta(minutes=15)).isoformat(),
        window_end=end.isoformat(),
        cpu_percent={"mean": cpu[0], "p95": cpu[1], "max": cpu[2]},
        memory_percent={"mean": memory_p95 - 5, "p95": memory_p95, "max": memory_p95 + 1},
    )
    for key, p95 in (
        ("disk_read_bytes_per_s", disk_read_p95),
        ("net_recv_bytes_per_s", net_recv_p95),
    ):
        if p95 is not None:
            report["data"][key] = {"mean": p95 / 4, "p95": p95, "max": p95 * 2}
    return report


@pytest.fixture
def estate(world: Any) -> dict[str, Agent]:
    """Three machines: an old Debian 10 short of disk with security updates, a busy Debian 12
    short of memory, a quiet Ubuntu 24.04."""
    now = timezone.now()
    old = enrolled(world, "old-01")
    data = factory.inventory("old-01", software=2)
    data["os"] = {**data["os"], "version_id": "10", "version": "10 (buster)"}
    data["disks"][0].update(used_bytes=95 * 2**30, free_bytes=5 * 2**30)  # 5 % free
    data["updates"] = {"source": "apt", "count": 12, "security_count": 4, "packages": []}
    services.ingest(
        old, {"reports": [factory.report("inventory", 1, data)]}, actor=services.AGENT_ACTOR
    )
    busy = enrolled(world, "busy-01")
    data = factory.inventory("busy-01", software=3)
    data["updates"] = {"source": "apt", "count": 0, "security_count": 0, "packages": []}
    data["disks"][0].update(used_bytes=50 * 2**30, free_bytes=50 * 2**30)
    data["services"].append({"name": "cups.service", "state": "dead", "enabled": False})
    data["notes"] = [{"collector": "hardware", "message": "the serial is readable by root only"}]
    reports = [
        factory.report("inventory", 1, data),
        summary(2, now - dt.timedelta(hours=2), (40.0, 80.0, 95.0), 92.0, 2 * 2**20, 100 * 2**10),
        summary(3, now - dt.timedelta(hours=1), (60.0, 90.0, 99.0), 88.0, 6 * 2**20),
    ]
    services.ingest(busy, {"reports": reports}, actor=services.AGENT_ACTOR)
    quiet = enrolled(world, "quiet-01")
    data = factory.inventory("quiet-01", software=1)
    data["os"] = {
        **data["os"],
        "id": "ubuntu",
        "name": "Ubuntu",
        "version_id": "24.04",
        "version": "24.04",
    }
    data["disks"][0].update(used_bytes=10 * 2**30, free_bytes=90 * 2**30)
    data["updates"] = {"source": "apt", "count": 0, "security_count": 0, "packages": []}
    services.ingest(
        quiet, {"reports": [factory.report("inventory", 1, data)]}, actor=services.AGENT_ACTOR
    )
    return {"old": old, "busy": busy, "quiet": quiet}


def test_the_audit_figures(world: Any, estate: dict[str, Agent]) -> None:
    context = technical_audit.audit_context(world.victim, today=dt.date(2026, 11, 28))
    assert (context["total"], context["in_service"], context["agents"]) == (3, 3, 3)
    # Debian 10's support ended on 2024-06-30 (os_eol.yaml): out of support on 2026-11-28.
    assert [(a.name, s.status, s.end) for a, s in context["unsupported"]] == [
        ("old-01", "eol", dt.date(2024, 6, 30))
    ]
    assert [(r["name"], r["version"], r["count"]) for r in context["os_rows"]] == [
        ("Debian GNU/Linux", "10", 1),
        ("Debian GNU/Linux", "12", 1),
        ("Ubuntu", "24.04", 1),
    ]
    assert [a.name for a in context["short_disk"]] == ["old-01"]  # 5 % < 10 %
    assert [a.name for a in context["updates"]] == ["old-01"]
    (baseline,) = context["baselines"]
    # Means of the windows' means: (40 + 60) / 2 = 50; p95: the highest, 90; max: 99.
    assert (baseline.cpu_mean, baseline.cpu_p95, baseline.cpu_max) == (50.0, 90.0, 99.0)
    # Memory p95 92 ≥ 90: short of memory; processor p95 90 ≥ 85: busy.
    assert [b.asset.name for b in context["short_memory"]] == ["busy-01"]
    assert [b.asset.name for b in context["busy_cpu"]] == ["busy-01"]
    assert baseline.samples == 2 * 90
    # Disk and network: the busiest window's p95 (6 MiB/s read; 100 KiB/s received, the one
    # window that measured it); nothing written or sent was measured.
    assert (baseline.disk_read_p95, baseline.net_recv_p95) == (6 * 2**20, 100 * 2**10)
    assert (baseline.disk_write_p95, baseline.net_sent_p95) == (None, None)
    # pkg0 is on all three machines, pkg1 on two, pkg2 on one.
    assert [(r["name"], r["assets"]) for r in context["spread"]] == [
        ("pkg0", 3),
        ("pkg1", 2),
        ("pkg2", 1),
    ]


def test_the_audit_page_and_pdf(world: Any, estate: dict[str, Agent]) -> None:
    from pypdf import PdfReader

    client = browser(world, "a_manager")
    page = client.get(f"/inventory/audit/{world.victim.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    for piece in ("old-01", "busy-01", "Debian GNU/Linux", "audit-unsupported", "audit-short-disk"):
        assert piece in text, piece
    pdf = client.get(f"/inventory/audit/{world.victim.pk}/?format=pdf", HTTP_ACCEPT_LANGUAGE="en")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    body = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    body = " ".join(body.split())
    for piece in ("old-01", "busy-01", "quiet-01", "pkg0", "Ubuntu 24.04"):
        assert piece in body, piece
    # Neither a client user nor another client sees it.
    assert browser(world, "a_user").get(f"/inventory/audit/{world.victim.pk}/").status_code == 404
    assert (
        browser(world, "b_manager").get(f"/inventory/audit/{world.victim.pk}/").status_code == 404
    )


def test_the_asset_pages(world: Any, estate: dict[str, Agent]) -> None:
    client = browser(world, "p_engineer")
    listing = client.get("/inventory/?disk=low")
    assert listing.status_code == 200
    assert "old-01" in listing.content.decode() and "busy-01" not in listing.content.decode()
    asset = Asset.objects.get(name="busy-01")
    beat = factory.heartbeat(4)
    beat["data"]["uptime_seconds"] = 93_784  # 1 day, 2 hours, 3 minutes, 4 seconds
    services.ingest(estate["busy"], {"reports": [beat]}, actor=services.AGENT_ACTOR)
    page = client.get(f"/inventory/assets/{asset.pk}/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "pkg2" in text and "asset-performance" in text and "<svg" in text
    assert "<dt>Up for</dt><dd>1 d 2 h</dd>" in text
    # What runs on it, from the latest inventory kept: the port, the services (running ones
    # first), the account, and what the agent could not read.
    ports = text[text.index('id="asset-ports"') : text.index('id="asset-services"')]
    assert '<td>tcp</td><td><code>0.0.0.0</code></td><td class="num">22</td><td>sshd</td>' in ports
    services_part = text[text.index('id="asset-services"') : text.index('id="asset-users"')]
    assert "Services: 1 running of 2" in services_part
    assert services_part.index("ssh.service") < services_part.index("cups.service")
    assert '<td>alice</td><td class="num">1000</td><td>/bin/bash</td>' in text
    assert "the serial is readable by root only" in text
    # Disk and network means of the latest windows: the newest (6 MiB/s read p95, mean a
    # quarter: 1.5 MiB/s; no network measured), then 2 MiB/s p95 → 512 KiB/s mean read and
    # 100 KiB/s p95 → 25 KiB/s mean received.
    rows = text[text.index('id="asset-performance"') :].split("</tr>")[1:3]
    assert '1.5 MiB/s / —</td><td class="num">— / —' in rows[0]
    assert '512.0 KiB/s / —</td><td class="num">25.0 KiB/s / —' in rows[1]
    assert browser(world, "a_user").get("/inventory/").status_code == 403


def test_the_diff_page(world: Any) -> None:
    agent = enrolled(world, "web-01")
    first = factory.inventory("web-01", software=1)
    second = {**first, "software": [{"name": "nginx", "version": "1.22", "source": "dpkg"}]}
    second["hardware"] = {**first["hardware"], "memory_bytes": 64 * 2**30, "serial": ""}
    services.ingest(
        agent,
        {
            "reports": [
                factory.report("inventory", 1, first),
                factory.report("inventory", 2, second),
            ]
        },
        actor=services.AGENT_ACTOR,
    )
    client = browser(world, "a_manager")
    page = client.get(f"/inventory/assets/{agent.asset_id}/").content.decode()
    assert "what changed" in page or "ce qui a changé" in page
    older, newer = agent.asset.snapshots.order_by("collected_at", "pk")
    diff = client.get(f"/inventory/assets/{agent.asset_id}/diff/?from={older.pk}&to={newer.pk}")
    text = diff.content.decode()
    assert diff.status_code == 200 and "nginx 1.22" in text and "pkg0 1.0" in text
    # The machine's facts by their names, sizes in binary units, nothing as a dash.
    english = client.get(
        f"/inventory/assets/{agent.asset_id}/diff/?from={older.pk}&to={newer.pk}",
        headers={"Accept-Language": "en"},
    ).content.decode()
    assert "Memory: 32.0 GiB → 64.0 GiB" in english
    assert "Serial number: SN-1 → —" in english
    french = client.get(
        f"/inventory/assets/{agent.asset_id}/diff/?from={older.pk}&to={newer.pk}",
        headers={"Accept-Language": "fr"},
    ).content.decode()
    assert "Mémoire: 32,0 GiB → 64,0 GiB" in french
    assert (
        client.get(f"/inventory/assets/{agent.asset_id}/diff/?from=1&to=999999").status_code == 404
    )


def test_tokens_are_shown_once(world: Any) -> None:
    client = browser(world, "p_admin")
    answer = client.post(
        "/inventory/tokens/",
        {"organization": world.victim.pk, "label": "Parc siège", "days": 3, "max_uses": 20},
    )
    assert answer.status_code == 302
    token = EnrollmentToken.objects.get()
    text = client.get("/inventory/tokens/").content.decode()
    assert "token-secret" in text and token.prefix in text
    again = client.get("/inventory/tokens/").content.decode()
    assert "token-secret" not in again and f"{token.prefix}…" in again
    client.post(f"/inventory/tokens/{token.pk}/revoke/")
    assert EnrollmentToken.objects.get().revoked_at is not None
    assert browser(world, "p_engineer").get("/inventory/tokens/").status_code == 403


def test_recording_and_editing_an_asset_by_hand(world: Any) -> None:
    client = browser(world, "p_engineer")
    created = client.post(
        "/inventory/assets/new/",
        {
            "organization": world.victim.pk,
            "name": "Imprimante 2e étage",
            "kind": "printer",
            "lifecycle": "in_service",
            "ownership": "lessor",
        },
    )
    asset = Asset.objects.get(name="Imprimante 2e étage")
    assert created.status_code == 302 and asset.source == "manual" and asset.ownership == "lessor"
    form = {
        "name": "Imprimante 2e étage",
        "kind": "printer",
        "lifecycle": "in_stock",
        "ownership": "lessor",
        "version": 1,
    }
    assert client.post(f"/inventory/assets/{asset.pk}/edit/", form).status_code == 302
    stale = client.post(f"/inventory/assets/{asset.pk}/edit/", {**form, "lifecycle": "retired"})
    assert stale.status_code == 200 and "version 2" in stale.content.decode()
    asset.refresh_from_db()
    assert (asset.lifecycle, asset.version) == ("in_stock", 2)


def test_the_audit_report_command(world: Any, estate: dict[str, Agent], tmp_path: Any) -> None:
    from pypdf import PdfReader

    from infogerance.cli import main

    html = tmp_path / "audit.html"
    args = ["audit-report", "--client", world.victim.slug, "--lang", "en", "--format", "html"]
    assert main([*args, "-o", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    assert "<style>" in text and "Technical audit of" in text and "old-01" in text
    pdf = tmp_path / "audit.pdf"
    assert (
        main(["audit-report", "--client", world.victim.slug, "-o", str(pdf), "--lang", "fr"]) == 0
    )
    body = " ".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert "Audit technique de" in body and "busy-01" in body
    assert main(["audit-report", "--client", "nobody"]) == 1
