"""The ``infogerance`` command.

Configuration problems (a bad variable, an unreachable database) end with one clear line and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from infogerance import __version__

EXIT_CONFIG = 2
EXIT_USAGE = 2  # as argparse does


class CliError(Exception):
    """A user-facing error: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infogerance.settings")
    from infogerance.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        raise CliError(f"configuration error: {exc}", EXIT_CONFIG) from None
    from django.utils import translation

    # The command line speaks English (the web UI follows each person's language).
    translation.activate("en")


def setup_offline() -> None:
    """For the commands that only read files (``contract validate``, ``contract schema``,
    ``sla evaluate``): Django's translations and nothing else. No instance is needed, its
    configuration is not read and no application is loaded (a second less to start). Where
    Django is already set up (or ``DJANGO_SETTINGS_MODULE`` names settings), those are
    used."""
    from django.conf import settings

    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
        setup_django()
        return
    from pathlib import Path

    import django
    from django.utils import translation

    settings.configure(
        USE_I18N=True,
        USE_TZ=True,
        LANGUAGE_CODE="fr",
        LANGUAGES=[("fr", "Français"), ("en", "English")],
        LOCALE_PATHS=[Path(__file__).resolve().parent / "locale"],
        INSTALLED_APPS=[],
    )
    django.setup()
    translation.activate("en")


def check_database() -> None:
    from django.conf import settings
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CliError(
            f"cannot reach the database at {settings.DATABASE_SAFE_URL}: {reason}", EXIT_CONFIG
        ) from None


def pending_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


# --- commands -----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    from django.conf import settings

    migrate(verbosity=1 if args.verbose else 0)
    print(f"Instance ready in {settings.HOME} (database: {settings.DATABASE_SAFE_URL}).")
    return 0


def _require_migrated() -> None:
    pending = pending_migrations()
    if pending:
        raise CliError(
            f"the database is not initialised ({len(pending)} pending migrations): "
            "run 'infogerance init' first",
            EXIT_CONFIG,
        )


def cmd_serve(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    from django.conf import settings

    if args.migrate:
        migrate()
    _require_migrated()
    if args.port < 1 or args.port > 65535:
        raise CliError(f"--port: must be between 1 and 65535, got {args.port}", EXIT_CONFIG)
    if args.workers < 1:
        raise CliError(f"--workers: must be at least 1, got {args.workers}", EXIT_CONFIG)
    embedded_worker = args.with_worker
    if embedded_worker is None:
        embedded_worker = str(settings.DATABASES["default"]["ENGINE"]).endswith("sqlite3")
    if args.host not in {"127.0.0.1", "localhost", "::1"} and not settings.HTTPS:
        print(
            "warning: serving on a non-loopback address without INFOGERANCE_HTTPS=true; "
            "put the instance behind a TLS proxy.",
            file=sys.stderr,
        )
    worker: subprocess.Popen[bytes] | None = None
    if embedded_worker:
        worker = subprocess.Popen([sys.executable, "-m", "infogerance", "worker"])
    print(
        f"Infogérance {__version__} on http://{args.host}:{args.port}/ "
        f"({args.workers} web worker(s){', 1 background worker' if worker else ''})",
        flush=True,
    )
    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "infogerance.wsgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        log_access=args.access_log,
        respawn_failed_workers=True,
    )
    try:
        server.serve()
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def run_scheduler(stop: threading.Event, interval: float, worker_id: str) -> None:
    from django.db import close_old_connections

    from infogerance.core import scheduler

    while not stop.is_set():
        try:
            close_old_connections()
            scheduler.tick(worker_id=worker_id)
        except Exception:  # a failing tick must not stop the worker; it retries next time
            import logging

            logging.getLogger("infogerance.scheduler").exception("scheduler tick failed")
        finally:
            close_old_connections()
        stop.wait(interval)


def cmd_worker(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    _require_migrated()
    import socket

    from django.conf import settings
    from django_tasks_db.management.commands.db_worker import Worker

    worker_id = f"{socket.gethostname()}-{os.getpid()}"[:64]
    stop = threading.Event()
    if args.scheduler:
        thread = threading.Thread(
            target=run_scheduler,
            args=(stop, settings.SCHEDULER_INTERVAL_SECONDS, worker_id),
            name="scheduler",
            daemon=True,
        )
        thread.start()
    worker = Worker(
        queue_names=args.queue or ["default"],
        interval=args.interval,
        batch=args.batch,
        backend_name="default",
        startup_delay=not args.batch,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    if not args.batch:
        worker.configure_signals()
    try:
        worker.run()
    finally:
        stop.set()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    migrate()
    from infogerance import demo

    created = demo.load()
    print(demo.summary(created))
    if args.serve:
        print(demo.enrolment_hint(f"http://{args.host}:{args.port}"))
        return cmd_serve(args)
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.no_password:
        return None
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for a password: use --password-stdin or --no-password")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CliError("the two passwords differ")
    return first


def cmd_createuser(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    _require_migrated()
    from django.core.exceptions import ValidationError

    from infogerance.core.actors import SystemActor
    from infogerance.tenancy import services
    from infogerance.tenancy.models import Organization
    from infogerance.tenancy.roles import OrganizationKind, Role

    actor = SystemActor("cli")
    org = Organization.objects.filter(slug=args.organization).first()
    if org is not None and args.create_provider:
        print(f"note: {org.slug} exists, --create-provider was ignored")
    try:
        if org is None:
            if not args.create_provider:
                raise CliError(
                    f"--organization: no organisation with short name {args.organization!r} "
                    "(add --create-provider NAME to create a provider)"
                )
            org = services.create_organization(
                actor=actor,
                kind=OrganizationKind.PROVIDER,
                name=args.create_provider,
                slug=args.organization,
            )
            print(f"Created the provider {org.name} ({org.slug}).")
        password = _read_password(args)
        membership = services.invite_member(
            actor=actor,
            organization=org,
            email=args.email,
            full_name=args.full_name or args.email.split("@")[0],
            role=args.role,
            password=password,
            send_invitation=password is None,
        )
    except ValidationError as exc:
        details = (
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            if hasattr(exc, "error_dict")
            else " ".join(exc.messages)
        )
        raise CliError(details) from None
    print(f"{membership.user.email} is {Role(membership.role).label} of {org.name}.")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    _require_migrated()
    from infogerance.audit.services import verify_chain

    report = verify_chain()
    if report.problem is not None:
        print(f"BROKEN at {report.problem} ({report.checked} events verified before it)")
        return 1
    if args.expect_head:
        seq_text, _sep, expected_hash = args.expect_head.partition(":")
        if not seq_text.isdigit() or len(expected_hash) != 64:
            raise CliError("--expect-head: expected SEQ:HASH, as printed by a previous run")
        seq = int(seq_text)
        from infogerance.audit.models import GENESIS_HASH, AuditEvent

        anchor = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if seq == 0:
            anchor = GENESIS_HASH  # the head of an empty trail: anything since extends it
        if anchor != expected_hash:
            print(
                f"BROKEN at event #{seq}: it is missing or differs from the recorded head "
                "(the end of the trail was cut or rewritten)"
            )
            return 1
    print(f"OK: {report.checked} events, chain intact. Head: {report.head_seq}:{report.head_hash}")
    return 0


def _user_language(explicit: str | None) -> str:
    if explicit:
        return explicit
    for name in ("INFOGERANCE_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "fr"


def _read_file(path: str) -> bytes:
    from infogerance.contracts.loader import MAX_FILE_BYTES

    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise CliError(
                f"{path}: the file is too large ({size} bytes, at most {MAX_FILE_BYTES})"
            )
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None


def cmd_contract_validate(args: argparse.Namespace) -> int:
    setup_offline()
    import json

    from django.utils import translation

    from infogerance.contracts.loader import ContractFileError, load_contract, problems_text

    data = _read_file(args.file)
    with translation.override(_user_language(args.lang)):
        try:
            document = load_contract(data)
        except ContractFileError as exc:
            if args.json:
                print(
                    json.dumps(
                        {"valid": False, "problems": [p.as_dict() for p in exc.problems]},
                        ensure_ascii=False,
                        indent=2,
                    )
                )
            else:
                print(problems_text(exc.problems, args.file), file=sys.stderr)
                print(f"{len(exc.problems)} problem(s) in {args.file}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps({"valid": True, "reference": document.reference}, ensure_ascii=False))
    else:
        print(
            f"{args.file}: valid ({document.reference}, {len(document.service_levels)} "
            f"service levels, {len(document.catalogue)} services)"
        )
    return 0


def _client(slug: str) -> Any:
    from infogerance.tenancy.models import Organization

    org = Organization.objects.filter(slug=slug, kind="client").first()
    if org is None:
        raise CliError(f"--client: no client organisation with short name {slug!r}")
    return org


def _contract(reference: str, client_slug: str | None) -> Any:
    from infogerance.contracts.models import Contract

    contracts = Contract.objects.filter(reference=reference)
    if client_slug:
        contracts = contracts.filter(organization=_client(client_slug))
    found = list(contracts[:2])
    if not found:
        raise CliError(f"no contract with reference {reference!r}")
    if len(found) > 1:
        raise CliError(f"several clients have a contract {reference!r}: add --client")
    return found[0]


def _version(contract: Any, number: int | None) -> Any:
    version = (
        contract.versions.filter(number=number).first()
        if number
        else contract.versions.order_by("-number").first()
    )
    if version is None:
        raise CliError(f"{contract.reference} has no version {number}")
    return version


def cmd_contract_import(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    _require_migrated()
    import datetime as dt

    from django.core.exceptions import ValidationError
    from django.utils import translation

    from infogerance.contracts.loader import ContractFileError, problems_text
    from infogerance.contracts.services import import_contract
    from infogerance.core.actors import SystemActor

    effective = None
    if args.effective_from:
        try:
            effective = dt.date.fromisoformat(args.effective_from)
        except ValueError:
            raise CliError(
                f"--effective-from: not a date (YYYY-MM-DD): {args.effective_from!r}"
            ) from None
    data = _read_file(args.file)
    client = _client(args.client)
    with translation.override(_user_language(args.lang)):
        try:
            version = import_contract(
                actor=SystemActor("cli"),
                client=client,
                text=data,
                effective_from=effective,
                note=args.note,
            )
        except ContractFileError as exc:
            print(problems_text(exc.problems, args.file), file=sys.stderr)
            print(f"{len(exc.problems)} problem(s): nothing imported", file=sys.stderr)
            return 1
        except ValidationError as exc:
            raise CliError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
    print(
        f"{version.contract.reference} version {version.number} imported for {client.name}, "
        f"in force from {version.effective_from.isoformat()}"
    )
    return 0


def cmd_contract_export(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    from infogerance.contracts.export import to_yaml

    version = _version(_contract(args.reference, args.client), args.version)
    text = to_yaml(version.parsed())
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_contract_diff(args: argparse.Namespace) -> int:
    setup_django()
    check_database()
    from infogerance.contracts.export import unified_diff

    contract = _contract(args.reference, args.client)
    old, new = _version(contract, args.v1), _version(contract, args.v2)
    sys.stdout.write(
        unified_diff(
            old.parsed(),
            new.parsed(),
            f"{contract.reference} v{old.number}",
            f"{contract.reference} v{new.number}",
        )
    )
    return 0


def cmd_contract_schema(args: argparse.Namespace) -> int:
    setup_offline()
    import json

    from infogerance.contracts.format import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True))
    return 0


def _file_sha256(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cmd_sla_evaluate(args: argparse.Namespace) -> int:
    # Before NumPy is first imported (the set-up imports it): NumPy asks the kernel for huge
    # pages for its large arrays, and where the kernel compacts memory to find them on the
    # spot (transparent_hugepage/defrag "madvise", Debian's default) that cost a million
    # tickets 1.7 s of system time for 0.7 s of user time saved.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    setup_offline()
    import datetime as dt

    import orjson
    from django.utils import translation

    from infogerance.contracts.loader import ContractFileError, load_contract, problems_text
    from infogerance.sla.evaluate import evaluate, evaluation_table, evaluation_to_json, sha256
    from infogerance.sla.eventsfile import EventsFileError, read_events
    from infogerance.sla.measure import PeriodError, parse_month

    try:
        parse_month(args.period)
    except PeriodError as exc:
        raise CliError(f"--period: {exc}", EXIT_USAGE) from None
    now = None
    if args.as_of:
        try:
            now = dt.datetime.fromisoformat(args.as_of)
        except ValueError:
            now = None
        if now is None or now.tzinfo is None:
            raise CliError(
                f"--as-of: {args.as_of!r} is not an instant with its offset "
                "(e.g. 2026-04-01T00:00:00+02:00)",
                EXIT_USAGE,
            )
    contract_bytes = _read_file(args.contract)
    with translation.override(_user_language(args.lang)):
        try:
            document = load_contract(contract_bytes)
        except ContractFileError as exc:
            print(problems_text(exc.problems, args.contract), file=sys.stderr)
            return 1
    try:
        data = read_events(args.events, on_error=args.on_error)
    except EventsFileError as exc:
        print(f"infogerance: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        raise CliError(f"{args.events}: {exc.strerror}") from None
    unknown = sorted(set(args.held) - {level.id for level in document.service_levels})
    if unknown:
        raise CliError(f"--held: no service level {', '.join(unknown)} in the contract", EXIT_USAGE)
    inputs = {
        "contract_file": os.path.basename(args.contract),
        "contract_sha256": sha256(contract_bytes),
        "events_file": os.path.basename(args.events),
        "events_sha256": _file_sha256(args.events),
        "events_lines": data.lines,
    }
    evaluation = evaluate(document, data, args.period, now=now, held=set(args.held), inputs=inputs)
    if args.format == "json":
        # The newline written on its own: appending it would copy hundreds of megabytes.
        document_json = evaluation_to_json(evaluation, for_indent_2=True)
        parts = [orjson.dumps(document_json, option=orjson.OPT_INDENT_2), b"\n"]
    else:
        parts = [evaluation_table(evaluation).encode("utf-8")]
    if args.output:
        with open(args.output, "wb") as handle:
            handle.writelines(parts)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.writelines(parts)
        sys.stdout.buffer.flush()
    return 0


def cmd_audit_report(args: argparse.Namespace) -> int:
    """The technical audit of a client, as a PDF or a self-contained HTML file."""
    setup_django()
    _require_migrated()
    from infogerance.inventory.technical_audit import audit_html, audit_pdf

    client = _client(args.client)
    language = _user_language(args.lang)
    if args.format == "pdf":
        data = audit_pdf(client, language)
    else:
        data = audit_html(client, language).encode("utf-8")
    output = args.output or f"audit-{client.slug}.{args.format}"
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(output, "wb") as handle:
            handle.write(data)
        print(f"{output}: {len(data)} bytes")
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["infogerance manage", *args.args])
    return 0


# --- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infogerance",
        description="Run IT outsourcing contracts end to end. Configuration comes from "
        "INFOGERANCE_* environment variables (see docs/configuration.md).",
    )
    parser.add_argument("--version", action="version", version=f"infogerance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "create the instance directory and apply database migrations")
    p.add_argument("-v", "--verbose", action="store_true")

    from infogerance.config import env_int, env_str

    def serve_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=env_str("INFOGERANCE_HOST", "127.0.0.1"))
        p.add_argument(
            "--port", type=int, default=env_int("INFOGERANCE_PORT", 8000, minimum=1, maximum=65535)
        )
        p.add_argument(
            "--workers",
            type=int,
            default=env_int("INFOGERANCE_WEB_WORKERS", 2, minimum=1, maximum=64),
            help="web worker processes (default 2)",
        )
        p.add_argument("--threads", type=int, default=8, help="threads per web worker")
        p.add_argument(
            "--with-worker",
            dest="with_worker",
            action="store_true",
            default=None,
            help="also run a background worker (default on SQLite)",
        )
        p.add_argument("--no-worker", dest="with_worker", action="store_false")
        p.add_argument("--migrate", action="store_true", help="apply migrations first")
        p.add_argument("--access-log", action="store_true")

    p = add("serve", cmd_serve, "run the production web server (and, embedded, a worker)")
    serve_options(p)

    p = add("worker", cmd_worker, "run background tasks and the periodic scheduler")
    p.add_argument("--queue", action="append", help="queue name (repeatable; default: default)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument("--batch", action="store_true", help="run what is queued, then exit")
    p.add_argument("--no-scheduler", dest="scheduler", action="store_false")

    p = add("demo", cmd_demo, "initialise the instance with demo data (and serve it)")
    p.add_argument("--serve", action="store_true", help="then start the server")
    serve_options(p)

    p = add("createuser", cmd_createuser, "add a person to an organisation with a role")
    p.add_argument("email")
    p.add_argument("--organization", required=True, help="short name (slug) of the organisation")
    p.add_argument(
        "--role",
        required=True,
        choices=["provider_admin", "provider_engineer", "client_manager", "client_user", "auditor"],
    )
    p.add_argument("--full-name", default="")
    p.add_argument(
        "--create-provider",
        metavar="NAME",
        default="",
        help="create the provider organisation when it does not exist",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--password-stdin", action="store_true")
    group.add_argument(
        "--no-password", action="store_true", help="send an invitation e-mail instead"
    )

    p = add("audit", lambda a: (parser.parse_args(["audit", "--help"]), 0)[1], "audit trail tools")
    audit_sub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    v = audit_sub.add_parser("verify", help="check the hash chain; name the first broken link")
    v.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="also check that this event (from an earlier run) is still there",
    )
    v.set_defaults(func=cmd_audit_verify)

    p = add(
        "contract",
        lambda a: (parser.parse_args(["contract", "--help"]), 0)[1],
        "contracts as code: validate, import, export, diff",
    )
    contract_sub = p.add_subparsers(dest="contract_command", metavar="ACTION")
    c = contract_sub.add_parser("validate", help="check a contract file; every error at once")
    c.add_argument("file")
    c.add_argument("--lang", choices=["fr", "en"], help="language of the messages (default: $LANG)")
    c.add_argument("--json", action="store_true", help="machine-readable result")
    c.set_defaults(func=cmd_contract_validate)
    c = contract_sub.add_parser("import", help="import a contract, or an amendment of it")
    c.add_argument("file")
    c.add_argument("--client", required=True, help="short name (slug) of the client")
    c.add_argument(
        "--effective-from",
        metavar="YYYY-MM-DD",
        help="date the version takes effect (default: the term's start for a new "
        "contract, today for an amendment)",
    )
    c.add_argument("--note", default="", help="what the amendment changes")
    c.add_argument("--lang", choices=["fr", "en"])
    c.set_defaults(func=cmd_contract_import)
    c = contract_sub.add_parser("export", help="write a version as YAML (stable, re-importable)")
    c.add_argument("reference")
    c.add_argument("--client", help="short name of the client, when references collide")
    c.add_argument("--version", type=int, help="version number (default: the latest)")
    c.add_argument("-o", "--output", help="file to write (default: standard output)")
    c.set_defaults(func=cmd_contract_export)
    c = contract_sub.add_parser("diff", help="differences between two versions")
    c.add_argument("reference")
    c.add_argument("v1", type=int)
    c.add_argument("v2", type=int)
    c.add_argument("--client")
    c.set_defaults(func=cmd_contract_diff)
    c = contract_sub.add_parser("schema", help="print the JSON Schema of the contract format")
    c.set_defaults(func=cmd_contract_schema)

    p = add(
        "sla",
        lambda a: (parser.parse_args(["sla", "--help"]), 0)[1],
        "service levels: evaluate a month offline",
    )
    sla_sub = p.add_subparsers(dest="sla_command", metavar="ACTION")
    c = sla_sub.add_parser(
        "evaluate",
        help="a month's service levels and penalties from a contract file and an events file",
        description="Compute every service level of a month and the penalty statement from a "
        "contract file and a JSON Lines file of raw events, without the platform's database "
        "(the same code as the platform's own measurement).",
    )
    c.add_argument("--contract", required=True, metavar="FILE.yaml")
    c.add_argument("--events", required=True, metavar="FILE.jsonl")
    c.add_argument("--period", required=True, metavar="YYYY-MM")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.add_argument(
        "--on-error",
        choices=["stop", "skip"],
        default="stop",
        help="a bad line stops the evaluation (default), or is skipped with its whole ticket "
        "and reported",
    )
    c.add_argument(
        "--as-of",
        metavar="INSTANT",
        help="judge as of this instant (default: now, or the end of a past month)",
    )
    c.add_argument(
        "--held",
        action="append",
        default=[],
        metavar="LEVEL",
        help="a service level under dispute: its penalties are shown but held (repeatable)",
    )
    c.add_argument("-o", "--output", help="file to write (default: standard output)")
    c.add_argument("--lang", choices=["fr", "en"], help="language of the contract's messages")
    c.set_defaults(func=cmd_sla_evaluate)

    from infogerance.agent.cli import add_parser as add_agent_parser
    from infogerance.backup.cli import add_parser as add_backup_parser

    add_agent_parser(sub)
    add_backup_parser(sub)

    p = add(
        "audit-report",
        cmd_audit_report,
        "the technical audit of a client's estate (PDF or HTML), to annex to the contract",
    )
    p.add_argument("--client", required=True, metavar="SLUG", help="the client's short name")
    p.add_argument("--format", choices=["pdf", "html"], default="pdf")
    p.add_argument(
        "-o", "--output", help="file to write (default: audit-SLUG.FORMAT; - for stdout)"
    )
    p.add_argument("--lang", choices=["fr", "en"], help="language of the document")

    p = add("manage", cmd_manage, "Django's management commands (migrate, shell, …)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from infogerance.config import ConfigError

    try:
        parser = build_parser()
    except ConfigError as exc:
        print(f"infogerance: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"infogerance: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
