"""The backup engine against restic (and borg where installed) on one generated data set.

Generates once into `benchmarks/.data/backup-<size>/source` (reused afterwards) a data set
of about `--size` MiB (default 2048): incompressible files (50 %), compressible log files
(40 %) and many small files (20,000 at the default size, scaled with it). Then, same
machine, same run, interleaving the tools operation by operation so that both meet the same
load: full backup, unchanged re-run, re-run after changing 5 % of the data, full restore
(into a fresh directory), full verification (`infogerance backup verify --read-data` vs
`restic check --read-data`). Each command runs under `/usr/bin/time` (start-up and key
derivation included): wall time, CPU time (user + system, children included), peak RSS,
throughput over the size of the data set, and the repository sizes. Our engine starts
sealing processes for small files: the peak RSS counted is the tool's own peak plus the
peak of each of its child processes (sampled from /proc while it runs), an upper bound
of what they held together.

restic runs as its users run it: with its local cache (in a directory of its own, emptied
before the run), since the cache is part of what makes its re-runs fast; our engine has no
cache. One more line gives restic's unchanged re-run with `--no-cache` for comparison.
Both tools use the same password and local repositories on the same disk. Every command
starts after a `sync` (untimed), and the restored copies are deleted only after both
restores, so that neither tool pays for the other's writes.

On a virtual machine the same command's wall time can vary by half from one run to the
next (writing into memory the host has not backed yet, reclaiming the page cache), so
everything runs `--runs` times (default 3) on new repositories, the tool going first
alternating, and the median run is reported with the fastest and the slowest.

Usage: .venv/bin/python benchmarks/bench_backup.py [--size 2048] [--runs 3] [--write]
       .venv/bin/python benchmarks/bench_backup.py --size 256      # a quick run
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
PASSWORD = "benchmark-password-2026"
MIB = 1024 * 1024
SEED = 20261128
CHANGE_FRACTION = 0.05
TIME = "/usr/bin/time"


# -- the data set ----------------------------------------------------------------------
WORDS = [
    w.ljust(10).encode()
    for w in (
        "GET",
        "POST",
        "PUT",
        "DELETE",
        "request",
        "response",
        "timeout",
        "retry",
        "user",
        "session",
        "login",
        "logout",
        "cache",
        "miss",
        "hit",
        "backend",
        "frontend",
        "db",
        "query",
        "slow",
        "fast",
        "ok",
        "error",
        "warning",
        "failed",
        "success",
        "disk",
        "memory",
        "cpu",
        "network",
        "latency",
        "bytes",
        "sent",
        "received",
        "client",
        "server",
        "proxy",
        "token",
        "expired",
        "renewed",
        "job",
        "queued",
        "started",
        "finished",
        "worker",
        "thread",
        "lock",
        "acquired",
        "released",
        "commit",
        "rollback",
        "index",
        "scan",
        "ticket",
        "invoice",
        "contract",
        "report",
        "mail",
        "smtp",
        "dns",
        "tls",
        "handshake",
        "upload",
        "download",
    )
]
LEVELS = [b"INFO ", b"DEBUG", b"WARN ", b"ERROR"]


def log_bytes(rng: np.random.Generator, size: int, first_line: int) -> bytes:
    """Log lines of about 100 bytes: compressible like real logs, never repeated."""
    n = size // 100 + 1
    seq = np.arange(first_line, first_line + n, dtype=np.int64)
    digits = (seq[:, None] // (10 ** np.arange(9, -1, -1, dtype=np.int64))) % 10 + 48
    host = rng.integers(0, 100, n)
    words = np.frombuffer(b"".join(WORDS), dtype=np.uint8).reshape(len(WORDS), 10)
    levels = np.frombuffer(b"".join(LEVELS), dtype=np.uint8).reshape(len(LEVELS), 5)
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    parts = [
        np.broadcast_to(np.frombuffer(b"2026-11-28 ", np.uint8), (n, 11)),
        digits.astype(np.uint8),
        np.broadcast_to(np.frombuffer(b" host", np.uint8), (n, 5)),
        (np.stack([host // 10, host % 10], axis=1) + 48).astype(np.uint8),
        np.full((n, 1), 32, np.uint8),
        levels[rng.choice(4, n, p=[0.7, 0.15, 0.1, 0.05])],
        np.full((n, 1), 32, np.uint8),
        words[rng.integers(0, len(WORDS), (n, 6))].reshape(n, 60),
        np.broadcast_to(np.frombuffer(b" id=", np.uint8), (n, 4)),
        hexdigits[rng.integers(0, 16, (n, 8))],
        np.full((n, 1), 10, np.uint8),
    ]
    return np.concatenate(parts, axis=1).tobytes()[:size]


@dataclasses.dataclass
class Dataset:
    root: Path
    random_files: list[Path]
    log_files: list[Path]
    small_files: list[Path]

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.random_files + self.log_files + self.small_files)

    @property
    def files(self) -> int:
        return len(self.random_files) + len(self.log_files) + len(self.small_files)


def layout(root: Path, size_mib: int) -> Dataset:
    scale = size_mib / 2048
    n_random = max(2, round(16 * scale))
    n_logs = max(2, round(8 * scale))
    n_small = max(500, round(20_000 * scale))
    return Dataset(
        root,
        [root / "images" / f"blob-{i:02d}.bin" for i in range(n_random)],
        [root / "logs" / f"app-{i:02d}.log" for i in range(n_logs)],
        [root / "small" / f"d{i % 200:03d}" / f"f{i:05d}.txt" for i in range(n_small)],
    )


def generate(root: Path, size_mib: int) -> Dataset:
    data = layout(root, size_mib)
    if (root / ".complete").exists():
        return data
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    total = size_mib * MIB
    small_total = min(total // 20, len(data.small_files) * 5000)  # 5 KB on average
    random_each = int(total * 0.5) // len(data.random_files)
    logs_each = (total - small_total - random_each * len(data.random_files)) // len(data.log_files)
    for path in data.random_files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.bytes(random_each))
    line = 0
    for path in data.log_files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(log_bytes(rng, logs_each, line))
        line += logs_each // 100 + 1
    text = log_bytes(rng, 4 * MIB, 10**9)
    sizes = rng.integers(200, 9800, len(data.small_files))
    for i, (path, n) in enumerate(zip(data.small_files, sizes, strict=True)):
        path.parent.mkdir(parents=True, exist_ok=True)
        if i % 4 == 0:  # a quarter of them incompressible (images, archives)
            path.write_bytes(rng.bytes(int(n)))
        else:
            start = int(rng.integers(0, len(text) - int(n)))
            path.write_bytes(text[start : start + int(n)])
    (root / ".complete").write_text("")
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return data


def change_plan(data: Dataset) -> list[tuple[Path, str]]:
    """About 5 % of the bytes: ranges overwritten in incompressible files, lines appended
    to logs, 5 % of the small files rewritten (the same plan every run)."""
    rng = random.Random(SEED)
    plan = [(p, "overwrite") for p in data.random_files]
    plan += [(p, "append") for p in data.log_files]
    plan += [(p, "rewrite") for p in rng.sample(data.small_files, len(data.small_files) // 20)]
    return plan


def apply_change(data: Dataset, saved: Path) -> int:
    """Change the data set (originals kept in `saved` to undo it); bytes changed."""
    rng = np.random.default_rng(SEED + 1)
    changed = 0
    for i, (path, how) in enumerate(change_plan(data)):
        keep = saved / f"{i:06d}"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, keep)
        size = path.stat().st_size
        if how == "overwrite":  # 5 ranges of 1 % each, in place
            with open(path, "r+b") as f:
                for k in range(5):
                    f.seek(int(size * (0.1 + 0.18 * k)))
                    f.write(rng.bytes(size // 100))
            changed += 5 * (size // 100)
        elif how == "append":
            with open(path, "ab") as f:
                f.write(log_bytes(rng, size // 20, 2 * 10**9 + i * 10**7))
            changed += size // 20
        else:
            path.write_bytes(rng.bytes(size))
            changed += size
    return changed


def undo_change(data: Dataset, saved: Path) -> None:
    if not saved.exists():
        return
    for i, (path, _how) in enumerate(change_plan(data)):
        keep = saved / f"{i:06d}"
        if keep.exists():
            shutil.copy2(keep, path)
    shutil.rmtree(saved)


# -- running the tools -----------------------------------------------------------------
@dataclasses.dataclass
class Measure:
    wall: float
    cpu: float
    rss: int  # bytes
    output: str
    walls: tuple[float, ...] = ()  # with --runs: every run's wall time


def median(measures: list[Measure]) -> Measure:
    """The median run by wall time, with its CPU time; the peak RSS is the largest of all."""
    chosen = sorted(measures, key=lambda m: m.wall)[(len(measures) - 1) // 2]
    return Measure(
        chosen.wall,
        chosen.cpu,
        max(m.rss for m in measures),
        chosen.output,
        tuple(m.wall for m in measures),
    )


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _peak_rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class ChildrenPeak:
    """The peak RSS of each process below the tool (not the tool itself), sampled.

    A process's VmHWM is already its peak: the last value read is kept, not the largest,
    since a child read between fork and exec shows its parent's memory (shared, not its own).
    """

    def __init__(self, time_pid: int) -> None:
        self.time_pid = time_pid
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            tools = _children(self.time_pid)
            stack = [c for tool in tools for c in _children(tool)]
            while stack:
                pid = stack.pop()
                self.peaks[pid] = _peak_rss_kib(pid) or self.peaks.get(pid, 0)
                stack += _children(pid)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return sum(self.peaks.values()) * 1024


def timed(cmd: list[str], env: dict[str, str], label: str) -> Measure:
    stats = DATA / "time.txt"
    full = [TIME, "-o", str(stats), "-f", "%e %U %S %M", *cmd]
    # Written back first, untimed: no command pays for the dirty pages of the one before.
    os.sync()
    process = subprocess.Popen(
        full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    children = ChildrenPeak(process.pid)
    stdout, stderr = process.communicate()
    children_rss = children.stop()
    if process.returncode != 0:
        raise SystemExit(f"{label} failed ({process.returncode}):\n{stdout}\n{stderr}")
    wall, user, system, rss_kib = stats.read_text().split()[-4:]
    # %M is the tool's peak (or its largest child's): add each child's own peak.
    rss = int(rss_kib) * 1024 + children_rss
    m = Measure(float(wall), float(user) + float(system), rss, stdout)
    print(
        f"  {label:44} {m.wall:7.1f} s wall {m.cpu:7.1f} s CPU {m.rss / MIB:6.0f} MiB RSS",
        flush=True,
    )
    return m


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


class Ours:
    name = "infogerance"

    def __init__(self, work: Path) -> None:
        self.work = work
        self.repo = work / "repo-infogerance"
        self.env = {**os.environ, "INFOGERANCE_BACKUP_PASSWORD": PASSWORD}
        self.exe = str(ROOT / ".venv" / "bin" / "infogerance")

    def cmd(self, *args: str) -> list[str]:
        return [self.exe, "backup", args[0], "--repo", str(self.repo), *args[1:]]

    def init(self, run: int) -> None:
        self.repo = self.work / f"repo-infogerance-{run}"
        subprocess.run(self.cmd("init"), env=self.env, check=True, capture_output=True)

    def backup(self, source: Path, label: str) -> Measure:
        return timed(self.cmd("run", str(source)), self.env, f"{self.name} {label}")

    def restore(self, target: Path) -> Measure:
        return timed(
            self.cmd("restore", "latest", "--target", str(target)), self.env, f"{self.name} restore"
        )

    def verify(self) -> Measure:
        return timed(self.cmd("verify", "--read-data"), self.env, f"{self.name} verify --read-data")


class Restic:
    name = "restic"

    def __init__(self, work: Path) -> None:
        self.work = work
        self.repo = work / "repo-restic"
        self.env = {**os.environ, "RESTIC_PASSWORD": PASSWORD}
        self.exe = shutil.which("restic") or "restic"

    def init(self, run: int) -> None:
        self.repo = self.work / f"repo-restic-{run}"
        cache = self.work / f"restic-cache-{run}"  # a new, empty cache with each repository
        self.env.update(RESTIC_REPOSITORY=str(self.repo), RESTIC_CACHE_DIR=str(cache))
        subprocess.run(
            [self.exe, "init", "--repository-version", "2"],
            env=self.env,
            check=True,
            capture_output=True,
        )

    def backup(self, source: Path, label: str, *extra: str) -> Measure:
        return timed([self.exe, "backup", *extra, str(source)], self.env, f"{self.name} {label}")

    def restore(self, target: Path) -> Measure:
        return timed(
            [self.exe, "restore", "latest", "--target", str(target)],
            self.env,
            f"{self.name} restore",
        )

    def verify(self) -> Measure:
        return timed([self.exe, "check", "--read-data"], self.env, f"{self.name} check --read-data")


Tool = Ours | Restic


def version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2048, help="data set size in MiB")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of every operation (the median is shown)"
    )
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    if not shutil.which("restic"):
        raise SystemExit("restic is not installed (apt-get install restic)")
    borg = shutil.which("borg")
    base = DATA / f"backup-{args.size}"
    print(f"Data set of {args.size} MiB in {base}/source", flush=True)
    data = generate(base / "source", args.size)
    saved = base / "originals"
    undo_change(data, saved)  # a previous run interrupted after its change
    work = base / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    data_bytes, data_files = data.bytes, data.files
    print(f"  {data_bytes / MIB:,.0f} MiB in {data_files:,} files", flush=True)
    load_before = os.getloadavg()
    tools = (Ours(work), Restic(work))
    runs: dict[str, dict[str, list[Measure]]] = {t.name: {} for t in tools}
    no_cache: list[Measure] = []
    sizes: dict[str, dict[str, int]] = {t.name: {} for t in tools}
    started = time.perf_counter()
    try:
        for run in range(args.runs):
            # Which tool goes first alternates from one run to the next.
            order = tools if run % 2 == 0 else tools[::-1]
            print(f"  run {run + 1} of {args.runs}", flush=True)

            def measure(
                key: str, action: Callable[[Tool], Measure], order: tuple[Tool, ...] = order
            ) -> None:
                for tool in order:
                    runs[tool.name].setdefault(key, []).append(action(tool))

            for tool in order:
                tool.init(run)
            measure("full", lambda t: t.backup(data.root, "full backup"))
            for tool in tools:
                sizes[tool.name]["full"] = dir_size(tool.repo)
            measure("unchanged", lambda t: t.backup(data.root, "unchanged re-run"))
            restic = tools[1]
            assert isinstance(restic, Restic)
            no_cache.append(restic.backup(data.root, "unchanged re-run --no-cache", "--no-cache"))
            changed = apply_change(data, saved)
            print(f"  changed {changed / MIB:,.0f} MiB ({changed / data_bytes:.1%})", flush=True)
            try:
                measure("changed", lambda t: t.backup(data.root, "re-run after 5 % change"))
            finally:
                undo_change(data, saved)
            for tool in tools:
                sizes[tool.name]["end"] = dir_size(tool.repo)

            # The restored copies are removed only once both are made: creating files right
            # after deleting thousands costs ext4 a search past the recently freed inodes, a
            # cost the second tool alone would pay.
            def restore(tool: Tool, run: int = run) -> Measure:
                return tool.restore(work / f"restore-{tool.name}-{run}")

            measure("restore", restore)
            measure("verify", lambda t: t.verify())
            for tool in tools:
                shutil.rmtree(work / f"restore-{tool.name}-{run}")
                if run < args.runs - 1:
                    shutil.rmtree(tool.repo)
    finally:
        undo_change(data, saved)
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    shutil.rmtree(work)

    results = {name: {k: median(v) for k, v in ops.items()} for name, ops in runs.items()}
    restic_no_cache = median(no_cache)
    ours, theirs = results["infogerance"], results["restic"]

    def rate(m: Measure) -> float:
        return data_bytes / MIB / m.wall

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    peak = max(m.rss for ops in runs["infogerance"].values() for m in ops)
    size_ratio = sizes["infogerance"]["full"] / sizes["restic"]["full"]
    targets = [
        (
            "full backup throughput ≥ 1.3× restic's",
            f"{rate(ours['full']):.1f} vs {rate(theirs['full']):.1f} MiB/s "
            f"({rate(ours['full']) / rate(theirs['full']):.2f}×)",
            rate(ours["full"]) >= 1.3 * rate(theirs["full"]),
        ),
        (
            "full restore throughput ≥ restic's",
            f"{rate(ours['restore']):.1f} vs {rate(theirs['restore']):.1f} MiB/s "
            f"({rate(ours['restore']) / rate(theirs['restore']):.2f}×)",
            rate(ours["restore"]) >= rate(theirs["restore"]),
        ),
        (
            "unchanged re-run no slower than restic's",
            f"{ours['unchanged'].wall:.1f} vs {theirs['unchanged'].wall:.1f} s",
            ours["unchanged"].wall <= theirs["unchanged"].wall,
        ),
        (
            "repository size within 3 % of restic's",
            f"{sizes['infogerance']['full'] / MIB:,.1f} vs "
            f"{sizes['restic']['full'] / MIB:,.1f} MiB ({size_ratio - 1:+.1%})",
            abs(size_ratio - 1) <= 0.03,
        ),
        ("peak memory ≤ 256 MiB", f"{peak / MIB:.0f} MiB", peak <= 256 * MIB),
    ]
    names = {
        "full": "full backup",
        "unchanged": "unchanged re-run",
        "changed": "re-run after changing 5 %",
        "restore": "full restore",
        "verify": "full verify (`verify --read-data` / `check --read-data`)",
    }
    lines = [
        f"### Backup engine against restic ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()})",
        "",
        f"`benchmarks/bench_backup.py --size {args.size}`: {data_bytes / MIB:,.0f} MiB in "
        f"{data_files:,} files (50 % incompressible, 40 % generated logs, "
        f"{len(data.small_files):,} small files), page cache warm, local repositories on the same "
        f"disk, same password; {version([shutil.which('restic') or 'restic', 'version'])}, "
        "with its local cache (ours has none); each command timed whole by `/usr/bin/time` "
        "(start-up and key derivation included), after a `sync`, the tools interleaved "
        f"operation by operation; {args.runs} run(s) of everything, each on new repositories, "
        "the tool going first alternating: the median run's wall time [the fastest and "
        "slowest runs], its throughput and CPU time, and the highest peak RSS of all runs. "
        f"Load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"({elapsed / 60:.0f} min): "
        + (
            "**the machine was busy with other work, so wall times are noisy; CPU times are "
            "steadier.**"
            if max(load_before[0], load_after[0]) > 1.5
            else "the machine was otherwise quiet."
        )
        + (
            f" borg: {version([borg, '--version'])} (not run yet)."
            if borg
            else " borg is not installed on this machine, so it is not measured."
        ),
        "",
        "| operation | infogerance: wall, CPU, peak RSS | restic: wall, CPU, peak RSS |",
        "|---|---|---|",
    ]

    def cell(m: Measure) -> str:
        spread = f" [{min(m.walls):.1f}–{max(m.walls):.1f}]" if len(m.walls) > 1 else ""
        return f"{m.wall:.1f} s{spread} ({rate(m):.1f} MiB/s), {m.cpu:.1f} s, {m.rss / MIB:.0f} MiB"

    for key, label in names.items():
        lines.append(f"| {label} | {cell(ours[key])} | {cell(theirs[key])} |")
    lines += [
        f"| unchanged re-run, restic `--no-cache` | | {cell(restic_no_cache)} |",
        f"| repository after the full backup | {sizes['infogerance']['full'] / MIB:,.1f} MiB | "
        f"{sizes['restic']['full'] / MIB:,.1f} MiB |",
        f"| repository after the three backups | {sizes['infogerance']['end'] / MIB:,.1f} MiB | "
        f"{sizes['restic']['end'] / MIB:,.1f} MiB |",
        "",
        "| target (issue 7) | figure | |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {figure} | {verdict(ok)} |" for name, figure, ok in targets]
    lines.append("")
    print("\n".join(lines))
    if args.write:
        write_section("### Backup engine against restic", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
