"""``infogerance backup …``: the command layer over the engine.

Sub-commands: ``init``, ``run``, ``snapshots``, ``ls``, ``restore``, ``drill``,
``verify``, ``forget``, ``prune``, ``unlock``. The repository comes from ``--repo`` (or
``INFOGERANCE_BACKUP_REPOSITORY``); the password from ``--password-file`` (or
``INFOGERANCE_BACKUP_PASSWORD_FILE``), else ``INFOGERANCE_BACKUP_PASSWORD``, as restic
reads ``RESTIC_PASSWORD_FILE`` and ``RESTIC_PASSWORD``. Progress goes to stderr when it is
a terminal. Exit status: 0 on success, 1 on any error (with a one-line message).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from .archiver import BackupStats, backup
from .backend import open_backend
from .errors import BackupError, InvalidInput
from .formats import Node, Snapshot
from .locks import locked
from .repository import Repository

# The modules of the other commands are imported by those commands: a backup, run every
# hour, should not pay for importing restore, check, drill, retention and prune.
if TYPE_CHECKING:
    from .restorer import RestoreStats

Handler = Callable[[argparse.Namespace], int]


class _Progress:
    """A throttled one-line status on stderr, only on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0
        self._started = time.monotonic()

    def show(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if force or now - self._last >= 0.2:
            self._last = now
            self.stream.write(f"\r\x1b[K[{now - self._started:6.1f}s] {text}"[:200])
            self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _mib(n: float) -> str:
    return f"{n / 1048576:.1f} MiB"


def _read_password(args: argparse.Namespace) -> str:
    path = args.password_file or os.environ.get("INFOGERANCE_BACKUP_PASSWORD_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                password = f.readline().rstrip("\r\n")
        except OSError as exc:
            raise InvalidInput(f"cannot read the password file {path}: {exc.strerror}") from exc
    else:
        password = os.environ.get("INFOGERANCE_BACKUP_PASSWORD", "")
    if not password:
        raise InvalidInput(
            "no password: use --password-file, INFOGERANCE_BACKUP_PASSWORD_FILE "
            "or INFOGERANCE_BACKUP_PASSWORD"
        )
    return password


def _location(args: argparse.Namespace) -> str:
    location = args.repo or os.environ.get("INFOGERANCE_BACKUP_REPOSITORY", "")
    if not location:
        raise InvalidInput("no repository: use --repo or INFOGERANCE_BACKUP_REPOSITORY")
    return str(location)


def _open(args: argparse.Namespace) -> Repository:
    return Repository.open(open_backend(_location(args)), _read_password(args))


def _time(snapshot: Snapshot) -> str:
    moment = dt.datetime.fromtimestamp(snapshot.time / 1e9, tz=dt.UTC).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# -- commands ---------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    repo = Repository.init(open_backend(_location(args)), _read_password(args))
    print(f"created repository {repo.id} at {repo.backend.location} (format version 2)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    repo = _open(args)
    progress = _Progress()

    def report(stats: BackupStats, path: str) -> None:
        progress.show(
            f"{stats.files} files, {_mib(stats.bytes_processed)} seen, "
            f"{_mib(stats.bytes_read)} read, {_mib(stats.bytes_added)} new: {path}"
        )

    parent: Snapshot | str | None = "auto"
    if args.no_parent:
        parent = None
    elif args.parent:
        parent = args.parent
    snapshot, stats = backup(
        repo,
        args.paths,
        tags=args.tag,
        hostname=args.host,
        parent=parent,
        progress=report if progress.enabled else None,
        excludes=args.exclude,
    )
    progress.done()
    rate = stats.bytes_read / stats.duration_s if stats.duration_s else 0.0
    print(
        f"snapshot {snapshot.short_id} saved: {stats.files} files "
        f"({stats.files_new} new, {stats.files_changed} changed, "
        f"{stats.files_unmodified} unmodified), {stats.dirs} directories, "
        f"{_mib(stats.bytes_processed)} processed, {_mib(stats.bytes_added)} added "
        f"({_mib(stats.pack_bytes_written)} stored) in {stats.duration_s:.1f}s "
        f"({_mib(rate)}/s read)"
    )
    if stats.errors:
        for error in stats.errors[:20]:
            print(f"warning: {error}", file=sys.stderr)
        print(
            f"infogerance: {len(stats.errors)} entries could not be read; "
            "the snapshot was saved without them",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    repo = _open(args)
    snapshots = repo.list_snapshots()
    if args.json:
        docs = [{**s.to_json_dict(), "id": s.id.hex(), "short_id": s.short_id} for s in snapshots]
        sys.stdout.write(orjson.dumps(docs).decode() + "\n")
        return 0
    print(f"{'ID':8}  {'Time':19}  {'Host':16}  {'Tags':16}  Paths")
    for s in snapshots:
        tags = ",".join(s.tags)[:16]
        paths = " ".join(s.paths)
        print(f"{s.short_id:8}  {_time(s):19}  {s.hostname[:16]:16}  {tags:16}  {paths}")
    print(f"{len(snapshots)} snapshots")
    return 0


def _walk(repo: Repository, tree_id: bytes, prefix: str) -> Any:
    for node in repo.load_tree(tree_id):
        path = f"{prefix}/{node.name}"
        yield path, node
        if node.type == "dir" and node.subtree is not None:
            yield from _walk(repo, node.subtree, path)


def _describe(path: str, node: Node, long: bool) -> str:
    if not long:
        return path
    moment = dt.datetime.fromtimestamp(node.mtime / 1e9, tz=dt.UTC).astimezone()
    extra = f" -> {node.linktarget}" if node.type == "symlink" else ""
    owner = node.user or str(node.uid)
    return (
        f"{node.type:7} {node.mode & 0o777:04o} {owner:>8} {node.size:>12} "
        f"{moment:%Y-%m-%d %H:%M:%S} {path}{extra}"
    )


def cmd_ls(args: argparse.Namespace) -> int:
    repo = _open(args)
    snapshot = repo.find_snapshot(args.snapshot)
    print(f"snapshot {snapshot.short_id} of {' '.join(snapshot.paths)} at {_time(snapshot)}:")
    tree = snapshot.tree
    prefix = ""
    if args.path and args.path.strip("/"):
        from .restorer import find_node

        parts, node = find_node(repo, snapshot.tree, args.path)
        prefix = "/" + "/".join(parts)
        assert node is not None
        print(_describe(prefix, node, args.long))
        if node.type != "dir" or node.subtree is None:
            return 0
        tree = node.subtree
    for path, node in _walk(repo, tree, prefix):
        print(_describe(path, node, args.long))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from .restorer import restore

    repo = _open(args)
    snapshot = repo.find_snapshot(args.snapshot)
    progress = _Progress()

    def report(stats: RestoreStats, path: str) -> None:
        progress.show(f"{stats.files} files, {_mib(stats.bytes_written)} written: {path}")

    # A lock tells a concurrent prune that this process may still read condemned packs.
    with contextlib.nullcontext() if args.no_lock else locked(repo):
        stats = restore(
            repo, snapshot, args.target, include=args.include, verify=args.verify, progress=report
        )
    progress.done()
    rate = stats.bytes_written / stats.duration_s if stats.duration_s else 0.0
    print(
        f"restored snapshot {snapshot.short_id} to {args.target}: {stats.files} files, "
        f"{stats.dirs} directories, {_mib(stats.bytes_written)} in {stats.duration_s:.1f}s "
        f"({_mib(rate)}/s)" + (f", {stats.blobs_verified} blobs verified" if args.verify else "")
    )
    if stats.errors:
        for error in stats.errors[:20]:
            print(f"warning: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    from .drill import restore_drill

    repo = _open(args)
    snapshot = repo.find_snapshot(args.snapshot)
    progress = _Progress()
    with locked(repo):
        report = restore_drill(
            repo,
            snapshot,
            args.scratch,
            include=args.include,
            keep=args.keep,
            progress=lambda stats, path: progress.show(f"{stats.files} files: {path}"),
        )
    progress.done()
    if args.json:
        sys.stdout.write(orjson.dumps(report.to_dict()).decode() + "\n")
    else:
        print(
            f"drill of snapshot {snapshot.short_id}: {report.files} files, {_mib(report.bytes)}, "
            f"restored in {report.restore_seconds:.1f}s (RTO), checked in "
            f"{report.check_seconds:.1f}s, snapshot age {report.snapshot_age_seconds:.0f}s (RPO), "
            f"manifest {report.manifest_sha256[:16]}: " + ("OK" if report.ok else "FAILED")
        )
        for path in report.missing:
            print(f"missing: {path}")
        for path in report.mismatched:
            print(f"different: {path}")
        for error in report.errors:
            print(f"error: {error}")
    return 0 if report.ok else 1


def _subset(text: str) -> tuple[int, int]:
    try:
        if text.startswith("rolling/"):
            m = int(text.split("/", 1)[1])
            n = (int(time.time()) // 86400) % m + 1
        else:
            left, right = text.split("/", 1)
            n, m = int(left), int(right)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid subset {text!r}: n/m or rolling/m") from None
    if not 1 <= n <= m <= 256:
        raise argparse.ArgumentTypeError("the subset must be n/m with 1 <= n <= m <= 256")
    return n, m


def cmd_verify(args: argparse.Namespace) -> int:
    from .check import verify

    repo = _open(args)
    progress = _Progress()
    tier = "all" if args.read_data else "subset" if args.read_subset else "structure"
    report = verify(
        repo,
        read=tier,
        subset=args.read_subset,
        progress=lambda phase, i, n: progress.show(f"{phase}: {i}/{n} packs"),
    )
    progress.done()
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    for path in report.affected_files:
        print(f"affected: {path}")
    print(
        f"{tier}: {report.snapshots} snapshots, {report.trees} trees, {report.packs} packs, "
        f"{report.packs_read} packs read ({_mib(report.bytes_read)}), {report.blobs_read} blobs "
        f"checked: " + ("no errors" if report.ok else f"{len(report.errors)} errors")
    )
    if not report.ok:
        print(f"infogerance: the repository has {len(report.errors)} errors", file=sys.stderr)
        return 1
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from .retention import Duration, RetentionPolicy, forget

    repo = _open(args)
    policy = RetentionPolicy(
        last=args.keep_last,
        hourly=args.keep_hourly,
        daily=args.keep_daily,
        weekly=args.keep_weekly,
        monthly=args.keep_monthly,
        yearly=args.keep_yearly,
        within=Duration.parse(args.keep_within) if args.keep_within else Duration(),
        keep_tags=tuple(args.keep_tag),
    )
    group_by = tuple(p for p in args.group_by.split(",") if p)
    results = forget(
        repo, policy, group_by=group_by, hostname=args.host, tags=args.tag, dry_run=args.dry_run
    )
    removed = 0
    for key, decision in results:
        print(f"group {key}: keep {len(decision.keep)}, remove {len(decision.remove)}")
        for s, reasons in decision.keep:
            print(f"  keep   {s.short_id}  {_time(s)}  ({', '.join(reasons)})")
        for s in decision.remove:
            print(f"  remove {s.short_id}  {_time(s)}")
        removed += len(decision.remove)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {removed} snapshots")
    if args.prune and not args.dry_run:
        return _prune(repo, args)
    return 0


def _prune(repo: Repository, args: argparse.Namespace) -> int:
    from .prune import prune
    from .retention import Duration

    delay = Duration.parse(args.delay)
    now = dt.datetime.now(dt.UTC)
    delay_ns = int((now - delay.before(now)).total_seconds() * 1e9)
    report = prune(repo, delay_ns=delay_ns, max_unused=args.max_unused / 100, dry_run=args.dry_run)
    for note in report.notes:
        print(note)
    print(
        f"prune: {report.packs_condemned} packs condemned, {report.packs_repacked} repacked, "
        f"{report.packs_deleted} deleted ({_mib(report.bytes_deleted)}), "
        f"{report.packs_resurrected} put back, {report.records_postponed} deletions postponed"
    )
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    return _prune(_open(args), args)


def cmd_unlock(args: argparse.Namespace) -> int:
    from .locks import remove_stale_locks

    repo = _open(args)
    removed = remove_stale_locks(repo, remove_all=args.remove_all)
    for info in removed:
        print(f"removed {info.describe()}")
    print(f"{len(removed)} locks removed")
    return 0


# -- parser -----------------------------------------------------------------------------
def _guard(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        # NumPy (the index) loads OpenBLAS, which starts a pool of threads that spin for a
        # while: 60 ms of wall and CPU time on 2 cores, a tenth of an unchanged backup. We do
        # no linear algebra. Set before NumPy is first imported (nothing here imports it
        # before a command runs); the process runs this one command only.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        try:
            return handler(args)
        except BackupError as exc:
            print(f"infogerance: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            name = f" {exc.filename}" if exc.filename else ""
            print(f"infogerance: {exc.strerror or exc}{name}", file=sys.stderr)
            return 1

    return run


def _prune_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--delay",
        default="1d",
        help="safety delay before condemned packs are deleted (e.g. 1d, 12h; default 1d)",
    )
    p.add_argument(
        "--max-unused",
        type=float,
        default=10.0,
        help="repack packs whose unused part exceeds this percentage (default 10)",
    )


def add_parser(subparsers: Any) -> None:
    """Register ``backup`` and its sub-commands on an argparse sub-parsers object."""
    top = subparsers.add_parser(
        "backup",
        help="backups in restic-compatible repositories (format version 2)",
        description="Back up, restore and verify repositories in the restic format, version 2.",
    )
    top.set_defaults(func=lambda a: (top.print_help(), 1)[1])
    sub = top.add_subparsers(dest="backup_command", metavar="ACTION")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--repo", "-r", help="repository location (INFOGERANCE_BACKUP_REPOSITORY)")
        p.add_argument("--password-file", help="file whose first line is the password")
        p.set_defaults(func=_guard(handler))
        return p

    add("init", cmd_init, "create a repository")

    p = add("run", cmd_run, "back up files and directories")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--tag", action="append", default=[], help="tag the snapshot (repeatable)")
    p.add_argument("--host", help="host name recorded in the snapshot")
    p.add_argument("--exclude", action="append", default=[], help="glob of names/paths to skip")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--parent", help="parent snapshot (default: the latest of host and paths)")
    group.add_argument("--no-parent", action="store_true", help="read every file")

    p = add("snapshots", cmd_snapshots, "list snapshots")
    p.add_argument("--json", action="store_true")

    p = add("ls", cmd_ls, "list the content of a snapshot")
    p.add_argument("snapshot", help="snapshot ID, prefix or 'latest'")
    p.add_argument("path", nargs="?", help="only below this path")
    p.add_argument("-l", "--long", action="store_true")

    p = add("restore", cmd_restore, "restore a snapshot (or a path in it) to a directory")
    p.add_argument("snapshot", help="snapshot ID, prefix or 'latest'")
    p.add_argument("--target", "-t", required=True, help="directory to restore into")
    p.add_argument("--include", help="restore only this path of the snapshot")
    p.add_argument("--verify", action="store_true", help="hash every blob again while restoring")
    p.add_argument("--no-lock", action="store_true", help="do not lock (read-only repositories)")

    p = add("drill", cmd_drill, "restore drill: restore, compare every file's SHA-256, time it")
    p.add_argument("snapshot", help="snapshot ID, prefix or 'latest'")
    p.add_argument("--scratch", required=True, help="empty or absent directory to restore into")
    p.add_argument("--include", help="drill on this path of the snapshot only")
    p.add_argument("--keep", action="store_true", help="keep the restored copy")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = add("verify", cmd_verify, "check the repository's structure and, optionally, its data")
    tier = p.add_mutually_exclusive_group()
    tier.add_argument("--read-data", action="store_true", help="read and check every pack")
    tier.add_argument(
        "--read-subset", type=_subset, metavar="n/m|rolling/m", help="read a subset of the packs"
    )

    p = add("forget", cmd_forget, "remove snapshots according to a retention policy")
    for unit in ("last", "hourly", "daily", "weekly", "monthly", "yearly"):
        p.add_argument(f"--keep-{unit}", type=int, default=0, metavar="N")
    p.add_argument("--keep-within", metavar="DURATION", help="e.g. 1y2m3d4h")
    p.add_argument("--keep-tag", action="append", default=[], metavar="TAG")
    p.add_argument("--group-by", default="host,paths", help="host,paths,tags (default host,paths)")
    p.add_argument("--host", help="only snapshots of this host")
    p.add_argument("--tag", action="append", default=[], help="only snapshots with this tag")
    p.add_argument("--dry-run", "-n", action="store_true")
    p.add_argument("--prune", action="store_true", help="then prune")
    _prune_options(p)

    p = add("prune", cmd_prune, "reclaim space (two-phase deletion with a safety delay)")
    p.add_argument("--dry-run", "-n", action="store_true")
    _prune_options(p)

    p = add("unlock", cmd_unlock, "remove stale locks")
    p.add_argument("--remove-all", action="store_true", help="remove every lock, even live ones")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``backup …`` on its own (for tests and scripts)."""
    parser = argparse.ArgumentParser(prog="infogerance")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 1
    return int(func(args))
