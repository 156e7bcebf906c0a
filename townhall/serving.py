"""Runs Townhall under gunicorn from inside the `townhall` command.

Threaded WSGI workers serve pages and the API: on this kind of machine Django's WSGI
path measured ~2k req/s against a few hundred for its ASGI handler (ARCHITECTURE.md).
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _App(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from townhall.config.wsgi import application

        return application


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    _App(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "accesslog": "-",
            "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
            "errorlog": "-",
            "loglevel": "warning",
            "forwarded_allow_ips": "127.0.0.1",
            "max_requests": 5000,
            "max_requests_jitter": 500,
        }
    ).run()


def sign_in_banner() -> str:
    """How to sign in to the demo organisation, if it was loaded here."""
    from django.conf import settings

    path = settings.ENV.var_dir / "demo-credentials.txt"
    if not path.exists():
        return ""
    return path.read_text().strip()
