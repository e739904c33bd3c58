"""The collectors on this machine (real values), and their failures turned into notes."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
from pathlib import Path
from typing import Any

import psutil
import pytest

from infogerance.agent import collect
from infogerance.agent.collect import (
    CollectorError,
    Notes,
    collect_dpkg,
    collect_inventory,
    parse_apt_list,
    parse_apt_simulation,
    parse_dnf_check_update,
    run_command,
)
from infogerance.agent.protocol import inventory_fingerprint

LINUX = platform.system() == "Linux"
DPKG = collect.DPKG_STATUS.exists()


@pytest.fixture
def inventory(printed: dict[str, Any]) -> dict[str, Any]:
    """The inventory that `agent once --print` collected for this test session."""
    report = next(r for r in printed["reports"] if r["kind"] == "inventory")
    return json.loads(json.dumps(report["data"]))


def notes_of(inventory: dict[str, Any], collector: str) -> list[str]:
    return [n["message"] for n in inventory["notes"] if n["collector"].startswith(collector)]


def test_full_inventory_is_fast(printed: dict[str, Any]) -> None:
    # About 2 s on an idle 2-core machine. The wall time also depends on whatever else runs
    # there (a test suite next door), so the strict bound is on the CPU the inventory costs.
    seconds, cpu = printed["_inventory_seconds"], printed["_inventory_cpu_seconds"]
    assert cpu < 5, f"a full inventory cost {cpu:.1f} s of CPU ({seconds:.1f} s)"
    assert seconds < 20, f"a full inventory took {seconds:.1f} s"


def test_the_package_managers_answer_is_reused_until_something_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not (DPKG and shutil.which("apt")):
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs on Debian: apt and dpkg must be there")
        pytest.skip("no apt here")
    calls: list[list[str]] = []

    def counting(argv: list[str], **kwargs: Any) -> str:
        calls.append(argv)
        return "Listing...\nfoo/stable-security 2 amd64 [upgradable from: 1]\n"

    monkeypatch.setattr(collect, "run_command", counting)
    collect._apt_cache.clear()
    first = collect.collect_updates(Notes(), 20)
    assert first is not None and first["security_count"] == 1
    assert collect.collect_updates(Notes(), 20) == first
    assert calls == [["apt", "list", "--upgradable"]]
    monkeypatch.setattr(collect, "_apt_state", lambda: (1, 2, 3))  # `apt update` ran
    collect.collect_updates(Notes(), 20)
    assert len(calls) == 2


def test_identity_and_os(inventory: dict[str, Any]) -> None:
    assert inventory["hostname"] == socket.gethostname()
    assert inventory["os"]["family"] == platform.system().lower()
    assert inventory["os"]["kernel"] == platform.release()
    assert inventory["os"]["arch"] == platform.machine()
    assert inventory["uptime_seconds"] >= 0 and inventory["boot_time"].endswith("Z")
    if LINUX:
        release = platform.freedesktop_os_release()
        assert inventory["os"]["name"] == release["NAME"]
        assert inventory["os"]["id"] == release["ID"]
        if Path("/etc/machine-id").exists():
            assert inventory["machine_id"] == Path("/etc/machine-id").read_text().strip()


def test_hardware(inventory: dict[str, Any]) -> None:
    hardware = inventory["hardware"]
    assert hardware["memory_bytes"] == psutil.virtual_memory().total
    assert hardware["cpu"]["threads"] == psutil.cpu_count()
    assert hardware["cpu"]["model"]
    if not collect.DMI_DIR.is_dir():
        assert notes_of(inventory, "hardware.dmi")


def test_disks_contain_the_root(inventory: dict[str, Any]) -> None:
    root = next(d for d in inventory["disks"] if d["mountpoint"] == "/")
    assert root["total_bytes"] == psutil.disk_usage("/").total
    assert root["free_bytes"] <= root["total_bytes"]
    assert not any(d["fstype"] in ("proc", "sysfs", "cgroup", "tmpfs") for d in inventory["disks"])


def test_interfaces_with_prefix_lengths(inventory: dict[str, Any]) -> None:
    assert "lo" not in [i["name"] for i in inventory["interfaces"]]
    addresses = [a for i in inventory["interfaces"] for a in i["addresses"]]
    assert addresses and all("/" in a and "%" not in a for a in addresses)


@pytest.mark.skipif(not DPKG, reason="not a dpkg system")
def test_dpkg_software_on_this_machine(inventory: dict[str, Any]) -> None:
    dpkg = {s["name"]: s for s in inventory["software"] if s["source"] == "dpkg"}
    assert "bash" in dpkg or "python3" in dpkg
    bash = dpkg.get("bash") or dpkg["python3"]
    assert bash["version"] and bash["publisher"]
    assert len(dpkg) > 50
    python = {s["name"].lower(): s for s in inventory["software"] if s["source"] == "python"}
    assert python["psutil"]["version"] == psutil.__version__


def test_services_ports_users(inventory: dict[str, Any]) -> None:
    if collect.systemd_running():
        assert inventory["services"]
    else:
        assert "services" not in inventory
        assert "systemd is not running" in notes_of(inventory, "services")[0]
    assert {k: inventory["users"][0][k] for k in ("name", "uid")} == {"name": "root", "uid": 0}
    assert all(
        u["uid"] == 0 or u["uid"] >= 1000 or "nologin" not in u["shell"] for u in inventory["users"]
    )
    assert all(
        p["protocol"] in ("tcp", "udp") and 0 <= p["port"] < 65536 for p in inventory["ports"]
    )


def test_listening_port_is_found() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        ports = collect.collect_ports(Notes())
    mine = [p for p in ports if p["port"] == port and p["protocol"] == "tcp"]
    assert mine and mine[0]["address"] == "127.0.0.1"
    assert mine[0].get("process") in (None, psutil.Process().name())


@pytest.mark.skipif(not DPKG, reason="not a dpkg system")
def test_updates_on_this_machine(inventory: dict[str, Any]) -> None:
    updates = inventory["updates"]
    assert updates["source"] == "apt"
    assert updates["count"] == len(updates["packages"])
    assert updates["security_count"] == sum(p["security"] for p in updates["packages"])


def test_a_missing_tool_is_a_note_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no apt, no rpm, no dnf
    data = collect_inventory()
    assert "updates" not in data
    assert notes_of(data, "updates") == ["no supported package manager found (apt, dnf)"]
    assert data["hostname"] == socket.gethostname()
    with pytest.raises(CollectorError, match="rpm is not installed"):
        collect.collect_rpm(5)


def test_a_crashing_collector_is_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # faster without apt

    def broken(notes: Notes) -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    monkeypatch.setattr(collect, "collect_disks", broken)
    data = collect_inventory()
    assert "disks" not in data
    assert notes_of(data, "disks") == ["failed: RuntimeError: boom"]


def test_timeouts_and_exit_codes() -> None:
    with pytest.raises(CollectorError, match=r"did not answer within 0\.2 s"):
        run_command(["sleep", "5"], timeout=0.2)
    with pytest.raises(CollectorError, match="exited with code 1"):
        run_command(["false"])
    assert run_command(["sh", "-c", "exit 100"], ok_codes=(0, 100)) == ""


def test_dmi_placeholders_and_unreadable_serial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sys_vendor").write_text("Dell Inc.\n")
    (tmp_path / "product_name").write_text("To Be Filled By O.E.M.\n")
    (tmp_path / "product_serial").write_text("SECRET\n")
    monkeypatch.setattr(collect, "DMI_DIR", tmp_path)
    real_read_text = Path.read_text

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        if self.name == "product_serial":  # as for a user other than root
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    notes = Notes()
    hardware = collect.collect_hardware(notes)
    if LINUX:
        assert hardware["vendor"] == "Dell Inc."
        assert "model" not in hardware and "serial" not in hardware
        assert notes.entries == [
            {
                "collector": "hardware.serial",
                "message": f"{tmp_path}/product_serial is readable by root only",
            }
        ]


def test_dpkg_status_parsing(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text(
        "Package: openssl\nStatus: install ok installed\nArchitecture: amd64\n"
        "Maintainer: Debian OpenSSL Team <pkg-openssl-devel@lists.alioth.debian.org>\n"
        "Version: 3.0.15-1~deb12u1\nDescription: toolkit\n more text: with a colon\n\n"
        "Package: libc6\nStatus: install ok installed\nArchitecture: i386\n"
        "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\nVersion: 2.36-9\n\n"
        "Package: removed\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n\n"
        "Package: vendor-tool\nStatus: install ok installed\nArchitecture: all\n"
        "Origin: Acme\nMaintainer: Someone <s@example.org>\nVersion: 1.0\n\n"
        "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2\n"
        "Maintainer: Matthias Klose <doko@debian.org>\n"
    )
    info = tmp_path / "info"
    info.mkdir()
    (info / "openssl.list").write_text("/usr/bin/openssl\n")
    os.utime(info / "openssl.list", (1_790_000_000, 1_790_000_000))
    (info / "libc6:i386.list").write_text("")
    software = {s["name"]: s for s in collect_dpkg(status, info)}
    assert set(software) == {"openssl", "libc6:i386", "vendor-tool", "bash"}
    assert software["openssl"] == {
        "name": "openssl",
        "version": "3.0.15-1~deb12u1",
        "source": "dpkg",
        "publisher": "Debian OpenSSL Team",
        "installed_at": "2026-09-21T14:13:20Z",
    }
    assert software["vendor-tool"]["publisher"] == "Acme"
    assert "installed_at" in software["libc6:i386"] and "installed_at" not in software["bash"]


def test_apt_and_dnf_parsing() -> None:
    listed = parse_apt_list(
        "Listing...\n"
        "openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: 3.0.11-1~deb12u2]\n"
        "base-files/stable 12.4+deb12u15 amd64 [upgradable from: 12.4+deb12u11]\n"
        "krb5-locales/oldstable,oldstable-security 1.20.1-2+deb12u5 all "
        "[upgradable from: 1.20.1-2]\n"
    )
    assert [(p["name"], p["security"]) for p in listed] == [
        ("openssl", True), ("base-files", False), ("krb5-locales", True)
    ]  # fmt: skip
    assert listed[0]["current"] == "3.0.11-1~deb12u2"
    simulated = parse_apt_simulation(
        "Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])\n"
        "Inst liblzma5 [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security "
        "[amd64]) []\n"
        "Inst newpkg (1.0 Debian:12.15/oldstable [amd64])\n"
        "Conf bash (5.2.15-2+b13 Debian:12.15/oldstable [amd64])\n"
    )
    assert [(p["name"], p["candidate"], p["security"]) for p in simulated] == [
        ("bash", "5.2.15-2+b13", False), ("liblzma5", "5.4.1-1+deb12u2", True)
    ]  # fmt: skip
    dnf = parse_dnf_check_update(
        "\nopenssl.x86_64    1:3.0.7-27.el9    baseos\nkernel.x86_64  5.14.0-427.el9  baseos\n"
        "Obsoleting Packages\n",
        {"openssl"},
    )
    assert dnf == [
        {"name": "openssl", "candidate": "1:3.0.7-27.el9", "security": True},
        {"name": "kernel", "candidate": "5.14.0-427.el9", "security": False},
    ]


def test_fingerprint_ignores_volatile_facts(inventory: dict[str, Any]) -> None:
    inventory = json.loads(json.dumps(inventory))
    before = inventory_fingerprint(inventory)
    inventory["uptime_seconds"] += 3600
    inventory["boot_time"] = "2030-01-01T00:00:00Z"
    inventory["notes"].append({"collector": "x", "message": "transient"})
    for disk in inventory["disks"]:
        disk["used_bytes"] += 1
        disk["free_bytes"] -= 1
    assert inventory_fingerprint(inventory) == before
    inventory["software"].append({"name": "new", "version": "1", "source": "dpkg"})
    assert inventory_fingerprint(inventory) != before


def fake_tool(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_systemd_services_with_a_fake_systemctl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    units = (
        "ssh.service loaded active running OpenBSD Secure Shell server\\n"
        "cron.service loaded active running Regular background program processing daemon\\n"
        "gone.service not-found inactive dead gone.service\\n"
        "● failed.service loaded failed failed Something broken\\n"
    )
    files = "ssh.service enabled enabled\\ncron.service disabled enabled\\n" \
        "getty@.service enabled enabled\\nidle.service enabled enabled\\n"  # fmt: skip
    fake_tool(
        tmp_path,
        "systemctl",
        f'case "$1" in list-units) printf "{units}";; list-unit-files) printf "{files}";; esac',
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(collect, "systemd_running", lambda: True)
    services = collect.collect_services(Notes(), 5)
    assert services == [
        {"name": "cron.service", "state": "running", "enabled": False},
        {"name": "failed.service", "state": "failed"},
        {"name": "idle.service", "state": "inactive", "enabled": True},
        {"name": "ssh.service", "state": "running", "enabled": True},
    ]


def test_rpm_and_dnf_with_fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tool(
        tmp_path,
        "rpm",
        r'printf "openssl\t1\t3.0.7-27.el9\tx86_64\tRed Hat, Inc.\t1790000000\n'
        r"bash\t(none)\t5.1.8-9.el9\tx86_64\t(none)\t1790000000\n"
        r'gpg-pubkey\t(none)\tfd431d51-4ae0493b\t(none)\t(none)\t1790000000\n"',
    )
    fake_tool(
        tmp_path,
        "dnf",
        'if [ "$2" = "check-update" ]; then\n'
        '  printf "\\nopenssl.x86_64  1:3.0.7-28.el9  baseos\\n"\n'
        '  printf "bash.x86_64  5.1.8-10.el9  baseos\\n"\n'
        "  exit 100\nfi\n"
        'printf "RHSA-2027:0001 Important/Sec. openssl-1:3.0.7-28.el9.x86_64\\n"',
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    software = collect.collect_rpm(5)
    assert software == [
        {"name": "openssl", "version": "1:3.0.7-27.el9", "source": "rpm",
         "publisher": "Red Hat, Inc.", "installed_at": "2026-09-21T14:13:20Z"},
        {"name": "bash", "version": "5.1.8-9.el9", "source": "rpm",
         "installed_at": "2026-09-21T14:13:20Z"},
    ]  # fmt: skip
    updates = collect.collect_updates(Notes(), 5)
    assert updates == {
        "source": "dnf",
        "count": 2,
        "security_count": 1,
        "packages": [
            {"name": "bash", "candidate": "5.1.8-10.el9", "security": False},
            {"name": "openssl", "candidate": "1:3.0.7-28.el9", "security": True},
        ],
    }
