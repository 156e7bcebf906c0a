"""The one typed reader of Townhall's configuration.

Every setting comes from an environment variable; nothing else is read. `load()`
returns a frozen `Env`; `problems()` lists what makes a production configuration
unsafe, so `townhall serve` and `townhall check` can refuse to start and say why.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]


def _bool(value: str | None, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False


def parse_email_url(url: str) -> EmailConfig:
    """`console://`, `memory://`, `smtp://user:pass@host:port` (add `?tls=1` for
    STARTTLS), `smtp+tls://...` (STARTTLS, port 587 by default) or `smtps://...` /
    `smtp+ssl://...` (implicit TLS, port 465 by default)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return EmailConfig(backend="django.core.mail.backends.console.EmailBackend")
    if scheme == "memory":
        return EmailConfig(backend="django.core.mail.backends.locmem.EmailBackend")
    if scheme not in {"smtp", "smtps", "smtp+tls", "smtp+ssl"}:
        raise ValueError(f"EMAIL_URL: unsupported scheme {scheme!r} (use smtp://, smtp+tls://, smtps:// or console://)")
    query = parse_qs(parts.query)
    use_ssl = scheme in {"smtps", "smtp+ssl"}
    use_tls = scheme == "smtp+tls" or _bool((query.get("tls") or [""])[0], default=False)
    return EmailConfig(
        backend="django.core.mail.backends.smtp.EmailBackend",
        host=parts.hostname or "localhost",
        port=parts.port or (465 if use_ssl else 587 if scheme == "smtp+tls" else 25),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_ssl=use_ssl,
        use_tls=use_tls and not use_ssl,
    )


@dataclass(frozen=True)
class Env:
    production: bool
    debug: bool
    var_dir: Path
    secret_key: str
    secret_key_from_env: bool
    database_url: str
    redis_url: str
    allowed_hosts: list[str]
    base_url: str
    email_url: str
    email: EmailConfig
    default_from_email: str
    media_root: Path
    static_root: Path
    csrf_trusted_origins: list[str] = field(default_factory=list)
    log_format: str = "plain"  # LOG_FORMAT: "plain" or "json" (one JSON object per line)
    metrics_token: str = ""  # METRICS_TOKEN: bearer token for /metrics (unset: loopback only)
    media_storage_url: str = ""  # MEDIA_STORAGE_URL: s3://KEY:SECRET@BUCKET/PREFIX?endpoint_url=... (unset: MEDIA_ROOT)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _secret_key(var_dir: Path) -> tuple[str, bool]:
    from_env = os.environ.get("SECRET_KEY", "")
    if from_env:
        return from_env, True
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip(), False
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # Created with O_EXCL so two processes starting at once cannot write different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key, False


def _log_format(value: str) -> str:
    value = value.strip().lower() or "plain"
    if value not in {"plain", "json"}:
        raise ValueError(f"LOG_FORMAT: {value!r} is not one of plain, json")
    return value


def load() -> Env:
    production = os.environ.get("TOWNHALL_ENV", "development").strip().lower() == "production"
    var_dir = Path(os.environ.get("TOWNHALL_VAR_DIR", str(REPO_ROOT / "var"))).resolve()
    secret_key, from_env = _secret_key(var_dir)
    database_url = os.environ.get("DATABASE_URL", "") or f"sqlite:///{var_dir / 'townhall.sqlite3'}"
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    email_url = os.environ.get("EMAIL_URL", "" if production else "console://")
    allowed_hosts = _list(os.environ.get("ALLOWED_HOSTS")) or (
        [] if production else ["127.0.0.1", "localhost", "[::1]", "testserver"]
    )
    base_host = urlsplit(base_url).hostname
    if base_host and base_host not in allowed_hosts and not production:
        allowed_hosts.append(base_host)
    return Env(
        production=production,
        debug=_bool(os.environ.get("DEBUG"), default=False),
        var_dir=var_dir,
        secret_key=secret_key,
        secret_key_from_env=from_env,
        database_url=database_url,
        redis_url=os.environ.get("REDIS_URL", ""),
        allowed_hosts=allowed_hosts,
        base_url=base_url,
        email_url=email_url,
        email=parse_email_url(email_url or "console://"),
        default_from_email=os.environ.get("DEFAULT_FROM_EMAIL", "Townhall <townhall@localhost>"),
        media_root=Path(os.environ.get("MEDIA_ROOT", str(var_dir / "media"))).resolve(),
        static_root=Path(os.environ.get("STATIC_ROOT", str(var_dir / "static"))).resolve(),
        csrf_trusted_origins=_list(os.environ.get("CSRF_TRUSTED_ORIGINS")) or [base_url],
        log_format=_log_format(os.environ.get("LOG_FORMAT", "")),
        metrics_token=os.environ.get("METRICS_TOKEN", "").strip(),
        media_storage_url=os.environ.get("MEDIA_STORAGE_URL", "").strip(),
    )


def media_storage(url: str) -> dict[str, object]:
    """STORAGES["default"] for MEDIA_STORAGE_URL (empty: files under MEDIA_ROOT).

    `s3://ACCESS_KEY:SECRET_KEY@BUCKET/OPTIONAL/PREFIX?endpoint_url=https://s3.example.com&region=eu-west-1`
    (percent-encode the secret; without keys, boto3's usual sources apply: AWS_ACCESS_KEY_ID,
    instance roles). `addressing_style=path` for servers that need it (MinIO, moto). The
    bucket stays private: Townhall serves every file itself (core/storage.py)."""
    if not url:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname:
        raise ValueError("MEDIA_STORAGE_URL must look like s3://KEY:SECRET@BUCKET/PREFIX?endpoint_url=...")
    query = dict(parse_qsl(parts.query))
    unknown = set(query) - {"endpoint_url", "region", "addressing_style"}
    if unknown:
        raise ValueError(f"MEDIA_STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}")
    options: dict[str, object] = {
        "bucket_name": parts.hostname,
        "location": parts.path.strip("/"),
        "default_acl": None,  # private objects: the bucket's own policy, no public ACL
        "file_overwrite": False,  # a new name for every upload, as on disk
        "querystring_auth": True,
    }
    if parts.username:
        options["access_key"] = unquote(parts.username)
        options["secret_key"] = unquote(parts.password or "")
    if "endpoint_url" in query:
        options["endpoint_url"] = query["endpoint_url"]
    if "region" in query:
        options["region_name"] = query["region"]
    if "addressing_style" in query:
        options["addressing_style"] = query["addressing_style"]
    return {"BACKEND": "townhall.core.storage.MediaS3Storage", "OPTIONS": options}


def problems(env: Env) -> list[str]:
    """What makes this configuration unsafe for production, one sentence each."""
    if not env.production:
        return []
    found: list[str] = []
    if env.debug:
        found.append("DEBUG is on: set DEBUG=0 in production.")
    if not env.secret_key_from_env or len(env.secret_key) < 50:
        found.append("SECRET_KEY must be set in the environment, at least 50 characters, in production.")
    if not env.allowed_hosts or "*" in env.allowed_hosts:
        found.append("ALLOWED_HOSTS must list this site's host names (not '*') in production.")
    if not env.base_url.startswith("https://"):
        found.append("BASE_URL must start with https:// in production.")
    if not env.email_url or env.email_url.startswith(("console", "memory")):
        found.append("EMAIL_URL must be an smtp:// or smtps:// URL in production.")
    return found
