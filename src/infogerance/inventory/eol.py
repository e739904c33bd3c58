"""End-of-life flags for operating systems, from the data file ``os_eol.yaml``.

The file ships with the package and is meant to be edited as publishers announce dates;
``INFOGERANCE_OS_EOL_FILE`` points to another copy without changing the package.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).with_name("os_eol.yaml")
# A system whose support ends within this many days is flagged as ending soon.
WARNING_DAYS = 180


@dataclass(frozen=True)
class Release:
    os_id: str
    version: str
    end: dt.date
    source: str


@dataclass(frozen=True)
class Support:
    status: str  # supported, ending, eol, unknown
    end: dt.date | None = None
    source: str = ""


class EolFileError(ValueError):
    pass


def load(path: Path) -> tuple[Release, ...]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise EolFileError(f"{path}: {exc}") from exc
    releases = []
    for index, item in enumerate(document.get("releases") or []):
        where = f"{path}: releases[{index}]"
        if not isinstance(item, dict):
            raise EolFileError(f"{where}: a mapping is expected")
        for key in ("id", "version", "end"):
            if key not in item:
                raise EolFileError(f"{where}.{key}: required")
        if not isinstance(item["end"], dt.date):
            raise EolFileError(f"{where}.end: a date (YYYY-MM-DD) is expected")
        releases.append(
            Release(
                str(item["id"]).lower(), str(item["version"]), item["end"], item.get("source", "")
            )
        )
    return tuple(releases)


@functools.cache
def releases() -> tuple[Release, ...]:
    return load(Path(os.environ.get("INFOGERANCE_OS_EOL_FILE") or DEFAULT_FILE))


def _matches(release: Release, os_id: str, os_version: str, os_name: str) -> bool:
    if release.os_id == "windows":
        # Every word of the entry among the words of the product name and its version:
        # "Windows 11 23H2" matches "Windows 11 Pro" version "23H2".
        words = set(f"{os_name} {os_version}".lower().split())
        return os_id == "windows" and set(release.version.lower().split()) <= words
    return release.os_id == os_id and (
        os_version == release.version or os_version.startswith(release.version + ".")
    )


def support(
    os_id: str, os_version: str, os_name: str = "", today: dt.date | None = None
) -> Support:
    """Where an operating system stands: ``supported``, ``ending`` (within WARNING_DAYS),
    ``eol`` (support ended), or ``unknown`` (not in the file)."""
    today = today or dt.date.today()
    found = [r for r in releases() if _matches(r, os_id.lower(), os_version, os_name)]
    if not found:
        return Support("unknown")
    # The most specific entry wins ("Windows 11 Enterprise 23H2" over "Windows 11 23H2").
    release = max(found, key=lambda r: (len(r.version.split()), len(r.version)))
    if release.end < today:
        return Support("eol", release.end, release.source)
    if (release.end - today).days <= WARNING_DAYS:
        return Support("ending", release.end, release.source)
    return Support("supported", release.end, release.source)
