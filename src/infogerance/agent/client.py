"""Talking to the server: enrolment, delivery of the queue, the agent's configuration file.

HTTP goes through ``urllib.request`` and ``ssl`` so that the agent needs nothing beyond psutil.
TLS certificates are verified unless the operator explicitly passes ``--insecure``; a private
CA is given with ``--ca-file``. Redirects are not followed: the credential must never travel
to another address than the one enrolled.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import random
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from infogerance.agent import AGENT_VERSION, AgentError, windows
from infogerance.agent.protocol import utc_timestamp
from infogerance.agent.spool import Entry, MiB, Spool, fsync_directory

logger = logging.getLogger(__name__)

API_PREFIX = "/api/agent/v1"
MAX_BATCH_REPORTS = 100
MAX_BATCH_BYTES = 8 * MiB
DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"infogerance-agent/{AGENT_VERSION}"


# --- configuration ------------------------------------------------------------------------


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def default_config_path() -> Path:
    override = os.environ.get("INFOGERANCE_AGENT_CONFIG")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return Path(base) / "infogerance-agent" / "agent.json"
    if _is_root():
        return Path("/etc/infogerance-agent/agent.json")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "infogerance-agent" / "agent.json"


def default_spool_path() -> Path:
    override = os.environ.get("INFOGERANCE_AGENT_SPOOL")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return Path(base) / "infogerance-agent" / "spool"
    if _is_root():
        return Path("/var/lib/infogerance-agent/spool")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "infogerance-agent" / "spool"


@dataclass
class AgentConfig:
    server: str
    agent_id: str
    credential: str = field(repr=False)
    ca_file: str | None = None
    verify_tls: bool = True
    asset_id: int | None = None
    client: str | None = None
    heartbeat_seconds: int = 60
    inventory_seconds: int = 21600


def load_config(path: Path) -> AgentConfig:
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise AgentError(
            f"no agent configuration at {path}: enrol first with "
            "`infogerance agent enroll --server URL --token TOKEN`"
        ) from None
    except PermissionError:
        raise AgentError(f"cannot read {path}: permission denied (run as its owner)") from None
    except (OSError, ValueError) as exc:
        raise AgentError(f"cannot read the agent configuration {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise AgentError(f"{path}: not a JSON object")
    for key in ("server", "agent_id", "credential"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise AgentError(f"{path}: {key} is missing; enrol again")
    known = AgentConfig.__dataclass_fields__
    return AgentConfig(**{k: v for k, v in raw.items() if k in known})


def save_config(path: Path, config: AgentConfig) -> None:
    """Write the configuration readable by its owner only: mode 0600 from its creation; on
    Windows, where a mode does not restrict reading, an access list of the system, the
    administrators and the enrolling account only, set before the credential is written."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    if sys.platform == "win32":
        account = f"{os.environ.get('USERDOMAIN', '')}\\{os.environ.get('USERNAME', '')}"
        try:
            subprocess.run(  # noqa: S603 - a fixed argument list, no shell
                windows.private_acl_command(tmp, account), check=True, capture_output=True
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            os.close(fd)
            tmp.unlink()
            raise AgentError(f"cannot restrict who may read {path}: {exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(config), out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fsync_directory(path.parent)


def normalise_server(url: str) -> str:
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise AgentError(f"--server must be an http:// or https:// address, not {url!r}")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))


# --- HTTP ---------------------------------------------------------------------------------


class TransientError(AgentError):
    """The server could not be reached or asked to come back later: retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(AgentError):
    """The credential (or enrolment token) was refused: retrying will not help."""


@dataclass
class Response:
    status: int
    body: bytes
    headers: Message

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def detail(self) -> str:
        payload = self.json()
        if isinstance(payload, dict) and "detail" in payload:
            detail = payload["detail"]
            return detail if isinstance(detail, str) else json.dumps(detail)[:500]
        return self.body.decode("utf-8", "replace").strip()[:500] or http.client.responses.get(
            self.status, ""
        )

    def retry_after(self) -> float | None:
        value = self.headers.get("Retry-After") if self.headers else None
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def ssl_context(ca_file: str | None, verify_tls: bool) -> ssl.SSLContext:
    if not verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise AgentError(f"cannot load the CA file {ca_file}: {exc}") from None


class Transport:
    def __init__(
        self,
        server: str,
        *,
        ca_file: str | None = None,
        verify_tls: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.server = normalise_server(server)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ssl_context(ca_file, verify_tls)), _NoRedirect()
        )

    def post(self, path: str, body: bytes, credential: str | None = None) -> Response:
        return self.request("POST", path, body, credential)

    def get(self, path: str, credential: str | None = None) -> Response:
        return self.request("GET", path, None, credential)

    def request(
        self, method: str, path: str, body: bytes | None, credential: str | None
    ) -> Response:
        url = f"{self.server}{API_PREFIX}{path}"
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
        host = urllib.parse.urlsplit(url).netloc
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return Response(answer.status, answer.read(), answer.headers)
        except urllib.error.HTTPError as exc:
            with exc:
                body_read = exc.read() if exc.fp is not None else b""
            return Response(exc.code, body_read, exc.headers)
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise AgentError(
                    f"the TLS certificate of {host} could not be verified "
                    f"({reason.verify_message or reason}): give the private CA with --ca-file, "
                    "or, knowingly, --insecure"
                ) from None
            if isinstance(reason, TimeoutError):
                raise TransientError(f"{host} did not answer within {self.timeout:g} s") from None
            text = getattr(reason, "strerror", None) or str(reason)
            raise TransientError(f"cannot reach {host}: {text}") from None
        except TimeoutError:
            raise TransientError(f"{host} did not answer within {self.timeout:g} s") from None
        except (http.client.HTTPException, ConnectionError, ssl.SSLError, OSError) as exc:
            raise TransientError(
                f"connection to {host} failed: {exc or type(exc).__name__}"
            ) from None


@dataclass
class Backoff:
    """Exponential backoff with full jitter: a delay drawn in [0, min(cap, base·2^attempt)]."""

    base: float = 2.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self, minimum: float | None = None) -> float:
        delay = self.rng.uniform(0, min(self.cap, self.base * (2**self.attempt)))
        self.attempt = min(self.attempt + 1, 32)
        return max(delay, minimum or 0.0)

    def reset(self) -> None:
        self.attempt = 0


# --- enrolment ----------------------------------------------------------------------------


def enroll(
    server: str,
    token: str,
    *,
    identity: dict[str, Any],
    ca_file: str | None = None,
    verify_tls: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
) -> AgentConfig:
    """Exchange an enrolment token for this agent's own identity and credential."""
    if ca_file is not None and not Path(ca_file).is_file():
        raise AgentError(f"--ca-file {ca_file}: no such file")
    transport = Transport(server, ca_file=ca_file, verify_tls=verify_tls, timeout=timeout)
    body = json.dumps({"token": token, **identity, "agent_version": AGENT_VERSION}).encode()
    backoff = backoff or Backoff(base=1.0, cap=10.0)
    for attempt in range(1, attempts + 1):
        try:
            answer = transport.post("/enroll", body)
        except TransientError as exc:
            if attempt == attempts:
                raise
            delay = backoff.next_delay(exc.retry_after)
            logger.warning("%s; retrying in %.1f s", exc, delay)
            sleep(delay)
            continue
        if answer.status in (429,) or answer.status >= 500:
            if attempt == attempts:
                raise TransientError(
                    f"the server answered {answer.status} to the enrolment: {answer.detail()}"
                )
            sleep(backoff.next_delay(answer.retry_after()))
            continue
        break
    if answer.status == 401:
        raise AuthError(
            f"enrolment token refused (unknown, expired, used up or revoked): {answer.detail()}"
        )
    if answer.status == 400:
        raise AgentError(f"enrolment refused: {answer.detail()}")
    if answer.status not in (200, 201):
        raise AgentError(
            f"unexpected answer {answer.status} from {transport.server}{API_PREFIX}/enroll: "
            f"{answer.detail()} (is --server the platform's address?)"
        )
    payload = answer.json()
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("agent_id"), str)
        or not isinstance(payload.get("credential"), str)
    ):
        raise AgentError("the server's enrolment answer has no agent_id and credential")
    config = AgentConfig(
        server=transport.server,
        agent_id=payload["agent_id"],
        credential=payload["credential"],
        ca_file=str(Path(ca_file).resolve()) if ca_file else None,
        verify_tls=verify_tls,
        asset_id=payload.get("asset_id") if isinstance(payload.get("asset_id"), int) else None,
        client=payload.get("client") if isinstance(payload.get("client"), str) else None,
    )
    for key in ("heartbeat_seconds", "inventory_seconds"):
        value = payload.get(key)
        if isinstance(value, int) and value > 0:
            setattr(config, key, value)
    return config


# --- delivery -----------------------------------------------------------------------------

INDEX_IN_TEXT = re.compile(r"reports\[(\d+)\]")


def rejected_index(payload: Any, text: str, batch_size: int) -> int | None:
    """Which report of the batch a 400 names, from ``errors[].index``, a ``loc`` or the text."""
    candidates: list[int] = []
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, dict):  # {"reports[3].data.hostname": ["required"]}
            for key in errors:
                match = INDEX_IN_TEXT.match(str(key))
                if match:
                    candidates.append(int(match[1]))
        if isinstance(errors, list):
            for error in errors:
                if isinstance(error, dict) and isinstance(error.get("index"), int):
                    candidates.append(error["index"])
        detail = payload.get("detail")
        if isinstance(detail, list):  # pydantic-style: {"loc": ["body", "reports", 3, …]}
            for error in detail:
                loc = error.get("loc") if isinstance(error, dict) else None
                if isinstance(loc, list) and "reports" in loc:
                    after = loc.index("reports") + 1
                    if after < len(loc) and isinstance(loc[after], int):
                        candidates.append(loc[after])
    if not candidates:
        candidates = [int(m) for m in INDEX_IN_TEXT.findall(text)]
    valid = [i for i in candidates if 0 <= i < batch_size]
    return min(valid) if valid else None


class Delivery:
    """Empties the spool into the server, oldest first, in batches."""

    def __init__(
        self,
        config: AgentConfig,
        spool: Spool,
        *,
        transport: Transport | None = None,
        max_reports: int = MAX_BATCH_REPORTS,
        max_bytes: int = MAX_BATCH_BYTES,
        clock: Callable[[], float] = time.time,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.should_stop = should_stop  # a long queue must not delay a SIGTERM
        self.spool = spool
        self.transport = transport or Transport(
            config.server, ca_file=config.ca_file, verify_tls=config.verify_tls
        )
        self.max_reports = max_reports
        self.max_bytes = max_bytes
        self.clock = clock
        self._solo_until = 0  # after an unexplained 400 or a 413: send one by one up to here
        self.delivered_total = 0

    def _auth_error(self, answer: Response) -> AuthError:
        return AuthError(
            f"the server refused this agent's credential ({answer.status}: {answer.detail()}); "
            "it was revoked or the agent was removed: enrol again with "
            "`infogerance agent enroll --server URL --token TOKEN`"
        )

    def synchronise(self) -> int | None:
        """Ask the server for the highest sequence it stored (``GET /me``) and never go below it.

        The server acknowledges any report at or below that number as a duplicate, so a spool
        that lost its counter (deleted, restored from an old backup) would otherwise see its
        new reports silently ignored. Returns the server's number, or None if unknown.
        """
        answer = self.transport.get("/me", self.config.credential)
        if answer.status in (401, 403):
            raise self._auth_error(answer)
        payload = answer.json() if answer.status == 200 else None
        last = payload.get("last_sequence") if isinstance(payload, dict) else None
        if not isinstance(last, int) or isinstance(last, bool):
            return None
        if last > self.spool.sequence:
            logger.warning(
                "the server has reports up to sequence %d, the spool only up to %d: "
                "continuing after the server's",
                last,
                self.spool.sequence,
            )
            self.spool.save_state(sequence=last)
        return last

    def flush(self) -> int:
        """Send everything queued. Returns how many reports the server acknowledged.

        Raises TransientError (retry later), AuthError (enrol again) or AgentError.
        """
        delivered = 0
        try:
            while len(self.spool) and not self.should_stop():
                delivered += self._send_one_batch()
        except AgentError as exc:
            self.spool.save_state(last_error=str(exc), last_error_at=utc_timestamp(self.clock()))
            raise
        return delivered

    def _send_one_batch(self) -> int:
        first = self.spool.entries()[0].sequence
        limit = 1 if first <= self._solo_until else self.max_reports
        batch = self.spool.batch(limit, self.max_bytes)
        if not batch:
            return 0
        body = json.dumps(
            {"reports": [report for _, report in batch]}, separators=(",", ":"), ensure_ascii=False
        ).encode()
        answer = self.transport.post("/reports", body, self.config.credential)
        entries = [entry for entry, _ in batch]
        if answer.status == 200:
            return self._acknowledge(batch, answer)
        if answer.status in (401, 403):
            raise self._auth_error(answer)
        if answer.status == 400:
            index = rejected_index(
                answer.json(), answer.body.decode("utf-8", "replace"), len(batch)
            )
            if index is not None:
                self.spool.reject(entries[index], f"400: {answer.detail()}")
            elif len(batch) == 1:
                self.spool.reject(entries[0], f"400: {answer.detail()}")
            else:
                logger.warning("400 naming no report: sending this batch one report at a time")
                self._solo_until = entries[-1].sequence
            return 0
        if answer.status == 413:
            if len(batch) == 1:
                self.spool.reject(entries[0], f"413: {answer.detail()}")
            else:
                self._solo_until = entries[-1].sequence
            return 0
        if answer.status == 429 or answer.status >= 500:
            raise TransientError(
                f"the server answered {answer.status}: {answer.detail()}", answer.retry_after()
            )
        raise AgentError(f"unexpected answer {answer.status} from the server: {answer.detail()}")

    def _acknowledge(self, batch: list[tuple[Entry, dict[str, Any]]], answer: Response) -> int:
        payload = answer.json()
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            raise TransientError("the server's answer has no results list")
        acknowledged = {
            r.get("report_id")
            for r in results
            if isinstance(r, dict) and r.get("status") in ("stored", "duplicate")
        }
        done = [entry for entry, report in batch if report.get("report_id") in acknowledged]
        self.spool.remove(done)
        self.spool.save_state(
            last_delivery_at=utc_timestamp(self.clock()),
            last_delivered_sequence=max((e.sequence for e in done), default=None),
            last_error=None,
        )
        self.delivered_total += len(done)
        if len(done) < len(batch):
            raise TransientError(
                f"the server acknowledged {len(done)} of {len(batch)} reports; "
                "the rest stays queued"
            )
        return len(done)


def deliver_with_retries(
    delivery: Delivery,
    *,
    attempts: int = 8,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Flush, backing off between transient failures; gives up after ``attempts`` tries."""
    backoff = backoff or Backoff()
    before = delivery.delivered_total
    for attempt in range(1, attempts + 1):
        try:
            delivery.flush()
            backoff.reset()
            break
        except TransientError as exc:
            if attempt == attempts:
                raise
            delay = backoff.next_delay(exc.retry_after)
            logger.warning("%s; retrying in %.1f s", exc, delay)
            sleep(delay)
    return delivery.delivered_total - before
