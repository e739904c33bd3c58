"""Instance configuration read from the environment, validated before Django starts.

Every setting has one environment variable (``INFOGERANCE_*``). Bad values raise
:class:`ConfigError` naming the variable, so the CLI can print one clear line instead of a
traceback. Secrets are never echoed back.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ConfigError(f"{name}: must be {bounds}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def instance_home() -> Path:
    return Path(env_str("INFOGERANCE_HOME") or "var").expanduser().resolve()


def load_secret_key(home: Path) -> str:
    """INFOGERANCE_SECRET_KEY, else the instance's own key (generated once, mode 0600)."""
    from_env = env_str("INFOGERANCE_SECRET_KEY")
    if from_env:
        if len(from_env) < 32:
            raise ConfigError("INFOGERANCE_SECRET_KEY: must be at least 32 characters long")
        return from_env
    path = home / "secret_key"
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        key = path.read_text(encoding="utf-8").strip()
        if len(key) < 32:
            raise ConfigError(f"{path}: the stored secret key is too short; delete the file")
        return key
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    django: dict[str, object]

    @property
    def vendor(self) -> str:
        engine = str(self.django["ENGINE"])
        return "postgresql" if "postgresql" in engine else "sqlite"

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)


def database_config(home: Path, variable: str = "INFOGERANCE_DATABASE_URL") -> DatabaseConfig:
    url = env_str(variable) or f"sqlite:///{home / 'infogerance.sqlite3'}"
    scheme = url.split(":", 1)[0].lower()
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(
            f"{variable}: unsupported database {scheme!r} in {redact_url(url)} "
            "(use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME)"
        )
    try:
        parsed: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    except Exception as exc:  # dj_database_url raises several kinds
        raise ConfigError(f"{variable}: cannot parse {redact_url(url)}: {exc}") from None
    if scheme == "sqlite":
        if not parsed.get("NAME") or parsed["NAME"] == ":memory:":
            raise ConfigError(f"{variable}: a SQLite URL needs a file path, got {url!r}")
        parsed["CONN_MAX_AGE"] = 0
        # Tests use a file too: shared-cache in-memory databases fail at once on a lock
        # where a file database waits, so concurrency tests would test the wrong thing.
        parsed["TEST"] = {"NAME": str(home / "test.sqlite3")}
        parsed["OPTIONS"] = {
            # One writer at a time, taken at BEGIN: no upgrade deadlocks, and the audit
            # hash chain is extended by one transaction at a time.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    else:
        # Django's backend, checking a persistent connection only after it sat idle.
        parsed["ENGINE"] = "infogerance.core.postgresql"
        parsed["CONN_HEALTH_CHECKS"] = True
        options = dict(parsed.get("OPTIONS") or {})  # type: ignore[call-overload]
        options.setdefault("connect_timeout", 5)
        parsed["OPTIONS"] = options
    return DatabaseConfig(url=url, django=parsed)


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    use_tls: bool
    use_ssl: bool
    from_email: str
    file_path: Path


BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}


def email_config(home: Path) -> EmailConfig:
    host = env_str("INFOGERANCE_EMAIL_HOST")
    backend = env_str("INFOGERANCE_EMAIL_BACKEND") or ("smtp" if host else "file")
    if backend not in BACKENDS:
        raise ConfigError(
            f"INFOGERANCE_EMAIL_BACKEND: expected one of {', '.join(BACKENDS)}, got {backend!r}"
        )
    if backend == "smtp" and not host:
        raise ConfigError("INFOGERANCE_EMAIL_HOST: required when INFOGERANCE_EMAIL_BACKEND=smtp")
    use_tls = env_bool("INFOGERANCE_EMAIL_USE_TLS", False)
    use_ssl = env_bool("INFOGERANCE_EMAIL_USE_SSL", False)
    if use_tls and use_ssl:
        raise ConfigError(
            "INFOGERANCE_EMAIL_USE_TLS and INFOGERANCE_EMAIL_USE_SSL: choose one, not both"
        )
    from_email = env_str("INFOGERANCE_DEFAULT_FROM_EMAIL") or "infogerance@localhost"
    if "@" not in from_email:
        raise ConfigError(f"INFOGERANCE_DEFAULT_FROM_EMAIL: not an e-mail address: {from_email!r}")
    return EmailConfig(
        backend=BACKENDS[backend],
        host=host or "localhost",
        port=env_int("INFOGERANCE_EMAIL_PORT", 465 if use_ssl else 587, minimum=1, maximum=65535),
        user=env_str("INFOGERANCE_EMAIL_HOST_USER"),
        password=os.environ.get("INFOGERANCE_EMAIL_HOST_PASSWORD", ""),
        use_tls=use_tls,
        use_ssl=use_ssl,
        from_email=from_email,
        file_path=home / "mail",
    )


def ensure_home(home: Path) -> Path:
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"INFOGERANCE_HOME: cannot create {home}: {exc.strerror}") from None
    if not os.access(home, os.W_OK):
        raise ConfigError(f"INFOGERANCE_HOME: {home} is not writable")
    for sub in ("static", "media", "mail"):
        (home / sub).mkdir(mode=0o700, exist_ok=True)
    return home
