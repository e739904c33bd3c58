"""The agent's Windows readings, on any system: a registry built in memory stands in for
``winreg``, and the outputs of Windows' tools are given as text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infogerance.agent import windows
from infogerance.inventory import eol, payload


@dataclass
class Key:
    values: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)

    def __enter__(self) -> Key:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Registry:
    """The part of ``winreg`` the agent uses, over nested :class:`Key`."""

    HKEY_LOCAL_MACHINE = "HKLM"

    def __init__(self, tree: dict[str, Key]) -> None:
        self.root = Key(keys={"HKLM": Key(keys=tree)})

    def OpenKey(self, parent: Any, path: str) -> Key:
        key = self.root.keys[parent] if isinstance(parent, str) else parent
        for part in path.split("\\"):
            if part not in key.keys:
                raise FileNotFoundError(2, "The system cannot find the file specified")
            key = key.keys[part]
        return key

    def QueryInfoKey(self, key: Key) -> tuple[int, int, int]:
        return len(key.keys), len(key.values), 0

    def EnumKey(self, key: Key, index: int) -> str:
        return list(key.keys)[index]

    def QueryValueEx(self, key: Key, name: str) -> tuple[Any, int]:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name], 1


def tree(path: str, key: Key) -> dict[str, Key]:
    """``key`` placed at ``path`` (backslash-separated) under HKEY_LOCAL_MACHINE."""
    parts = path.split("\\")
    for part in reversed(parts[1:]):
        key = Key(keys={part: key})
    return {parts[0]: key}


def merge(*trees: dict[str, Key]) -> dict[str, Key]:
    merged: dict[str, Key] = {}
    for t in trees:
        for name, key in t.items():
            if name in merged:
                merged[name] = Key(keys=merge(merged[name].keys, key.keys))
            else:
                merged[name] = key
    return merged


@pytest.mark.parametrize(
    ("build", "server", "edition", "release", "name"),
    [
        (22631, False, "Professional", "10", "Windows 11 Pro"),  # Python 3.11 says "10"
        (26100, False, "Core", "11", "Windows 11 Home"),
        (19045, False, "Enterprise", "10", "Windows 10 Enterprise"),
        (17763, False, "EnterpriseS", "10", "Windows 10 Enterprise LTSC 2019"),
        (26100, False, "IoTEnterpriseS", "11", "Windows 11 IoT Enterprise LTSC 2024"),
        (9600, False, "Professional", "8.1", "Windows 8.1 Pro"),
        (7601, False, "Ultimate", "7", "Windows 7 Ultimate"),
        (20348, True, "ServerDatacenter", "10", "Windows Server 2022 Datacenter"),
        (17763, True, "ServerStandard", "10", "Windows Server 2019 Standard"),
        (7601, True, "ServerStandard", "2008ServerR2", "Windows Server 2008 R2 Standard"),
        (30000, True, "ServerTurbo", "12", "Windows Server Turbo"),  # an unknown build
    ],
)
def test_product_names(build: int, server: bool, edition: str, release: str, name: str) -> None:
    assert windows.product_name(build, server=server, edition=edition, release=release) == name


CURRENT = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"


def test_os_details_read_the_feature_release_and_update_build() -> None:
    registry = Registry(
        tree(
            CURRENT, Key(values={"DisplayVersion": "23H2", "UBR": 4317, "EditionID": "Enterprise"})
        )
    )
    details = windows.os_details(registry, 22631, 1, "", "10")
    assert details == {
        "name": "Windows 11 Enterprise",  # the edition from the registry when Python has none
        "version": "23H2",
        "version_id": "23H2",
        "id": "windows",
        "kernel": "10.0.22631.4317",
    }
    payload.OsInfo.model_validate({"family": "windows", **details})
    # As the server will flag it: Enterprise 23H2 ended on 2026-11-10.
    support = eol.support("windows", details["version"], details["name"])
    assert support.end is not None and support.end.isoformat() == "2026-11-10"


def test_os_details_of_an_older_server_without_feature_release() -> None:
    # Windows Server 2016 has a ReleaseId (1607), no DisplayVersion; a domain controller's
    # product type is 2.
    registry = Registry(tree(CURRENT, Key(values={"ReleaseId": "1607", "UBR": 7159})))
    details = windows.os_details(registry, 14393, 2, "ServerStandard", "10")
    assert (details["name"], details["version"], details["kernel"]) == (
        "Windows Server 2016 Standard",
        "1607",
        "10.0.14393.7159",
    )
    # No key at all (no right to read it): the name from the build, no feature release.
    details = windows.os_details(Registry({}), 9200, 3, "ServerStandard", "2012Server")
    assert details == {
        "name": "Windows Server 2012 Standard",
        "version": "2012Server",
        "version_id": "",
        "id": "windows",
        "kernel": "2012Server",
    }


UNINSTALL = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
UNINSTALL_32 = r"SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall"


def test_installed_programs_from_both_registry_views() -> None:
    registry = Registry(
        merge(
            tree(
                UNINSTALL,
                Key(
                    keys={
                        "{7-Zip}": Key(
                            values={
                                "DisplayName": "7-Zip 23.01 (x64)",
                                "DisplayVersion": "23.01",
                                "Publisher": "Igor Pavlov",
                                "InstallDate": "20240115",
                            }
                        ),
                        "KB5034441": Key(values={"SystemComponent": 1}),  # no name: skipped
                        "Firefox": Key(
                            values={
                                "DisplayName": " Mozilla Firefox ",
                                "DisplayVersion": "128.0",
                                "InstallDate": "2024-13-45",  # not YYYYMMDD: no date
                            }
                        ),
                        "Bad": Key(
                            values={"DisplayName": "Broken date", "InstallDate": "20241345"}
                        ),
                    }
                ),
            ),
            tree(
                UNINSTALL_32,
                Key(
                    keys={
                        "Firefox": Key(
                            values={"DisplayName": "Mozilla Firefox", "DisplayVersion": "128.0"}
                        ),  # the same program seen from the 32-bit view: once
                        "Reader": Key(
                            values={"DisplayName": "Adobe Acrobat Reader", "DisplayVersion": "24.1"}
                        ),
                    }
                ),
            ),
        )
    )
    programs = windows.installed_programs(registry)
    assert programs == [
        {
            "name": "7-Zip 23.01 (x64)",
            "version": "23.01",
            "source": "windows",
            "publisher": "Igor Pavlov",
            "installed_at": "2024-01-15T00:00:00Z",
        },
        {"name": "Mozilla Firefox", "version": "128.0", "source": "windows"},
        {"name": "Broken date", "version": "", "source": "windows"},
        {"name": "Adobe Acrobat Reader", "version": "24.1", "source": "windows"},
    ]
    for program in programs:
        payload.Software.model_validate(program)
    assert windows.installed_programs(Registry({})) == []  # no uninstall key readable


def test_local_users_from_get_localuser() -> None:
    domain = "S-1-5-21-1004336348-1177238915-682003330"
    text = f"""[
      {{"Name": "Administrator", "Enabled": true, "SID": "{domain}-500"}},
      {{"Name": "Guest", "Enabled": false, "SID": "{domain}-501"}},
      {{"Name": "marie", "Enabled": true, "SID": "{domain}-1001"}},
      {{"Name": "svc-backup", "Enabled": true, "SID": null}}
    ]"""
    users = windows.parse_local_users(text)
    assert users == [
        {"name": "Administrator", "uid": 500},
        {"name": "marie", "uid": 1001},
        {"name": "svc-backup", "uid": None},
    ]
    for user in users:
        payload.LocalUser.model_validate(user)
    # One account: PowerShell writes an object, not a list.
    single = '{"Name": "admin", "Enabled": true, "SID": "S-1-5-21-1-2-3-1000"}'
    assert windows.parse_local_users(single) == [{"name": "admin", "uid": 1000}]
    assert windows.parse_local_users("") == []
    with pytest.raises(ValueError, match="Name"):
        windows.parse_local_users('[{"Enabled": true}]')
    with pytest.raises(ValueError, match="list"):
        windows.parse_local_users('"text"')
    with pytest.raises(json.JSONDecodeError):  # a ValueError, which the collector notes
        windows.parse_local_users("Get-LocalUser : not recognized")


def test_the_configuration_file_access_list() -> None:
    path = Path(r"C:\ProgramData\infogerance-agent\.tmp-agent.json.42")
    assert windows.private_acl_command(path, "CONTOSO\\marie") == [
        "icacls",
        str(path),
        "/inheritance:r",  # nothing inherited from ProgramData (readable by Users)
        "/grant:r",
        "*S-1-5-18:F",  # SYSTEM, the service's account
        "*S-1-5-32-544:F",  # Administrators
        "CONTOSO\\marie:F",
    ]
    # No account known (USERDOMAIN and USERNAME unset): the system and administrators only.
    assert windows.private_acl_command(path, "\\")[-2:] == ["*S-1-5-18:F", "*S-1-5-32-544:F"]
