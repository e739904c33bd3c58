"""Inventory collectors: what the machine is, what runs on it, what it lacks.

Each collector is isolated: a missing tool, a permission error, a timeout or a bug leaves its
part out of the inventory and adds a ``notes`` entry saying why. Nothing here may crash the
agent. External commands run with ``LC_ALL=C`` (stable output to parse) and a timeout.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from infogerance.agent import windows
from infogerance.agent.protocol import utc_timestamp

logger = logging.getLogger(__name__)

DEFAULT_COMMAND_TIMEOUT = 20.0
DPKG_STATUS = Path("/var/lib/dpkg/status")
DPKG_INFO = Path("/var/lib/dpkg/info")
DMI_DIR = Path("/sys/class/dmi/id")

# Filesystems that hold no data of the machine's own (kernel views, memory, containers' plumbing).
PSEUDO_FILESYSTEMS = frozenset(
    {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
        "devtmpfs", "efivarfs", "fusectl", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal",
        "hugetlbfs", "mqueue", "nsfs", "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs",
        "squashfs", "sysfs", "tmpfs", "tracefs", "overlay", "nfsd", "iso9660",
    }
)  # fmt: skip
# DMI values that firmware vendors leave in place of a real one.
DMI_PLACEHOLDERS = frozenset(
    {
        "", "none", "n/a", "na", "not specified", "not applicable", "default string",
        "to be filled by o.e.m.", "to be filled by oem", "system serial number",
        "system product name", "system manufacturer", "0", "0123456789", "unknown",
    }
)  # fmt: skip
NON_LOGIN_SHELLS = frozenset({"nologin", "false", "sync", "halt", "shutdown", ""})


class CollectorError(Exception):
    """Why a collector could not run; becomes a note."""


MAX_TEXT = 255  # the protocol's limit for a string of the inventory
MAX_NOTE = 2000


def clip(value: Any, limit: int = MAX_TEXT) -> Any:
    """Strings cut to the protocol's limits, everywhere in a structure (in place for lists)."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1] + "…"
    if isinstance(value, dict):
        return {k: clip(v, MAX_NOTE if k == "message" else limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clip(v, limit) for v in value]
    return value


class Notes:
    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []

    def add(self, collector: str, message: str) -> None:
        self.entries.append({"collector": collector, "message": message})


def run_command(
    argv: list[str], *, timeout: float = DEFAULT_COMMAND_TIMEOUT, ok_codes: tuple[int, ...] = (0,)
) -> str:
    """Run a tool found in PATH and return its standard output; any failure is a CollectorError."""
    executable = shutil.which(argv[0])
    if executable is None:
        raise CollectorError(f"{argv[0]} is not installed (not found in PATH)")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
            [executable, *argv[1:]],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CollectorError(f"{argv[0]} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise CollectorError(f"{argv[0]} could not run: {exc.strerror or exc}") from None
    if proc.returncode not in ok_codes:
        detail = next((line for line in proc.stderr.splitlines() if line.strip()), "")
        raise CollectorError(
            f"{argv[0]} exited with code {proc.returncode}"
            + (f": {detail.strip()}" if detail else "")
        )
    return proc.stdout


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _with_timeout(func: Callable[[], str], timeout: float) -> str | None:
    """Run a blocking library call (a DNS lookup) in a thread; None if it takes too long."""
    result: list[str] = []

    def target() -> None:
        with contextlib.suppress(OSError):
            result.append(func())

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return result[0] if result else None


# --- identity and operating system --------------------------------------------------------


def machine_id() -> str | None:
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography"
            ) as key:
                return str(winreg.QueryValueEx(key, "MachineGuid")[0])
        except OSError:
            return None
    for candidate in (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id")):
        value = _read_text(candidate)
        if value:
            return value
    return None


def os_release() -> dict[str, str]:
    """The operating system, as the enrolment and the inventory describe it."""
    family = platform.system().lower() or sys.platform
    info: dict[str, str] = {"family": family}
    if family == "linux":
        try:
            release = platform.freedesktop_os_release()
        except OSError:
            release = {}
        info["name"] = release.get("NAME", "Linux")
        version = release.get("VERSION_ID") or release.get("VERSION") or ""
        if version:
            info["version"] = version
        for field, key in (
            ("id", "ID"),
            ("version_id", "VERSION_ID"),
            ("codename", "VERSION_CODENAME"),
        ):
            if release.get(key):
                info[field] = release[key]
    elif family == "windows":
        info.update(_windows_os())
    elif family == "darwin":
        info["name"] = "macOS"
        info["version"] = platform.mac_ver()[0]
    else:
        info["name"] = platform.system() or sys.platform
        info["version"] = platform.release()
    info.setdefault("version", "")
    info.setdefault("kernel", platform.release())
    info["arch"] = platform.machine()
    return info


def _windows_os() -> dict[str, str]:
    if sys.platform != "win32":
        raise CollectorError("not a Windows machine")
    import winreg

    version = sys.getwindowsversion()
    edition = platform.win32_edition() or ""
    return windows.os_details(
        winreg, version.build, version.product_type, edition, platform.release()
    )


def enrolment_identity() -> dict[str, Any]:
    """What the enrolment request says about the machine."""
    os_info = os_release()
    identity: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "os": {k: os_info[k] for k in ("family", "name", "version")},
    }
    mid = machine_id()
    if mid:
        identity["machine_id"] = mid
    return identity


# --- hardware -----------------------------------------------------------------------------


def _dmi(name: str) -> tuple[str | None, str | None]:
    """(value, why not) for one DMI attribute."""
    path = DMI_DIR / name
    try:
        value = path.read_text(errors="replace").strip()
    except PermissionError:
        return None, f"{path} is readable by root only"
    except OSError:
        return None, f"{path} is not available"
    if value.lower() in DMI_PLACEHOLDERS:
        return None, None
    return value, None


def _cpuinfo() -> dict[str, str]:
    fields: dict[str, str] = {}
    text = _read_text(Path("/proc/cpuinfo")) or ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key not in fields and value.strip():
            fields[key] = value.strip()
    return fields


def collect_hardware(notes: Notes) -> dict[str, Any]:
    hardware: dict[str, Any] = {}
    if sys.platform.startswith("linux"):
        if DMI_DIR.is_dir():
            for field, attribute in (
                ("vendor", "sys_vendor"),
                ("model", "product_name"),
                ("serial", "product_serial"),
            ):
                value, why_not = _dmi(attribute)
                if value:
                    hardware[field] = value
                elif why_not:
                    notes.add(f"hardware.{field}", why_not)
        else:
            notes.add("hardware.dmi", f"{DMI_DIR} is not available (virtual machine or container)")
    cpu: dict[str, Any] = {}
    info = _cpuinfo()
    model = info.get("model name") or info.get("hardware") or info.get("cpu model")
    model = model or platform.processor() or None
    if model:
        cpu["model"] = model
    cores = psutil.cpu_count(logical=False)
    threads = psutil.cpu_count(logical=True)
    if cores:
        cpu["cores"] = cores
    if threads:
        cpu["threads"] = threads
    mhz: float | None = None
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError):
        freq = None
    if freq is not None:
        mhz = freq.max or freq.current or None
    if not mhz and info.get("cpu mhz"):
        try:
            mhz = float(info["cpu mhz"])
        except ValueError:
            mhz = None
    if mhz:
        cpu["mhz"] = round(float(mhz), 1)
    hardware["cpu"] = cpu
    hardware["memory_bytes"] = int(psutil.virtual_memory().total)
    hardware["swap_bytes"] = int(psutil.swap_memory().total)
    return hardware


def collect_disks(notes: Notes) -> list[dict[str, Any]]:
    disks: list[dict[str, Any]] = []
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=True):
        if part.fstype.lower() in PSEUDO_FILESYSTEMS and part.mountpoint != "/":
            continue
        if not part.fstype or part.mountpoint in seen:
            continue
        if sys.platform != "win32" and not part.device.startswith(("/", "\\")):
            # "none", "shm", "rootfs": not a device; the root is kept whatever backs it.
            if part.mountpoint != "/":
                continue
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except PermissionError:
            notes.add("disks", f"cannot read the usage of {part.mountpoint}: permission denied")
            continue
        except OSError as exc:  # a CD drive without a disc, a stale network mount
            notes.add("disks", f"cannot read the usage of {part.mountpoint}: {exc.strerror or exc}")
            continue
        seen.add(part.mountpoint)
        disks.append(
            {
                "device": part.device,
                "mountpoint": part.mountpoint,
                "fstype": part.fstype,
                "total_bytes": int(usage.total),
                "used_bytes": int(usage.used),
                "free_bytes": int(usage.free),
            }
        )
    disks.sort(key=lambda d: d["mountpoint"])
    return disks


def _prefix_length(address: str, netmask: str | None) -> int | None:
    if not netmask:
        return None
    try:
        if ":" in netmask:
            return bin(int(ipaddress.IPv6Address(netmask))).count("1")
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
    except ValueError:
        return None


def collect_interfaces(notes: Notes) -> list[dict[str, Any]]:
    stats = psutil.net_if_stats()
    interfaces: list[dict[str, Any]] = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        stat = stats.get(name)
        if stat is not None and "loopback" in getattr(stat, "flags", ""):
            continue
        if name == "lo" or name.startswith("Loopback Pseudo-Interface"):
            continue
        entry: dict[str, Any] = {"name": name}
        addresses: list[str] = []
        for addr in addrs:
            if addr.family == psutil.AF_LINK:
                mac = addr.address.replace("-", ":").lower()
                if mac and mac != "00:00:00:00:00:00":
                    entry["mac"] = mac
            elif addr.family in (socket.AF_INET, socket.AF_INET6):
                ip = addr.address.split("%", 1)[0]
                prefix = _prefix_length(ip, addr.netmask)
                addresses.append(f"{ip}/{prefix}" if prefix is not None else ip)
        entry["up"] = bool(stat.isup) if stat is not None else False
        if stat is not None and stat.speed > 0:
            entry["speed_mbps"] = int(stat.speed)
        entry["addresses"] = addresses
        interfaces.append(entry)
    return interfaces


# --- software -----------------------------------------------------------------------------


def _dpkg_paragraphs(text: str) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line:
            if fields:
                yield fields
            fields, key = {}, ""
        elif line[0] in " \t":
            continue  # continuation lines (descriptions, conffiles): not needed
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def _person_name(maintainer: str) -> str:
    return maintainer.split("<", 1)[0].strip().strip('"') or maintainer.strip()


def collect_dpkg(
    status_path: Path = DPKG_STATUS, info_dir: Path = DPKG_INFO
) -> list[dict[str, Any]]:
    try:
        text = status_path.read_text(errors="replace")
    except OSError as exc:
        raise CollectorError(f"cannot read {status_path}: {exc.strerror or exc}") from None
    installed = [
        p
        for p in _dpkg_paragraphs(text)
        if p.get("Status", "").split()[-1:] == ["installed"] and p.get("Package")
    ]
    archs = [
        p.get("Architecture", "") for p in installed if p.get("Architecture") not in (None, "all")
    ]
    native = max(set(archs), key=archs.count) if archs else ""
    software: list[dict[str, Any]] = []
    for p in installed:
        name, arch = p["Package"], p.get("Architecture", "")
        foreign = arch not in ("", "all", native)
        entry: dict[str, Any] = {
            "name": f"{name}:{arch}" if foreign else name,  # as dpkg-query names them
            "version": p.get("Version", ""),
            "source": "dpkg",
        }
        publisher = p.get("Origin") or _person_name(p.get("Maintainer", ""))
        if publisher:
            entry["publisher"] = publisher
        mtime = _mtime(info_dir / f"{name}.list") or _mtime(info_dir / f"{name}:{arch}.list")
        if mtime:
            entry["installed_at"] = utc_timestamp(mtime)
        software.append(entry)
    return software


def collect_rpm(timeout: float) -> list[dict[str, Any]]:
    out = run_command(
        [
            "rpm",
            "-qa",
            "--queryformat",
            "%{NAME}\\t%{EPOCH}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{INSTALLTIME}\\n",
        ],
        timeout=timeout,
    )
    software: list[dict[str, Any]] = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 6 or parts[0].startswith("gpg-pubkey"):
            continue
        name, epoch, version, _arch, vendor, installtime = parts
        if epoch not in ("(none)", "", "0"):
            version = f"{epoch}:{version}"
        entry: dict[str, Any] = {"name": name, "version": version, "source": "rpm"}
        if vendor and vendor != "(none)":
            entry["publisher"] = vendor
        if installtime.isdigit():
            entry["installed_at"] = utc_timestamp(int(installtime))
        software.append(entry)
    return software


def collect_python() -> list[dict[str, Any]]:
    """The distributions of the interpreter that runs the agent (first on sys.path wins)."""
    software: list[dict[str, Any]] = []
    seen: set[str] = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        entry: dict[str, Any] = {"name": name, "version": dist.version or "", "source": "python"}
        author = dist.metadata["Author"] or _person_name(dist.metadata["Author-email"] or "")
        if author and author.upper() != "UNKNOWN":
            entry["publisher"] = author.split(",")[0].strip()
        path = getattr(dist, "_path", None)
        mtime = _mtime(Path(path)) if path is not None else None
        if mtime:
            entry["installed_at"] = utc_timestamp(mtime)
        software.append(entry)
    software.sort(key=lambda e: e["name"].lower())
    return software


def collect_windows_software() -> list[dict[str, Any]]:
    if sys.platform != "win32":
        return []
    import winreg

    return windows.installed_programs(winreg)


def collect_software(notes: Notes, timeout: float) -> list[dict[str, Any]]:
    software: list[dict[str, Any]] = []
    found_manager = False
    if sys.platform == "win32":
        found_manager = True
        _isolated(notes, "software.windows", lambda: software.extend(collect_windows_software()))
    if DPKG_STATUS.exists():
        found_manager = True
        _isolated(notes, "software.dpkg", lambda: software.extend(collect_dpkg()))
    if shutil.which("rpm") is not None:
        found_manager = True
        _isolated(notes, "software.rpm", lambda: software.extend(collect_rpm(timeout)))
    if not found_manager:
        notes.add("software.os", "no package database found (dpkg, rpm)")
    _isolated(notes, "software.python", lambda: software.extend(collect_python()))
    return software


# --- services, ports, users ---------------------------------------------------------------


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def collect_services(notes: Notes, timeout: float) -> list[dict[str, Any]] | None:
    if sys.platform == "win32":
        services = []
        for svc in psutil.win_service_iter():
            try:
                info = svc.as_dict()
            except (psutil.Error, OSError):
                continue
            services.append(
                {
                    "name": info["name"],
                    "state": info.get("status") or "unknown",
                    "enabled": info.get("start_type") == "automatic",
                }
            )
        return sorted(services, key=lambda s: s["name"])
    if not systemd_running():
        pid1 = _read_text(Path("/proc/1/comm")) or "unknown"
        notes.add("services", f"systemd is not running (process 1 is {pid1}); services not listed")
        return None
    units: dict[str, dict[str, Any]] = {}
    out = run_command(
        [
            "systemctl",
            "list-units",
            "--type=service",
            "--all",
            "--no-legend",
            "--no-pager",
            "--plain",
        ],
        timeout=timeout,
    )
    for line in out.splitlines():
        parts = line.lstrip("●* ").split(None, 4)
        if len(parts) >= 4 and parts[0].endswith(".service") and parts[1] != "not-found":
            units[parts[0]] = {"name": parts[0], "state": parts[3]}
    out = run_command(
        ["systemctl", "list-unit-files", "--type=service", "--no-legend", "--no-pager"],
        timeout=timeout,
    )
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].endswith(".service") or "@." in parts[0]:
            continue
        unit = units.setdefault(parts[0], {"name": parts[0], "state": "inactive"})
        if parts[1] in ("enabled", "enabled-runtime", "disabled", "masked", "masked-runtime"):
            unit["enabled"] = parts[1].startswith("enabled")
    return [units[name] for name in sorted(units)]


def collect_ports(notes: Notes) -> list[dict[str, Any]]:
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        raise CollectorError("listing sockets needs administrator rights here") from None
    names: dict[int, str | None] = {}
    unnamed = False

    def process_name(pid: int | None) -> str | None:
        nonlocal unnamed
        if pid is None:
            unnamed = True
            return None
        if pid not in names:
            try:
                names[pid] = psutil.Process(pid).name()
            except (psutil.Error, OSError):
                names[pid] = None
        return names[pid]

    ports: dict[tuple[str, str, int], dict[str, Any]] = {}
    for conn in connections:
        if not conn.laddr:
            continue
        if conn.type == socket.SOCK_STREAM:
            if conn.status != psutil.CONN_LISTEN:
                continue
            protocol = "tcp"
        elif conn.type == socket.SOCK_DGRAM:
            if conn.raddr:
                continue
            protocol = "udp"
        else:
            continue
        key = (protocol, conn.laddr.ip, conn.laddr.port)
        if key in ports:
            continue
        entry: dict[str, Any] = {
            "protocol": protocol,
            "address": conn.laddr.ip,
            "port": conn.laddr.port,
        }
        name = process_name(conn.pid)
        if name:
            entry["process"] = name
        ports[key] = entry
    if unnamed:
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            notes.add("ports", "some sockets belong to processes out of the agent's sight")
        else:
            notes.add("ports", "some processes are not named: run the agent as root to see them")
    return [ports[k] for k in sorted(ports)]


def collect_users(notes: Notes, timeout: float) -> list[dict[str, Any]] | None:
    if sys.platform == "win32":
        try:
            return windows.parse_local_users(
                run_command(windows.LOCAL_USERS_COMMAND, timeout=timeout)
            )
        except ValueError as exc:
            raise CollectorError(f"Get-LocalUser answered what is not its JSON: {exc}") from None
    import pwd

    users: list[dict[str, Any]] = []
    for entry in pwd.getpwall():
        shell = entry.pw_shell or ""
        login_shell = os.path.basename(shell) not in NON_LOGIN_SHELLS
        regular = entry.pw_uid >= 1000 and entry.pw_uid != 65534
        if entry.pw_uid == 0 or regular or login_shell:
            users.append(
                {"name": entry.pw_name, "uid": entry.pw_uid, "shell": shell, "home": entry.pw_dir}
            )
    users.sort(key=lambda u: (u["uid"], u["name"]))
    return users


# --- pending updates ----------------------------------------------------------------------

APT_LIST_LINE = re.compile(
    r"^(?P<name>[^/\s]+)/(?P<suites>\S+)\s+(?P<candidate>\S+)\s+\S+\s+"
    r"\[upgradable from: (?P<current>[^\]]+)\]"
)
APT_INST_LINE = re.compile(
    r"^Inst (?P<name>\S+) \[(?P<current>[^\]]+)\] \((?P<candidate>\S+) (?P<origins>[^\[)]*)"
)


def parse_apt_list(text: str) -> list[dict[str, Any]]:
    packages = []
    for line in text.splitlines():
        match = APT_LIST_LINE.match(line.strip())
        if match:
            packages.append(
                {
                    "name": match["name"],
                    "current": match["current"].strip(),
                    "candidate": match["candidate"],
                    "security": "security" in match["suites"].lower(),
                }
            )
    return packages


def parse_apt_simulation(text: str) -> list[dict[str, Any]]:
    packages = []
    for line in text.splitlines():
        match = APT_INST_LINE.match(line)
        if match:
            packages.append(
                {
                    "name": match["name"],
                    "current": match["current"],
                    "candidate": match["candidate"],
                    "security": "security" in match["origins"].lower(),
                }
            )
    return packages


def parse_dnf_check_update(text: str, security: set[str]) -> list[dict[str, Any]]:
    packages = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or "." not in parts[0] or line.startswith(" "):
            continue
        name = parts[0].rsplit(".", 1)[0]
        packages.append(
            {
                "name": name,
                "candidate": parts[1],
                "security": name in security or parts[0] in security,
            }
        )
    return packages


APT_LISTS = Path("/var/lib/apt/lists")
# Asking apt costs a second of CPU; its answer changes only when the package lists or the
# installed packages change, so the loop's checks every 15 minutes reuse it until then.
_apt_cache: dict[str, Any] = {}


def _apt_state() -> tuple[int, ...]:
    stamps = [DPKG_STATUS.stat().st_mtime_ns]
    with contextlib.suppress(OSError):
        stamps.append(APT_LISTS.stat().st_mtime_ns)
        stamps.extend(sorted(p.stat().st_mtime_ns for p in APT_LISTS.iterdir() if p.is_file()))
    return tuple(stamps)


def _apt_packages(timeout: float) -> list[dict[str, Any]]:
    state = _apt_state()
    if _apt_cache.get("state") == state and shutil.which("apt") == _apt_cache.get("tool"):
        return [dict(p) for p in _apt_cache["packages"]]
    tool = shutil.which("apt")
    if tool is not None:
        packages = parse_apt_list(run_command(["apt", "list", "--upgradable"], timeout=timeout))
    else:
        out = run_command(
            ["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"], timeout=timeout
        )
        packages = parse_apt_simulation(out)
    _apt_cache.update(state=state, tool=tool, packages=[dict(p) for p in packages])
    return packages


def collect_updates(notes: Notes, timeout: float) -> dict[str, Any] | None:
    apt = shutil.which("apt") or shutil.which("apt-get")
    if apt is not None and DPKG_STATUS.exists():
        packages = _apt_packages(timeout)
        source = "apt"
    elif shutil.which("dnf") is not None:
        out = run_command(["dnf", "-q", "check-update"], timeout=timeout, ok_codes=(0, 100))
        security: set[str] = set()
        try:
            advisories = run_command(
                ["dnf", "-q", "updateinfo", "list", "--security"], timeout=timeout
            )
            for line in advisories.splitlines():
                parts = line.split()
                if len(parts) >= 3:
                    nevra = parts[-1]
                    security.add(re.sub(r"-[^-]+-[^-]+$", "", nevra))
        except CollectorError as exc:
            notes.add("updates.security", str(exc))
        packages = parse_dnf_check_update(out, security)
        source = "dnf"
    else:
        notes.add("updates", "no supported package manager found (apt, dnf)")
        return None
    packages.sort(key=lambda p: p["name"])
    return {
        "source": source,
        "count": len(packages),
        "security_count": sum(1 for p in packages if p["security"]),
        "packages": packages,
    }


# --- the whole inventory ------------------------------------------------------------------


def _isolated(notes: Notes, collector: str, func: Callable[[], Any]) -> Any:
    """Run one collector; whatever goes wrong becomes a note and the part is left out."""
    started = time.monotonic()
    try:
        return func()
    except CollectorError as exc:
        notes.add(collector, str(exc))
    except PermissionError as exc:
        notes.add(collector, f"permission denied: {exc.filename or exc}")
    except Exception as exc:  # a collector's bug must never stop the agent
        logger.exception("collector %s failed", collector)
        notes.add(collector, f"failed: {type(exc).__name__}: {exc}")
    finally:
        logger.debug("collector %s took %.3f s", collector, time.monotonic() - started)
    return None


def collect_inventory(*, command_timeout: float = DEFAULT_COMMAND_TIMEOUT) -> dict[str, Any]:
    """The ``data`` of an inventory report."""
    notes = Notes()
    inventory: dict[str, Any] = {"hostname": socket.gethostname()}
    fqdn = _with_timeout(socket.getfqdn, 2.0)
    if fqdn:
        inventory["fqdn"] = fqdn
    else:
        notes.add("fqdn", "the name lookup did not answer within 2 s")
    mid = _isolated(notes, "machine_id", machine_id)
    if mid:
        inventory["machine_id"] = mid
    os_info = _isolated(notes, "os", os_release)
    inventory["os"] = os_info or {"family": platform.system().lower(), "name": "", "version": ""}

    def boot() -> None:
        booted = psutil.boot_time()
        inventory["boot_time"] = utc_timestamp(booted)
        inventory["uptime_seconds"] = max(0, int(time.time() - booted))

    _isolated(notes, "uptime", boot)
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("hardware", lambda: collect_hardware(notes)),
        ("disks", lambda: collect_disks(notes)),
        ("interfaces", lambda: collect_interfaces(notes)),
        ("software", lambda: collect_software(notes, command_timeout)),
        ("services", lambda: collect_services(notes, command_timeout)),
        ("ports", lambda: collect_ports(notes)),
        ("users", lambda: collect_users(notes, command_timeout)),
        ("updates", lambda: collect_updates(notes, command_timeout)),
    ]
    for key, func in parts:
        value = _isolated(notes, key, func)
        if value is not None:
            inventory[key] = value
    inventory["notes"] = notes.entries
    if len(inventory.get("machine_id", "")) > 64:
        inventory["machine_id"] = inventory["machine_id"][:64]
    return dict(clip(inventory))
