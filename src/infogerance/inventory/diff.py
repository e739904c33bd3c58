"""A readable difference between two inventories of one machine.

Each section lists what was added, removed and changed, keyed by what identifies an item
(a package by source and name, a disk by mount point, an interface by name, a service by name,
a port by protocol, address and port, a user by name). Volatile figures (uptime, disk usage)
are not differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

Key = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Change:
    """One value that changed: a field of the machine (``key`` as the inventory names it,
    ``fact`` True) or an item of a list (``key`` what identifies it, its compared value)."""

    key: str
    before: Any
    after: Any
    fact: bool = False

    @property
    def label(self) -> str:
        """The field's name for people, in the active language (the key for an item)."""
        return str(LABELS.get(self.key, self.key)) if self.fact else self.key

    def __str__(self) -> str:
        if self.fact:
            return f"{self.key}: {self.before!r} → {self.after!r}"
        return f"{self.key}: {self.before} → {self.after}"


# The names of the machine's facts for people; a fact not listed shows its key.
LABELS = {
    "family": _("Family"),
    "name": _("System"),
    "version": _("Version"),
    "id": _("Distribution"),
    "version_id": _("Version number"),
    "codename": _("Code name"),
    "kernel": _("Kernel"),
    "arch": _("Architecture"),
    "hostname": _("Host name"),
    "fqdn": _("Full name (FQDN)"),
    "vendor": _("Manufacturer"),
    "model": _("Model"),
    "serial": _("Serial number"),
    "memory_bytes": _("Memory"),
    "swap_bytes": _("Swap"),
    "cpu.model": _("Processor"),
    "cpu.cores": _("Cores"),
    "cpu.threads": _("Threads"),
    "count": _("Pending updates"),
    "security_count": _("Security updates"),
}


@dataclass
class Section:
    name: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _fields(
    name: str, old: dict[str, Any], new: dict[str, Any], skip: tuple[str, ...] = ()
) -> Section:
    section = Section(name)
    for key in sorted(set(old) | set(new)):
        if (
            key in skip
            or isinstance(old.get(key), dict | list)
            or isinstance(new.get(key), dict | list)
        ):
            continue
        if old.get(key) != new.get(key):
            section.changed.append(Change(key, old.get(key), new.get(key), fact=True))
    return section


def _items(
    name: str,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    key: Key,
    describe: Callable[[dict[str, Any]], str],
    compare: Callable[[dict[str, Any]], Any],
) -> Section:
    section = Section(name)
    before = {key(item): item for item in old}
    after = {key(item): item for item in new}
    for k in sorted(after.keys() - before.keys()):
        section.added.append(describe(after[k]))
    for k in sorted(before.keys() - after.keys()):
        section.removed.append(describe(before[k]))
    for k in sorted(before.keys() & after.keys()):
        if compare(before[k]) != compare(after[k]):
            section.changed.append(Change(k, compare(before[k]), compare(after[k])))
    return section


def _port(port: dict[str, Any]) -> str:
    return f"{port['protocol']} {port.get('address') or '*'}:{port['port']}"


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Section]:
    """The sections that differ, in a fixed order."""
    hardware_old, hardware_new = old.get("hardware") or {}, new.get("hardware") or {}
    updates_old, updates_new = old.get("updates") or {}, new.get("updates") or {}
    sections = [
        _fields(
            "system",
            {**old.get("os", {}), "hostname": old.get("hostname"), "fqdn": old.get("fqdn")},
            {**new.get("os", {}), "hostname": new.get("hostname"), "fqdn": new.get("fqdn")},
        ),
        _fields(
            "hardware",
            {**hardware_old, **{f"cpu.{k}": v for k, v in (hardware_old.get("cpu") or {}).items()}},
            {**hardware_new, **{f"cpu.{k}": v for k, v in (hardware_new.get("cpu") or {}).items()}},
            skip=("cpu.mhz",),
        ),
        _items(
            "software",
            old.get("software", []),
            new.get("software", []),
            key=lambda s: f"{s['name']} ({s['source']})",
            describe=lambda s: f"{s['name']} {s.get('version') or ''}".strip(),
            compare=lambda s: s.get("version") or "",
        ),
        _items(
            "disks",
            old.get("disks", []),
            new.get("disks", []),
            key=lambda d: d["mountpoint"],
            describe=lambda d: (
                f"{d['mountpoint']} ({d.get('device') or '?'}, {d['total_bytes']} bytes)"
            ),
            compare=lambda d: (d.get("device"), d.get("fstype"), d["total_bytes"]),
        ),
        _items(
            "interfaces",
            old.get("interfaces", []),
            new.get("interfaces", []),
            key=lambda i: i["name"],
            describe=lambda i: f"{i['name']} {', '.join(i.get('addresses') or [])}".strip(),
            compare=lambda i: (i.get("mac"), sorted(i.get("addresses") or [])),
        ),
        _items(
            "services",
            old.get("services", []),
            new.get("services", []),
            key=lambda s: s["name"],
            describe=lambda s: s["name"],
            compare=lambda s: (s.get("state"), s.get("enabled")),
        ),
        _items(
            "ports",
            old.get("ports", []),
            new.get("ports", []),
            key=_port,
            describe=lambda p: f"{_port(p)} {p.get('process') or ''}".strip(),
            compare=lambda p: p.get("process") or "",
        ),
        _items(
            "users",
            old.get("users", []),
            new.get("users", []),
            key=lambda u: u["name"],
            describe=lambda u: u["name"],
            compare=lambda u: (u.get("uid"), u.get("shell")),
        ),
        _fields(
            "updates",
            {k: updates_old.get(k) for k in ("count", "security_count")},
            {k: updates_new.get(k) for k in ("count", "security_count")},
        ),
    ]
    return [section for section in sections if section]
