"""Django settings, derived entirely from `townhall.config.env.load()`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url

from townhall.config import env as env_module

ENV = env_module.load()

SECRET_KEY = ENV.secret_key
DEBUG = ENV.debug
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = ENV.csrf_trusted_origins
BASE_URL = ENV.base_url

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials.apps.SimpleAppConfig",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "townhall.core",
    "townhall.media",
    "townhall.realtime",
    "townhall.search",
    "townhall.notifications",
    "townhall.accounts",
    "townhall.directory",
    "townhall.communities",
    "townhall.reactions",
    "townhall.posts",
    "townhall.feed",
    "townhall.demo",
    "townhall.api",
]

MIDDLEWARE = [
    "townhall.core.observability.ObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "townhall.core.csp.ContentSecurityPolicyMiddleware",
    "townhall.core.middleware.NulPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "townhall.accounts.middleware.SessionRecordMiddleware",
    "townhall.accounts.middleware.GuidelinesGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "townhall.config.urls"
WSGI_APPLICATION = "townhall.config.wsgi.application"
ASGI_APPLICATION = "townhall.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": False,
        "OPTIONS": {
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "townhall.accounts.context_processors.organisation",
                "townhall.notifications.context_processors.notifications",
            ],
            "builtins": ["template_partials.templatetags.partials", "townhall.core.templatetags.urls"],
        },
    },
    {
        # The post card and its comments only (core/jinja.py says why).
        "BACKEND": "townhall.core.jinja.Jinja2",
        "NAME": "jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "townhall.core.jinja.environment",
            "autoescape": True,
            "auto_reload": DEBUG,
            "context_processors": ["django.contrib.auth.context_processors.auth"],
        },
    },
]


# SQLite's per-connection page cache and memory map (docs/performance.md, fifth session).
SQLITE_CACHE_KIB = 32_768
SQLITE_MMAP_BYTES = 1 << 30


def _database() -> dict[str, object]:
    config: dict[str, object] = dict(dj_database_url.parse(ENV.database_url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        ENV.var_dir.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            # WAL lets readers run beside the single writer; IMMEDIATE takes the write
            # lock at BEGIN so concurrent writers queue instead of failing mid-transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;"
                # Pages read through a memory map rather than copied in by read() calls.
                f"PRAGMA mmap_size={SQLITE_MMAP_BYTES};PRAGMA cache_size=-{SQLITE_CACHE_KIB};"
            ),
        }
        # Each server thread keeps its connection (and its warm page cache) between
        # requests, as on PostgreSQL; a new connection re-reads the schema and starts cold.
        config["CONN_MAX_AGE"] = 60
        # A file, not shared-cache memory, so tests see the same WAL locking as production.
        # One file per test process, so parallel runs never share a database.
        config["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"townhall-test-{os.getpid()}.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["CONN_HEALTH_CHECKS"] = True
        config["CONN_MAX_AGE"] = 60
        # Page queries are small and indexed: parallel workers only add start-up cost
        # (10-18 ms measured on the feed queries, docs/performance.md), and so does JIT
        # compilation (1.5 s on a search whose cost estimate passed jit_above_cost,
        # docs/search.md).
        options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
        options.setdefault("options", "-c max_parallel_workers_per_gather=0 -c jit=off")
        # Parameters bound by the server (not quoted into the text by psycopg): less
        # Python per query, and statements a connection runs repeatedly are prepared
        # once (psycopg's prepare_threshold), so PostgreSQL plans the feed's statements
        # once per connection instead of per request (docs/performance.md).
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", 5)
        config["OPTIONS"] = options
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work goes through a queue in the database, tests included (no immediate
# backend): `townhall worker` (or the one `townhall serve` starts) runs it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

if ENV.redis_url:
    CACHES = {
        "default": {
            # Fails soft: a Redis outage falls back to process memory (core/cache.py).
            "BACKEND": "townhall.core.cache.FailSoftRedisCache",
            "LOCATION": ENV.redis_url,
            "KEY_PREFIX": "townhall",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "townhall"}}

# Sessions live in the database so any process can serve any request and a Redis
# outage never signs people out.
SESSION_ENGINE = "townhall.accounts.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["townhall.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "feed:home"
LOGOUT_REDIRECT_URL = "accounts:signin"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = ENV.static_root
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = ENV.media_root
STORAGES = {
    # MEDIA_ROOT, or an S3-compatible bucket with MEDIA_STORAGE_URL (config/env.py).
    "default": env_module.media_storage(ENV.media_storage_url),
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if ENV.production
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (development, tests) WhiteNoise serves straight from the apps.
WHITENOISE_USE_FINDERS = not ENV.production
WHITENOISE_AUTOREFRESH = False

# Uploads: anything past 2.5 MB is streamed to a temporary file; request bodies over
# 30 MB are refused before they are read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

EMAIL_BACKEND = ENV.email.backend
EMAIL_HOST = ENV.email.host
EMAIL_PORT = ENV.email.port
EMAIL_HOST_USER = ENV.email.user
EMAIL_HOST_PASSWORD = ENV.email.password
EMAIL_USE_TLS = ENV.email.use_tls
EMAIL_USE_SSL = ENV.email.use_ssl
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = ENV.default_from_email
SERVER_EMAIL = ENV.default_from_email

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if ENV.production:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Probes and scrapers talk to the app port directly, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SILENCED_SYSTEM_CHECKS: list[str] = []

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "townhall.core.observability.JsonFormatter"},
    },
    "filters": {"request": {"()": "townhall.core.observability.RequestContextFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": ENV.log_format, "filters": ["request"]}},
    "root": {"handlers": ["console"], "level": "INFO" if ENV.production else "WARNING"},
    # One line per request (request id, user id, route, status, duration) with
    # LOG_FORMAT=json; in plain mode gunicorn's access log already says it.
    "loggers": {"townhall.request": {"level": "INFO" if ENV.log_format == "json" else "WARNING"}},
}

# Townhall's own knobs.
TOWNHALL_LOGIN_THROTTLE = {"per_ip": 20, "per_account": 8, "window_seconds": 600}
TOWNHALL_INVITE_DAYS = 7
TOWNHALL_AVATAR_MAX_BYTES = 10 * 1024 * 1024
TOWNHALL_IMAGE_MAX_PIXELS = 40_000_000
TOWNHALL_CSV_MAX_BYTES = 5 * 1024 * 1024
