"""``infogerance agent …``: enroll, run, once, backup, drill, status.

Also runnable alone as ``python -m infogerance.agent`` (same sub-commands). Exit codes: 0 ok,
1 error with one clear line on standard error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from infogerance.agent import AGENT_VERSION, AgentError

logger = logging.getLogger("infogerance.agent")

Handler = Callable[[argparse.Namespace], int]


def _fail(message: str) -> int:
    print(f"infogerance agent: {message}", file=sys.stderr)
    return 1


def _guard(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except AgentError as exc:
            return _fail(str(exc))
        except KeyboardInterrupt:
            return 130

    return run


def _setup_logging(verbose: bool, default: int = logging.WARNING) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else default,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


# --- commands -----------------------------------------------------------------------------


def cmd_enroll(args: argparse.Namespace) -> int:
    from infogerance.agent.client import default_config_path, enroll, save_config
    from infogerance.agent.collect import enrolment_identity

    _setup_logging(args.verbose)
    token = args.token or os.environ.get("INFOGERANCE_AGENT_TOKEN")
    if not token:
        return _fail("an enrolment token is needed: --token T (or INFOGERANCE_AGENT_TOKEN)")
    if args.insecure and args.ca_file:
        return _fail("--insecure and --ca-file contradict each other: choose one")
    if args.server.strip().lower().startswith("http://"):
        print(
            "infogerance agent: warning: http:// sends the credential in clear; use https://",
            file=sys.stderr,
        )
    if args.insecure:
        print(
            "infogerance agent: warning: --insecure turns off TLS verification: anyone on the "
            "path can impersonate the server",
            file=sys.stderr,
        )
    path = Path(args.config) if args.config else default_config_path()
    config = enroll(
        args.server,
        token,
        identity=enrolment_identity(),
        ca_file=args.ca_file,
        verify_tls=not args.insecure,
        timeout=args.timeout,
    )
    replaced = path.exists()
    try:
        save_config(path, config)
    except OSError as exc:
        raise AgentError(
            f"enrolled as agent {config.agent_id}, but cannot write {path}: "
            f"{exc.strerror or exc}; enrol again with a writable --config"
        ) from None
    where = f"asset {config.asset_id}" if config.asset_id is not None else "no asset yet"
    client = f", client {config.client}" if config.client else ""
    print(f"enrolled as agent {config.agent_id} ({where}{client})")
    print(
        f"configuration written to {path}"
        + (" (the previous identity was replaced)" if replaced else "")
    )
    return 0


def _spool(args: argparse.Namespace) -> Any:
    from infogerance.agent.client import default_spool_path
    from infogerance.agent.spool import Spool

    return Spool(Path(args.spool) if args.spool else default_spool_path())


def _synchronise(delivery: Any) -> None:
    """Best effort: an unreachable server must not keep the agent from starting."""
    from infogerance.agent.client import AuthError

    try:
        delivery.synchronise()
    except AuthError:
        raise
    except AgentError as exc:
        logger.warning("cannot ask the server for its last sequence: %s", exc)


def cmd_run(args: argparse.Namespace) -> int:
    from infogerance.agent.client import AuthError, Delivery, default_config_path, load_config
    from infogerance.agent.runner import Intervals, Runner

    _setup_logging(args.verbose, logging.INFO)
    config = load_config(Path(args.config) if args.config else default_config_path())
    spool = _spool(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d received: stopping", signum)
        stop.set()

    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)
    intervals = Intervals(
        heartbeat=float(config.heartbeat_seconds), inventory=float(config.inventory_seconds)
    )
    with spool.lock():
        logger.info(
            "agent %s %s running: server %s, spool %s (%d queued)",
            config.agent_id,
            AGENT_VERSION,
            config.server,
            spool.directory,
            len(spool),
        )
        delivery = Delivery(config, spool, should_stop=stop.is_set)
        runner = Runner(spool, delivery, intervals=intervals, stop=stop)
        try:
            _synchronise(delivery)
            runner.run()
        except AuthError as exc:
            return _fail(str(exc))
    logger.info("stopped; %d reports queued", len(spool))
    return 0


def cmd_once(args: argparse.Namespace) -> int:
    from infogerance.agent.collect import collect_inventory
    from infogerance.agent.perf import short_sample
    from infogerance.agent.protocol import make_report

    _setup_logging(args.verbose)
    collected_at = time.time()
    inventory = collect_inventory(command_timeout=args.timeout)
    performance = short_sample(args.perf_seconds) if args.perf_seconds > 0 else None
    if args.print:
        reports = [make_report("inventory", 1, inventory, collected_at)]
        if performance is not None:
            reports.append(make_report("performance", 2, performance, time.time()))
        indent = 2 if args.pretty else None
        json.dump({"reports": reports}, sys.stdout, indent=indent, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from infogerance.agent.client import (
        Delivery,
        TransientError,
        default_config_path,
        deliver_with_retries,
        load_config,
    )

    config = load_config(Path(args.config) if args.config else default_config_path())
    spool = _spool(args)
    with spool.lock():
        delivery = Delivery(config, spool)
        _synchronise(delivery)
        spool.adopt_incoming()  # left by `agent backup` or `agent drill`
        spool.add("inventory", inventory, collected_at)
        if performance is not None:
            spool.add("performance", performance, time.time())
        try:
            delivered = deliver_with_retries(delivery, attempts=3)
        except TransientError as exc:
            raise AgentError(
                f"{exc}; {len(spool)} reports wait in {spool.directory} for `agent run`"
            ) from None
    print(f"delivered {delivered} reports; {len(spool)} still queued")
    return 0


def _report_outcome(args: argparse.Namespace, outcome: Any, config: Any) -> int:
    """Print what the engine did, queue and deliver its report; the exit code."""
    from infogerance.agent.backups import report
    from infogerance.agent.client import AuthError, default_spool_path

    print(outcome.summary)
    for line in outcome.problems:
        print(line, file=sys.stderr)
    spool_dir = Path(args.spool) if args.spool else default_spool_path()
    try:
        reported = report(config, spool_dir, outcome)
    except AuthError as exc:
        _fail(f"{exc}; the report waits in {spool_dir}")
        return 1
    if reported.fate == "refused":
        _fail(reported.message)
        return 1
    if reported.fate == "waiting":
        print(f"infogerance agent: {reported.message}", file=sys.stderr)
    else:  # delivered, or handed to `agent run`: nothing to worry about (cron mails stderr)
        print(reported.message)
    return 0 if outcome.ok else 1


def _repository_access(args: argparse.Namespace) -> tuple[Any, str, str, Path] | int:
    """The agent's configuration, the repository's location and password, and the spool of
    a backup or drill command; or its exit code when the repository arguments are wrong."""
    from infogerance.agent.backups import read_password, repository_location
    from infogerance.agent.client import default_config_path, default_spool_path, load_config
    from infogerance.backup.errors import BackupError

    _setup_logging(args.verbose)
    config = load_config(Path(args.config) if args.config else default_config_path())
    try:
        location = repository_location(args.repo)
        password = read_password(args.password_file)
    except BackupError as exc:
        return _fail(str(exc))
    return config, location, password, Path(args.spool) if args.spool else default_spool_path()


def cmd_backup(args: argparse.Namespace) -> int:
    from infogerance.agent.backups import run_backup

    access = _repository_access(args)
    if isinstance(access, int):
        return access
    config, location, password, spool_dir = access
    outcome = run_backup(
        location,
        password,
        args.paths,
        spool_dir=spool_dir,
        scope=args.scope,
        tags=args.tag,
        excludes=args.exclude,
        hostname=args.host,
        verification=args.verify,
    )
    return _report_outcome(args, outcome, config)


def cmd_drill(args: argparse.Namespace) -> int:
    from infogerance.agent.backups import run_drill

    access = _repository_access(args)
    if isinstance(access, int):
        return access
    config, location, password, spool_dir = access
    outcome = run_drill(
        location,
        password,
        args.snapshot,
        spool_dir=spool_dir,
        scratch=args.scratch,
        include=args.include,
        keep=args.keep,
    )
    return _report_outcome(args, outcome, config)


def _known_repositories(spool_dir: Path) -> dict[str, str]:
    from infogerance.agent.backups import known_repositories

    return known_repositories(spool_dir)


def cmd_status(args: argparse.Namespace) -> int:
    from infogerance.agent.client import default_config_path, load_config

    path = Path(args.config) if args.config else default_config_path()
    status: dict[str, Any] = {"version": AGENT_VERSION, "config": str(path)}
    enrolled = True
    try:
        config = load_config(path)
        status.update(
            server=config.server,
            agent_id=config.agent_id,
            asset_id=config.asset_id,
            client=config.client,
            verify_tls=config.verify_tls,
            ca_file=config.ca_file,
            heartbeat_seconds=config.heartbeat_seconds,
            inventory_seconds=config.inventory_seconds,
        )
    except AgentError as exc:
        enrolled = False
        status["error"] = str(exc)
    spool = _spool(args)
    status["spool"] = spool.summary()
    status["backup_repositories"] = _known_repositories(spool.directory)
    for key in ("last_delivery_at", "last_delivered_sequence", "last_error", "last_error_at"):
        status[key] = spool.state.get(key)
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(f"agent {AGENT_VERSION}")
        print(f"configuration: {path}" + ("" if enrolled else " (not enrolled)"))
        if enrolled:
            tls = "TLS off (--insecure)" if not status["verify_tls"] else "TLS verified"
            if status["server"].startswith("http://"):
                tls = "plain HTTP, not encrypted"
            elif status["ca_file"]:
                tls += f" against {status['ca_file']}"
            print(f"server: {status['server']} ({tls})")
            print(f"agent: {status['agent_id']}, asset {status['asset_id']}", end="")
            print(f", client {status['client']}")
        s = status["spool"]
        kinds = ", ".join(f"{n} {k}" for k, n in s["by_kind"].items())
        print(f"spool: {s['directory']}: {s['reports']} queued ({kinds}), {s['bytes']} bytes")
        if s["incoming"]:
            print(f"incoming: {s['incoming']} (left by agent backup/drill, not yet queued)")
        print(f"rejected: {s['rejected']}; dropped: {s['dropped'] or 'none'}", end="")
        print(f"; last sequence {s['sequence']}")
        print(f"last delivery: {status['last_delivery_at'] or 'never'}")
        for location, repository_id in status["backup_repositories"].items():
            print(f"backup repository {location}: id {repository_id}")
        if status["last_error"]:
            print(f"last error ({status['last_error_at']}): {status['last_error']}")
        if not enrolled:
            print(status["error"], file=sys.stderr)
    return 0 if enrolled else 1


# --- parser -------------------------------------------------------------------------------


def _verification(text: str) -> tuple[str, tuple[int, int] | None]:
    from infogerance.agent.backups import parse_verification

    return parse_verification(text)


def _add_commands(agent: argparse.ArgumentParser) -> None:
    def usage(args: argparse.Namespace) -> int:
        agent.print_help(sys.stderr)
        return 1

    agent.set_defaults(func=usage)
    actions = agent.add_subparsers(dest="agent_command", metavar="ACTION")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=_guard(handler))
        p.add_argument("-v", "--verbose", action="store_true", help="log details on stderr")
        return p

    def config_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            metavar="PATH",
            help="configuration file (default /etc/infogerance-agent/agent.json as root, "
            "else ~/.config/infogerance-agent/agent.json)",
        )

    def spool_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--spool",
            metavar="DIR",
            help="queue directory (default /var/lib/infogerance-agent/spool as root, "
            "else ~/.local/state/infogerance-agent/spool)",
        )

    p = add("enroll", cmd_enroll, "exchange an enrolment token for this machine's credential")
    p.add_argument("--server", required=True, metavar="URL", help="the platform, https://…")
    p.add_argument("--token", metavar="T", help="enrolment token (or INFOGERANCE_AGENT_TOKEN)")
    config_option(p)
    p.add_argument("--ca-file", metavar="F", help="PEM file of a private certificate authority")
    p.add_argument(
        "--insecure", action="store_true", help="do not verify the server's TLS certificate"
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")

    p = add("run", cmd_run, "collect and deliver until stopped (SIGTERM, SIGINT)")
    config_option(p)
    spool_option(p)

    p = add("once", cmd_once, "collect an inventory and a performance sample once")
    p.add_argument(
        "--print",
        action="store_true",
        help="print the reports as JSON instead of sending them (no server, no enrolment)",
    )
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.add_argument(
        "--perf-seconds", type=float, default=2.0, help="length of the performance sample (2)"
    )
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per external command (20)")
    config_option(p)
    spool_option(p)

    def backup_options(p: argparse.ArgumentParser) -> None:
        config_option(p)
        spool_option(p)
        p.add_argument(
            "--repo",
            "-r",
            metavar="PATH|s3:…",
            help="the repository (or INFOGERANCE_BACKUP_REPOSITORY)",
        )
        p.add_argument(
            "--password-file",
            metavar="FILE",
            help="file whose first line is the repository's password (or "
            "INFOGERANCE_BACKUP_PASSWORD_FILE)",
        )

    p = add("backup", cmd_backup, "back up paths and report the run to the platform")
    backup_options(p)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--tag", action="append", default=[], help="tag the snapshot (repeatable)")
    p.add_argument(
        "--exclude", action="append", default=[], metavar="P", help="glob of names/paths to skip"
    )
    p.add_argument("--host", help="host name recorded in the snapshot (default: this machine's)")
    p.add_argument(
        "--scope",
        metavar="NAME",
        help="what the platform calls this backup (default: the paths, joined by spaces)",
    )
    p.add_argument(
        "--verify",
        metavar="TIER",
        type=_verification,
        help="then verify the repository: structure, all, or a subset n/m or rolling/m",
    )

    p = add("drill", cmd_drill, "restore drill: restore, compare every file, report the result")
    backup_options(p)
    p.add_argument(
        "snapshot", nargs="?", default="latest", help="snapshot ID, prefix or 'latest' (default)"
    )
    p.add_argument(
        "--scratch",
        metavar="DIR",
        help="empty or absent directory to restore into (default: a new private directory "
        "in $TMPDIR, else /var/tmp)",
    )
    p.add_argument("--include", metavar="PATH", help="drill on this path of the snapshot only")
    p.add_argument("--keep", action="store_true", help="keep the restored copy")

    p = add("status", cmd_status, "configuration, queue and last delivery")
    config_option(p)
    spool_option(p)
    p.add_argument("--json", action="store_true", help="print as JSON")


def add_parser(subparsers: Any) -> None:
    """Register ``agent`` on the ``infogerance`` command's sub-parsers."""
    help_text = "the agent that inventories a machine and reports to the platform"
    agent = subparsers.add_parser("agent", help=help_text, description=help_text)
    _add_commands(agent)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infogerance agent",
        description="The agent that inventories a machine and reports to the platform.",
    )
    parser.add_argument("--version", action="version", version=f"infogerance-agent {AGENT_VERSION}")
    _add_commands(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
