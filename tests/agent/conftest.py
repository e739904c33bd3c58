"""A small real HTTP(S) server speaking the agent protocol, and a TLS certificate authority."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CREDENTIAL = "iga_agent1_s3cret"
TOKEN = "enrol-me"


def free_port() -> int:
    """A port nobody listens on (yet): connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeServer:
    """The server side of docs/formats/agent.md, small: stores each report_id once."""

    port: int = 0
    tls: ssl.SSLContext | None = None
    plan: list[int] = field(default_factory=list)  # statuses answered before any processing
    fail_after_store: list[int] = field(default_factory=list)  # stored, then this status
    reject: Callable[[dict[str, Any]], str | None] = lambda report: None
    name_index: bool = True  # False: a 400 that does not say which report is bad
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # report ids in the order first stored
    duplicates: int = 0
    batches: list[int] = field(default_factory=list)  # sizes of the batches received
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status answered)
    enrolments: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None
    known_sequence: int = 0  # what /me says when nothing was stored in this test

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                server.requests.append((self.path, status))

            def do_GET(self) -> None:
                with server.lock:
                    if self.headers.get("Authorization") != f"Bearer {CREDENTIAL}":
                        self.answer(401, {"detail": "unknown or revoked credential"})
                    elif self.path == "/api/agent/v1/me":
                        me = {"agent_id": "agent1", "asset_id": 7, "client": "acme",
                              "last_sequence": server.last_sequence()}  # fmt: skip
                        self.answer(200, me)
                    else:
                        self.answer(404, {"detail": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with server.lock:
                    if server.plan:
                        status = server.plan.pop(0)
                        self.answer(status, {"detail": "try again later"})
                        return
                    if self.path == "/api/agent/v1/enroll":
                        self.enroll(json.loads(raw))
                    elif self.path == "/api/agent/v1/reports":
                        self.reports(raw)
                    else:
                        self.answer(404, {"detail": "not found"})

            def enroll(self, body: dict[str, Any]) -> None:
                if body.get("token") != TOKEN:
                    self.answer(401, {"detail": "unknown, expired or revoked token"})
                    return
                server.enrolments.append(body)
                self.answer(
                    201,
                    {
                        "agent_id": "agent1",
                        "credential": CREDENTIAL,
                        "asset_id": 7,
                        "client": "acme",
                        "heartbeat_seconds": 30,
                        "inventory_seconds": 3600,
                    },
                )

            def reports(self, raw: bytes) -> None:
                if self.headers.get("Authorization") != f"Bearer {CREDENTIAL}":
                    self.answer(401, {"detail": "unknown or revoked credential"})
                    return
                reports = json.loads(raw)["reports"]
                server.batches.append(len(reports))
                if len(reports) > 100 or len(raw) > 8 * 1024 * 1024:
                    self.answer(413, {"detail": "too large"})
                    return
                for index, report in enumerate(reports):
                    problem = server.reject(report)
                    if problem:  # all or nothing: nothing of the batch is stored
                        where = f"reports[{index}]." if server.name_index else ""
                        self.answer(400, {"detail": f"{where}{problem}"})
                        return
                results = []
                for report in reports:
                    rid = report["report_id"]
                    if rid in server.stored:
                        server.duplicates += 1
                        results.append({"report_id": rid, "status": "duplicate"})
                    else:
                        server.stored[rid] = report
                        server.order.append(rid)
                        results.append({"report_id": rid, "status": "stored"})
                if server.fail_after_store:
                    self.answer(server.fail_after_store.pop(0), {"detail": "crashed"})
                    return
                self.answer(200, {"results": results})

        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        if self.tls is not None:
            httpd.socket = self.tls.wrap_socket(httpd.socket, server_side=True)
        self.port = int(httpd.server_address[1])
        self.httpd = httpd
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def last_sequence(self) -> int:
        return max(self.stored_sequences(), default=self.known_sequence)

    def stored_sequences(self) -> list[int]:
        return [self.stored[rid]["sequence"] for rid in self.order]


@pytest.fixture(scope="session")
def printed() -> dict[str, Any]:
    """What `infogerance agent once --print` writes on this machine, parsed (once a session)."""
    import contextlib
    import io

    from infogerance.agent import collect
    from infogerance.agent.cli import main

    collect._apt_cache.clear()  # measure a cold inventory
    out = io.StringIO()
    started, cpu = time.monotonic(), _cpu_seconds()
    with contextlib.redirect_stdout(out):
        code = main(["once", "--print", "--perf-seconds", "0.5"])
    assert code == 0
    printed = dict(json.loads(out.getvalue()))
    printed["_inventory_seconds"] = time.monotonic() - started - 0.5
    printed["_inventory_cpu_seconds"] = _cpu_seconds() - cpu
    return printed


def _cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@dataclass
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA and a certificate it signed for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test private CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    pki.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[FakeServer]:
    server = FakeServer(tls=pki.server_context()).start()
    yield server
    server.stop()
