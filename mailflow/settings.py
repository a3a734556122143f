"""Settings for mailflow, read from the environment (django-environ).

Every setting has a safe default: with no environment at all mailflow runs as the
embedded default (SQLite and a filesystem Celery broker under ``var/``). Production
sets DEBUG=0, SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and ALLOWED_HOSTS; see
docs/operations.md. A ``.env`` file in the project root is read when present.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Local state of the embedded default: SQLite database, broker folders, generated key.
VAR_DIR = Path(env.str("MAILFLOW_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Off unless asked for: a forgotten DEBUG must never leak tracebacks in production.
DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment; for local use (DEBUG on) one generated into var/."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off. In production set SECRET_KEY to a long "
            "random string (python -c 'import secrets; print(secrets.token_urlsafe(50))'); "
            "for local use set DEBUG=1 and a key is generated into var/secret_key."
        )
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _encryption_keys() -> list[str]:
    """Fernet keys for passwords stored at rest; for local use one is generated into var/."""
    keys = env.list("MAILFLOW_ENCRYPTION_KEYS", default=[])
    if keys or not DEBUG:
        return keys  # empty in production: refused with a clear message when first needed
    path = VAR_DIR / "encryption_key"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return [path.read_text().strip()]


# Keys that encrypt mail server passwords (comma-separated; the first encrypts, all decrypt).
MAILFLOW_ENCRYPTION_KEYS = _encryption_keys()

# Host names this site answers to; comma-separated in the environment.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Origins trusted for CSRF when served behind a proxy under another name (https://help.example.com).
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "tickets",
    "contacts",
    "conduit",
    "routing",
    "alerts",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

# Content Security Policy of the agent workspace: only our own scripts, styles and frames.
# Message bodies set a stricter policy of their own (tickets.views.ticket.message_body);
# the Django admin keeps its defaults.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

ROOT_URLCONF = "mailflow.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mailflow.wsgi.application"
ASGI_APPLICATION = "mailflow.asgi.application"

# Database: SQLite under var/ by default; postgres://user@host:5432/name in production.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mailflow.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web process and the worker write side by side.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
    # A file, not memory, so that subprocesses started by tests (workers, commands) share it.
    # One per test process, so that test runs side by side do not share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-mailflow-{os.getpid()}.sqlite3")}
else:
    # Seconds a connection is kept open between requests (0 = close after each request).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # Members of the built-in Administrators group hold every permission.
    "tickets.auth.AdministratorsBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en-us")
# Time zone the UI shows and reports group days by; stored times are always UTC.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Raw mail and attachments. Never served directly: downloads go through access-checked views.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "desk:mine"
LOGOUT_REDIRECT_URL = "login"

# Celery: a broker that needs no server by default (kombu's filesystem transport under var/);
# redis://127.0.0.1:6379/0 in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=(
        f"file://{VAR_DIR / 'celery' / 'results'}"
        if CELERY_BROKER_URL.startswith("filesystem")
        else CELERY_BROKER_URL
    ),
)
if CELERY_BROKER_URL.startswith("filesystem"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _d in (_queue_dir, _processed_dir, _control_dir, VAR_DIR / "celery" / "results"):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is run again, never lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Security. Production defaults are strict; behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER=1 so Django trusts X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Only adds the "preload" directive; submitting the domain to the preload list is a separate step.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Paths the SSL redirect leaves alone, so container health checks can use plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Mail the help desk itself sends (alerts by email); customer replies go through the spool.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mailflow@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # The log viewer's store (alerts.LogEntry), filtered per type by LogPolicy.
        "store": {"class": "alerts.logging.LogStoreHandler"},
    },
    "root": {"handlers": ["console", "store"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
    },
}

# Help desk defaults, overridable per deployment.
MAILFLOW = {
    # First number handed out to a new ticket.
    "TICKET_NUMBER_START": env.int("MAILFLOW_TICKET_NUMBER_START", default=1000),
    # The ticket tag every outbound subject carries and replies are threaded by; must hold
    # {number}, e.g. "[#TB-{number}]" or "[Ticket#{number}]".
    "TICKET_TAG": env.str("MAILFLOW_TICKET_TAG", default="[#TB-{number}]"),
    # From address of automatic mail when the ticketbox has none of its own.
    "DEFAULT_FROM": env.str("MAILFLOW_DEFAULT_FROM", default=""),
    # Right-hand side of our Message-IDs (empty: the domain of DEFAULT_FROM, else this host).
    "MESSAGE_ID_DOMAIN": env.str("MAILFLOW_MESSAGE_ID_DOMAIN", default=""),
    # At most one automatic reply per sender address within this many minutes.
    "AUTO_REPLY_WINDOW_MINUTES": env.int("MAILFLOW_AUTO_REPLY_WINDOW_MINUTES", default=60),
    # Every ticketbox hands out unowned tickets only through Get Oldest (to agents below
    # manage rights), whatever its own setting.
    "REQUIRE_GET_OLDEST": env.bool("MAILFLOW_REQUIRE_GET_OLDEST", default=False),
    # Routing conditions on the body or the whole message read at most this many bytes.
    "RULE_SCAN_BYTES": env.int("MAILFLOW_RULE_SCAN_BYTES", default=1024 * 1024),
    # Public address of this help desk (links in mail: tracking, alert emails).
    "SITE_URL": env.str("MAILFLOW_SITE_URL", default="http://127.0.0.1:8000"),
    # Outbound spool: mail that cannot be delivered for this long fails for good.
    "SPOOL_MAX_AGE_HOURS": env.float("MAILFLOW_SPOOL_MAX_AGE_HOURS", default=120.0),
    # Back-off between attempts: doubles from the first delay up to the longest.
    "SPOOL_RETRY_FIRST_SECONDS": env.int("MAILFLOW_SPOOL_RETRY_FIRST_SECONDS", default=60),
    "SPOOL_RETRY_MAX_SECONDS": env.int("MAILFLOW_SPOOL_RETRY_MAX_SECONDS", default=3600),
    # Messages one spool round claims at most, and how long a claim holds a message.
    "SPOOL_BATCH": env.int("MAILFLOW_SPOOL_BATCH", default=200),
    "SPOOL_LEASE_SECONDS": env.int("MAILFLOW_SPOOL_LEASE_SECONDS", default=300),
    # Domain of the VERP return path (bounces+<id>.<signature>@domain); empty: the domain
    # of the sending address.
    "BOUNCE_DOMAIN": env.str("MAILFLOW_BOUNCE_DOMAIN", default=""),
    # After this many hard bounces an address is refused as a recipient.
    "HARD_BOUNCE_LIMIT": env.int("MAILFLOW_HARD_BOUNCE_LIMIT", default=3),
    # Low disk space alert below this share of free space (percent) on media or database.
    "DISK_FREE_MIN_PERCENT": env.float("MAILFLOW_DISK_FREE_MIN_PERCENT", default=10.0),
    # Log entries older than this many days are purged.
    "LOG_RETENTION_DAYS": env.int("MAILFLOW_LOG_RETENTION_DAYS", default=90),
    # Report exports (Excel files written by a worker) are deleted after this many days;
    # 0 keeps them.
    "REPORT_EXPORT_KEEP_DAYS": env.int("MAILFLOW_REPORT_EXPORT_KEEP_DAYS", default=7),
}

# Antivirus: stored mail is scanned by ClamAV's clamd before it is routed; infected mail is
# quarantined, and mail that could not be scanned waits for the next try. Empty (the default)
# turns scanning off; unix:///run/clamav/clamd.ctl for clamd's LocalSocket, tcp://clamav:3310
# for its TCPSocket. clamd's StreamMaxLength must be at least the largest mail a source
# accepts (25 MB by default), or such mail cannot be scanned.
MAILFLOW_ANTIVIRUS_URL = env.str("MAILFLOW_ANTIVIRUS_URL", default="")
# Seconds to wait for clamd (connect, send, answer) before a scan counts as failed and is retried.
MAILFLOW_ANTIVIRUS_TIMEOUT = env.float("MAILFLOW_ANTIVIRUS_TIMEOUT", default=30.0)
