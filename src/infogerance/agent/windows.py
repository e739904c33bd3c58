"""What the agent reads of a Windows machine: its product name, installed programs, local
accounts.

The registry module is a parameter (``winreg`` on Windows) and the outputs of Windows'
tools are parsed by plain functions, so that all of it runs, and is tested, on any system.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infogerance.agent.protocol import utc_timestamp

UNINSTALL_KEYS = (
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
    r"SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
)
CURRENT_VERSION_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"

# Windows Server releases by build number (the registry's ProductName cannot be trusted: it
# says "Windows 10" on Windows 11, and Python's platform.release() says "10" on both).
SERVER_BUILDS = {
    6001: "2008",
    6002: "2008",
    6003: "2008",
    7600: "2008 R2",
    7601: "2008 R2",
    9200: "2012",
    9600: "2012 R2",
    14393: "2016",
    17763: "2019",
    20348: "2022",
    26100: "2025",
}
# Long-term servicing releases of Windows 10 and 11 by build number.
LTSC_BUILDS = {10240: "2015", 14393: "2016", 17763: "2019", 19044: "2021", 26100: "2024"}
WINDOWS_11_FIRST_BUILD = 22000
WINDOWS_10_FIRST_BUILD = 10240
# EditionID → the name Microsoft's lifecycle pages use.
EDITIONS = {
    "Core": "Home",
    "CoreN": "Home N",
    "CoreSingleLanguage": "Home",
    "CoreCountrySpecific": "Home",
    "Professional": "Pro",
    "ProfessionalN": "Pro N",
    "ProfessionalWorkstation": "Pro for Workstations",
    "ProfessionalEducation": "Pro Education",
    "Education": "Education",
    "EducationN": "Education N",
    "Enterprise": "Enterprise",
    "EnterpriseN": "Enterprise N",
    "EnterpriseS": "Enterprise LTSC",
    "EnterpriseSN": "Enterprise N LTSC",
    "IoTEnterprise": "IoT Enterprise",
    "IoTEnterpriseS": "IoT Enterprise LTSC",
    "ServerStandard": "Standard",
    "ServerDatacenter": "Datacenter",
    "ServerStandardEval": "Standard",
    "ServerDatacenterEval": "Datacenter",
    "ServerEssentials": "Essentials",
}


def product_name(build: int, *, server: bool, edition: str = "", release: str = "") -> str:
    """The name of a Windows release as its publisher's lifecycle pages write it, from the
    build number, whether it is a server (the product type), the registry's EditionID and
    Python's ``platform.release()`` (used only for builds older than Windows 10):
    ``Windows 11 Pro``, ``Windows Server 2022 Datacenter``, ``Windows 10 Enterprise LTSC
    2019``."""
    edition_name = EDITIONS.get(edition, edition.removeprefix("Server"))
    if server:
        year = SERVER_BUILDS.get(build)
        words = ["Windows Server", year or "", edition_name]
    else:
        if build >= WINDOWS_11_FIRST_BUILD:
            base = "Windows 11"
        elif build >= WINDOWS_10_FIRST_BUILD:
            base = "Windows 10"
        else:
            base = f"Windows {release}"
        words = [base, edition_name]
        if "LTSC" in edition_name and build in LTSC_BUILDS:
            words.append(LTSC_BUILDS[build])
    return " ".join(word for word in words if word).strip()


def _value(registry: Any, key: Any, name: str) -> str:
    with contextlib.suppress(OSError):
        return str(registry.QueryValueEx(key, name)[0]).strip()
    return ""


def os_details(
    registry: Any, build: int, product_type: int, edition: str, release: str
) -> dict[str, str]:
    """``name``, ``version`` (the feature release, 23H2; the release for older systems),
    ``version_id`` and ``kernel`` (10.0.22631.4317) of the running Windows, ``build`` and
    ``product_type`` coming from ``sys.getwindowsversion()`` (1 is a workstation, 2 a domain
    controller, 3 a server)."""
    display = ubr = ""
    with (
        contextlib.suppress(OSError),
        registry.OpenKey(registry.HKEY_LOCAL_MACHINE, CURRENT_VERSION_KEY) as key,
    ):
        display = _value(registry, key, "DisplayVersion") or _value(registry, key, "ReleaseId")
        ubr = _value(registry, key, "UBR")
        edition = edition or _value(registry, key, "EditionID")
    name = product_name(build, server=product_type != 1, edition=edition, release=release)
    version = display or release
    kernel = f"10.0.{build}" if build >= WINDOWS_10_FIRST_BUILD else release
    return {
        "name": name,
        "version": version,
        "version_id": display,
        "id": "windows",
        "kernel": f"{kernel}.{ubr}" if ubr and kernel else kernel,
    }


def installed_programs(registry: Any) -> list[dict[str, Any]]:
    """The programs listed in the uninstall keys (64- and 32-bit views), each once."""
    software: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for path in UNINSTALL_KEYS:
        try:
            root = registry.OpenKey(registry.HKEY_LOCAL_MACHINE, path)
        except OSError:
            continue
        with root:
            for index in range(registry.QueryInfoKey(root)[0]):
                try:
                    with registry.OpenKey(root, registry.EnumKey(root, index)) as key:
                        values = {
                            field: _value(registry, key, field)
                            for field in (
                                "DisplayName",
                                "DisplayVersion",
                                "Publisher",
                                "InstallDate",
                            )
                        }
                except OSError:
                    continue
                name = values["DisplayName"]
                if not name or (name, values["DisplayVersion"]) in seen:
                    continue
                seen.add((name, values["DisplayVersion"]))
                entry: dict[str, Any] = {
                    "name": name,
                    "version": values["DisplayVersion"],
                    "source": "windows",
                }
                if values["Publisher"]:
                    entry["publisher"] = values["Publisher"]
                date = values["InstallDate"]
                if re.fullmatch(r"\d{8}", date):
                    with contextlib.suppress(ValueError):
                        moment = datetime.strptime(date, "%Y%m%d").replace(tzinfo=UTC)
                        entry["installed_at"] = utc_timestamp(moment.timestamp())
                software.append(entry)
    return software


# PowerShell's Get-LocalUser, as JSON: one object, or a list of them.
LOCAL_USERS_COMMAND = [
    "powershell.exe",
    "-NoProfile",
    "-NonInteractive",
    "-Command",
    "Get-LocalUser | Select-Object Name,Enabled,@{n='SID';e={$_.SID.Value}} | ConvertTo-Json",
]


def parse_local_users(text: str) -> list[dict[str, Any]]:
    """Local accounts from :data:`LOCAL_USERS_COMMAND`'s output: the enabled ones, with the
    relative identifier of their SID as ``uid`` (500 is the built-in Administrator, 1000 and
    above accounts created on the machine). ValueError if the output is not that JSON."""
    document = json.loads(text) if text.strip() else []
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise ValueError("a JSON list of accounts is expected")
    users = []
    for item in document:
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise ValueError("each account must have a Name")
        if item.get("Enabled") is False:
            continue
        sid = str(item.get("SID") or "")
        rid = sid.rsplit("-", 1)[-1]
        users.append({"name": item["Name"], "uid": int(rid) if rid.isdigit() else None})
    users.sort(key=lambda u: (u["uid"] is None, u["uid"] or 0, u["name"]))
    return users


# Well-known SIDs, the same in every language of Windows (group names are translated).
SYSTEM_SID = "*S-1-5-18"
ADMINISTRATORS_SID = "*S-1-5-32-544"


def private_acl_command(path: Path, account: str) -> list[str]:
    """``icacls`` arguments that leave ``path`` readable and writable by the system, the
    administrators and ``account`` (DOMAIN\\user, the enrolling account) only: inherited
    entries removed, every other one replaced."""
    grants = [f"{SYSTEM_SID}:F", f"{ADMINISTRATORS_SID}:F"]
    if account.strip("\\"):
        grants.append(f"{account}:F")
    return ["icacls", str(path), "/inheritance:r", "/grant:r", *grants]
