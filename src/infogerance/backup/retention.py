"""Which snapshots to keep: keep-last/hourly/daily/weekly/monthly/yearly/within, by group.

Snapshots are grouped (by default by host and paths, optionally by tags too) and the
policy is applied to each group, newest first, as restic does: ``last N`` keeps the N
newest; ``daily N`` keeps the newest snapshot of each of the N most recent days that have
one (likewise hourly, weekly with ISO weeks, monthly, yearly, in local time); ``within``
keeps everything younger than a duration counted back from the group's newest snapshot;
``keep_tags`` keeps every snapshot carrying one of those tags. A snapshot is kept when any
rule keeps it. An empty policy is refused rather than removing everything.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .backend import FileKind
from .errors import InvalidInput
from .formats import Snapshot
from .repository import Repository

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$")


@dataclass(frozen=True)
class Duration:
    """A calendar duration as restic writes it: ``1y2m3d4h``."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        m = _DURATION.match(text.strip())
        if not text.strip() or not m:
            raise InvalidInput(f"invalid duration {text!r} (expected e.g. 1y2m3d4h)")
        return cls(*(int(g or 0) for g in m.groups()))

    def before(self, moment: dt.datetime) -> dt.datetime:
        month_index = moment.year * 12 + moment.month - 1 - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        day = min(moment.day, _days_in_month(year, month + 1))
        shifted = moment.replace(year=year, month=month + 1, day=day)
        return shifted - dt.timedelta(days=self.days, hours=self.hours)

    def __bool__(self) -> bool:
        return bool(self.years or self.months or self.days or self.hours)


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.date(year, month, 1)).days


@dataclass(frozen=True)
class RetentionPolicy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: Duration = field(default_factory=Duration)
    keep_tags: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.last
            or self.hourly
            or self.daily
            or self.weekly
            or self.monthly
            or self.yearly
            or self.within
            or self.keep_tags
        )


def _local(snapshot: Snapshot) -> dt.datetime:
    return dt.datetime.fromtimestamp(snapshot.time / 1e9, tz=dt.UTC).astimezone()


_BUCKETS: list[tuple[str, Callable[[dt.datetime], object]]] = [
    ("hourly", lambda t: (t.year, t.month, t.day, t.hour)),
    ("daily", lambda t: (t.year, t.month, t.day)),
    ("weekly", lambda t: tuple(t.isocalendar())[:2]),
    ("monthly", lambda t: (t.year, t.month)),
    ("yearly", lambda t: t.year),
]


@dataclass
class Decision:
    keep: list[tuple[Snapshot, list[str]]]
    remove: list[Snapshot]


def apply_policy(snapshots: Iterable[Snapshot], policy: RetentionPolicy) -> Decision:
    """Keep/remove for one group of snapshots."""
    if policy.is_empty():
        raise InvalidInput("no retention rule given: refusing to remove every snapshot")
    ordered = sorted(snapshots, key=lambda s: (s.time, s.id), reverse=True)
    reasons: dict[bytes, list[str]] = {s.id: [] for s in ordered}
    for s in ordered[: policy.last]:
        reasons[s.id].append("last")
    for label, bucket in _BUCKETS:
        wanted = getattr(policy, label)
        seen: set[object] = set()
        for s in ordered:
            if len(seen) >= wanted:
                break
            key = bucket(_local(s))
            if key not in seen:
                seen.add(key)
                reasons[s.id].append(label)
    if policy.within and ordered:
        limit = policy.within.before(_local(ordered[0]))
        for s in ordered:
            if _local(s) >= limit:
                reasons[s.id].append("within")
    if policy.keep_tags:
        for s in ordered:
            if set(s.tags) & set(policy.keep_tags):
                reasons[s.id].append("tag")
    return Decision(
        keep=[(s, reasons[s.id]) for s in ordered if reasons[s.id]],
        remove=[s for s in ordered if not reasons[s.id]],
    )


def group_key(snapshot: Snapshot, group_by: tuple[str, ...]) -> tuple[object, ...]:
    key: list[object] = []
    for part in group_by:
        if part == "host":
            key.append(snapshot.hostname)
        elif part == "paths":
            key.append(tuple(sorted(snapshot.paths)))
        elif part == "tags":
            key.append(tuple(sorted(snapshot.tags)))
        else:
            raise InvalidInput(f"unknown grouping {part!r} (host, paths, tags)")
    return tuple(key)


def forget(
    repo: Repository,
    policy: RetentionPolicy,
    *,
    group_by: tuple[str, ...] = ("host", "paths"),
    hostname: str | None = None,
    tags: list[str] | None = None,
    dry_run: bool = False,
) -> list[tuple[tuple[object, ...], Decision]]:
    """Apply a policy and remove the snapshot files it does not keep (unless dry run).

    Removing snapshot files is safe while backups run; the data stays until `prune`.
    """
    groups: dict[tuple[object, ...], list[Snapshot]] = {}
    for s in repo.list_snapshots():
        if hostname is not None and s.hostname != hostname:
            continue
        if tags and not set(tags) <= set(s.tags):
            continue
        groups.setdefault(group_key(s, group_by), []).append(s)
    results = []
    for key, members in sorted(groups.items(), key=lambda kv: repr(kv[0])):
        decision = apply_policy(members, policy)
        if not dry_run:
            for s in decision.remove:
                repo.backend.delete(FileKind.SNAPSHOTS, s.id.hex())
        results.append((key, decision))
    return results
