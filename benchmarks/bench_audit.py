"""Audit chain throughput: appends (1 and N writers) and full verification.

Every write in the platform appends one event under one lock, so this is the ceiling on
audited writes per second. Usage: see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section

ROOT = Path(__file__).resolve().parents[1]


def setup(database_url: str | None) -> str:
    os.environ.setdefault("INFOGERANCE_HOME", tempfile.mkdtemp(prefix="infogerance-bench-"))
    if database_url:
        os.environ["INFOGERANCE_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infogerance.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    if database_url and database_url.startswith("postgres"):
        import psycopg

        from infogerance.config import database_config, instance_home

        db = database_config(instance_home()).django
        params = {
            "dbname": "postgres",
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
        }
        with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v}) as conn:
            name = str(db["NAME"])
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE audit_auditevent")
    return connection.vendor


def append(n: int, writers: int) -> float:
    from django.db import close_old_connections

    from infogerance.audit.services import record
    from infogerance.core.actors import SystemActor

    actor = SystemActor("bench")
    per_writer = n // writers
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(per_writer):
                record(actor=actor, action="bench.append", after={"i": i, "pad": "x" * 80})
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=work) for _ in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return per_writer * writers / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    vendor = setup(os.environ.get("INFOGERANCE_DATABASE_URL"))
    from infogerance.audit.models import AuditEvent
    from infogerance.audit.services import verify_chain

    single = append(args.events // 2, 1)
    concurrent = append(args.events // 2, args.writers)
    total = AuditEvent.objects.count()
    start = time.perf_counter()
    report = verify_chain()
    verify_rate = report.checked / (time.perf_counter() - start)
    if not report.ok or report.checked != total:
        raise SystemExit(f"the chain does not verify: {report}")
    lines = [
        f"### Audit chain on {vendor} ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores)",
        "",
        "| measure | figure |",
        "|---|---|",
        f"| appends, 1 writer | {single:,.0f} events/s |",
        f"| appends, {args.writers} concurrent writers | {concurrent:,.0f} events/s |",
        f"| verify, whole chain of {total:,} events | {verify_rate:,.0f} events/s |",
        "",
    ]
    print("\n".join(lines))
    if args.write:
        write_section(f"### Audit chain on {vendor} ", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
