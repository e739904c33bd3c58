"""Django settings, environment first. See docs/configuration.md for every variable.

Importing this module validates the configuration: a bad value raises ConfigError, which the
``infogerance`` command turns into a one-line message.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from infogerance import config

BASE_DIR = Path(__file__).resolve().parent
HOME = config.ensure_home(config.instance_home())

SECRET_KEY = config.load_secret_key(HOME)
DEBUG = config.env_bool("INFOGERANCE_DEBUG", False)
ALLOWED_HOSTS = config.env_list("INFOGERANCE_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list("INFOGERANCE_CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise config.ConfigError(
            f"INFOGERANCE_CSRF_TRUSTED_ORIGINS: {_origin!r} must start with http:// or https://"
        )
BASE_URL = config.env_str("INFOGERANCE_BASE_URL", "http://localhost:8000").rstrip("/")

_database = config.database_config(HOME)
DATABASE_SAFE_URL = _database.safe_url
DATABASES = {"default": _database.django}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "infogerance.core",
    "infogerance.audit",
    "infogerance.tenancy",
    "infogerance.accounts",
    "infogerance.contracts",
    "infogerance.helpdesk",
    "infogerance.knowledge",
    "infogerance.sla",
    "infogerance.inventory",
    "infogerance.backups",
]

MIDDLEWARE = [
    "infogerance.core.middleware.BearerShortcutMiddleware",
    "infogerance.core.middleware.RequestContextMiddleware",
    "infogerance.core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "infogerance.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "infogerance.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "infogerance.accounts.middleware.DeniedAccessMiddleware",
    "axes.middleware.AxesMiddleware",
]
# What an API request that carries a bearer token (a personal API token, an agent's
# credential) goes through instead of MIDDLEWARE (see BearerShortcutMiddleware): the same
# request context, limits, headers and language, and nothing a browser session needs (no
# session, CSRF, login, second factor, messages or login lockout): the token is the whole
# authentication, checked by the API itself.
BEARER_MIDDLEWARE = [
    "infogerance.core.middleware.RequestContextMiddleware",
    "infogerance.core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "infogerance.core.middleware.SecurityHeadersMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "infogerance.accounts.middleware.DeniedAccessMiddleware",
]

ROOT_URLCONF = "infogerance.urls"
WSGI_APPLICATION = "infogerance.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "infogerance.core.context_processors.platform",
            ],
        },
    }
]

AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "tenancy:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Login throttling (django-axes): 5 failures per account and address, then 15 minutes.
AXES_FAILURE_LIMIT = config.env_int("INFOGERANCE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=config.env_int("INFOGERANCE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "infogerance.core.middleware.client_ip"

OTP_TOTP_ISSUER = "Infogérance"
OTP_TOTP_THROTTLE_FACTOR = 1

# Internationalisation: French by default, English available; every string translatable.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = config.env_str("INFOGERANCE_TIME_ZONE", "Europe/Paris")
USE_TZ = True
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise config.ConfigError(f"INFOGERANCE_TIME_ZONE: unknown time zone {TIME_ZONE!r}") from None

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(HOME / "media")},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Security: secure by default, HTTPS-only cookies once the instance is served over HTTPS.
HTTPS = config.env_bool("INFOGERANCE_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = config.env_int("INFOGERANCE_SESSION_HOURS", 12, minimum=1) * 3600
SECURE_SSL_REDIRECT = HTTPS and config.env_bool("INFOGERANCE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
BEHIND_PROXY = config.env_bool("INFOGERANCE_BEHIND_PROXY", False)
# Trusted proxies in front of the instance (0 without a proxy): how far from the right of
# X-Forwarded-For the client's real address is.
PROXY_HOPS = config.env_int("INFOGERANCE_PROXY_HOPS", 1 if BEHIND_PROXY else 0, maximum=5)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = config.env_int("INFOGERANCE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
# Ticket attachments: size limit and the file types accepted (by extension).
ATTACHMENT_MAX_BYTES = config.env_int(
    "INFOGERANCE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024
)
ATTACHMENT_EXTENSIONS = config.env_list(
    "INFOGERANCE_ATTACHMENT_EXTENSIONS",
    [
        "pdf",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "txt",
        "log",
        "csv",
        "json",
        "xml",
        "docx",
        "xlsx",
        "pptx",
        "odt",
        "ods",
        "odp",
        "zip",
        "eml",
        "msg",
    ],
)
# Request bodies above this size are refused with 413 before any view runs (an attachment
# and its form); other bodies (forms, JSON) are held to DATA_UPLOAD_MAX_MEMORY_SIZE.
MAX_REQUEST_BODY_BYTES = config.env_int(
    "INFOGERANCE_MAX_REQUEST_BODY_BYTES", ATTACHMENT_MAX_BYTES + 1024 * 1024, minimum=1024
)
# Reports of the agents (/api/agent/v1/): a batch of inventories can be large.
AGENT_MAX_BODY_BYTES = config.env_int(
    "INFOGERANCE_AGENT_MAX_BODY_BYTES", 8 * 1024 * 1024, minimum=1024
)
DATA_UPLOAD_MAX_MEMORY_SIZE = config.env_int(
    "INFOGERANCE_MAX_FORM_BYTES", 2 * 1024 * 1024, minimum=1024
)

_email = config.email_config(HOME)
EMAIL_BACKEND = _email.backend
EMAIL_HOST = _email.host
EMAIL_PORT = _email.port
EMAIL_HOST_USER = _email.user
EMAIL_HOST_PASSWORD = _email.password
EMAIL_USE_TLS = _email.use_tls
EMAIL_USE_SSL = _email.use_ssl
EMAIL_FILE_PATH = _email.file_path
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = _email.from_email
SERVER_EMAIL = _email.from_email

# Background work: Django's Tasks API with the database backend (no broker).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
SCHEDULER_INTERVAL_SECONDS = config.env_int("INFOGERANCE_SCHEDULER_INTERVAL", 30, minimum=1)
# SLA warnings: percentages of a clock's target at which people are told.
SLA_WARNING_THRESHOLDS = [
    config.env_int(f"INFOGERANCE_SLA_WARNING_{n}", default, minimum=1, maximum=1000)
    for n, default in (("FIRST", 75), ("SECOND", 100))
]

# API tokens.
API_TOKEN_DEFAULT_DAYS = config.env_int("INFOGERANCE_API_TOKEN_DAYS", 90, minimum=1)
API_TOKEN_MAX_DAYS = config.env_int("INFOGERANCE_API_TOKEN_MAX_DAYS", 366, minimum=1)
if API_TOKEN_DEFAULT_DAYS > API_TOKEN_MAX_DAYS:
    raise config.ConfigError(
        f"INFOGERANCE_API_TOKEN_DAYS: {API_TOKEN_DEFAULT_DAYS} is above "
        f"INFOGERANCE_API_TOKEN_MAX_DAYS ({API_TOKEN_MAX_DAYS})"
    )

NINJA_PAGINATION_PER_PAGE = 50

LOG_LEVEL = config.env_str("INFOGERANCE_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise config.ConfigError(f"INFOGERANCE_LOG_LEVEL: unknown level {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
