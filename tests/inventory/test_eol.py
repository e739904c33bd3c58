"""End-of-life flags from the data file shipped with the package (and a replacement file)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from infogerance.inventory import eol

DAY = dt.date(2026, 11, 28)


@pytest.mark.parametrize(
    ("os_id", "version", "name", "status", "end"),
    [
        ("debian", "10", "Debian GNU/Linux", "eol", dt.date(2024, 6, 30)),
        ("debian", "12", "Debian GNU/Linux", "supported", dt.date(2028, 6, 30)),
        (
            "debian",
            "12.8",
            "Debian GNU/Linux",
            "supported",
            dt.date(2028, 6, 30),
        ),  # a point release
        ("debian", "1", "Debian GNU/Linux", "unknown", None),  # "1" is not a prefix of "10"
        # 2027-06-30 is 214 days after 2026-11-28: beyond the 180-day warning.
        ("ubuntu", "22.04", "Ubuntu", "supported", dt.date(2027, 6, 30)),
        ("windows", "22H2", "Windows 10 Pro", "eol", dt.date(2025, 10, 14)),
        ("windows", "", "Windows Server 2016 Standard", "ending", dt.date(2027, 1, 12)),
        # Names and feature releases as the agent reports them (infogerance.agent.windows):
        # Home and Pro get 24 months per feature release, Enterprise and Education 36.
        ("windows", "23H2", "Windows 11 Pro", "eol", dt.date(2025, 11, 11)),
        ("windows", "23H2", "Windows 11 Enterprise", "eol", dt.date(2026, 11, 10)),
        ("windows", "24H2", "Windows 11 Pro", "eol", dt.date(2026, 10, 13)),
        # 2027-10-12 is 318 days after 2026-11-28: supported.
        ("windows", "24H2", "Windows 11 Education", "supported", dt.date(2027, 10, 12)),
        ("windows", "24H2", "Windows 11 Enterprise LTSC 2024", "supported", dt.date(2029, 10, 9)),
        ("windows", "", "Windows 11 Pro", "unknown", None),  # no feature release, no date
        ("windows", "1809", "Windows 10 Enterprise LTSC 2019", "supported", dt.date(2029, 1, 9)),
        (
            "windows",
            "21H2",
            "Windows 10 IoT Enterprise LTSC 2021",
            "supported",
            dt.date(2032, 1, 13),
        ),
        ("windows", "", "Windows Server 2008 R2 Standard", "eol", dt.date(2020, 1, 14)),
        ("windows", "24H2", "Windows Server 2025 Datacenter", "supported", dt.date(2034, 10, 10)),
        # Words, not text: "Windows 10" is not found in "Windows 10X" nor "Windows 101".
        ("windows", "", "Windows 101", "unknown", None),
        ("plan9", "4", "Plan 9", "unknown", None),
    ],
)
def test_support(os_id: str, version: str, name: str, status: str, end: dt.date | None) -> None:
    found = eol.support(os_id, version, name, today=DAY)
    assert (found.status, found.end) == (status, end)


def test_the_warning_is_180_days() -> None:
    # Debian 11: support ends 2026-08-31. 180 days before is 2026-03-04.
    assert eol.support("debian", "11", today=dt.date(2026, 3, 3)).status == "supported"
    assert eol.support("debian", "11", today=dt.date(2026, 3, 4)).status == "ending"
    assert eol.support("debian", "11", today=dt.date(2026, 8, 31)).status == "ending"
    assert eol.support("debian", "11", today=dt.date(2026, 9, 1)).status == "eol"


def test_a_replacement_file_and_its_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "eol.yaml"
    good.write_text("releases:\n  - {id: Debian, version: '12', end: 2027-01-01}\n")
    monkeypatch.setenv("INFOGERANCE_OS_EOL_FILE", str(good))
    eol.releases.cache_clear()
    try:
        assert eol.support("debian", "12", today=DAY).status == "ending"  # 34 days left
        bad = tmp_path / "bad.yaml"
        bad.write_text("releases:\n  - {id: debian, version: '12', end: soon}\n")
        with pytest.raises(eol.EolFileError, match=r"bad.yaml: releases\[0\].end: a date"):
            eol.load(bad)
        bad.write_text("releases:\n  - {id: debian}\n")
        with pytest.raises(eol.EolFileError, match=r"releases\[0\].version: required"):
            eol.load(bad)
    finally:
        eol.releases.cache_clear()
