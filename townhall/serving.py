"""Runs Townhall's web server from inside the `townhall` command.

Default: uvicorn serving townhall.config.asgi, which sends /events/ (live updates) to
Django's async view and everything else to the WSGI application in a thread pool: on
this kind of machine Django's WSGI path measured ~2k req/s against a few hundred for
its ASGI handler (ARCHITECTURE.md), while SSE needs an async server. `--server
gunicorn` keeps threaded WSGI workers for pages and the API only.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType
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


# Idle keep-alive connections stay open this long (see run_uvicorn).
KEEP_ALIVE_SECONDS = 75


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
            "keepalive": KEEP_ALIVE_SECONDS,
        }
    ).run()


def run_uvicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    """uvicorn serving townhall.config.asgi: /events/ async, the rest of the site in a
    pool of `threads` threads per process (a2wsgi)."""
    import os

    import uvicorn

    os.environ["WEB_THREADS"] = str(threads)
    uvicorn.run(
        "townhall.config.asgi:application",
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        # Open event streams would hold a graceful stop forever: they are cut after
        # 5 s and the browsers reconnect (with Last-Event-ID) to another process.
        timeout_graceful_shutdown=5,
        # Longer than the idle timeout of the proxies and clients that reuse
        # connections (60 s at common load balancers; up to 5 s between a load-test
        # member's actions): closing an idle connection at the moment a client sends on
        # it drops that request (uvicorn's 5 s default did, in bench/load.py).
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        backlog=4096,
        log_level="warning",
        access_log=True,
    )


def sign_in_banner(*, address: str) -> str:
    """How to sign in to the demo organisation, if it was loaded here, at the address
    being served (the saved note names the default one)."""
    from django.conf import settings

    path = settings.ENV.var_dir / "demo-credentials.txt"
    if not path.exists():
        return ""
    return re.sub(r"https?://\S+?/signin", f"{address.rstrip('/')}/signin", path.read_text().strip())


@dataclass(frozen=True)
class Child:
    """A process `supervise` runs: `restart` ones come back after a crash (workers);
    when one that does not restart ends (the web server), everything stops."""

    label: str
    argv: list[str]
    restart: bool


def _die_with_parent() -> None:
    # Children run in their own session (so a terminal's Ctrl+C reaches only the
    # supervisor, which then stops each child exactly once); ask Linux to stop them
    # if the supervisor itself is killed outright.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(child: Child) -> subprocess.Popen[bytes]:
    return subprocess.Popen(child.argv, start_new_session=True, preexec_fn=_die_with_parent)  # noqa: S603 - our own argv


def supervise(children: list[Child]) -> int:
    """Run `children` until one that does not restart exits or a SIGINT/SIGTERM
    arrives. The first signal is passed on to every child (gunicorn: INT quick, TERM
    graceful; workers finish their current task either way), a second is passed on
    again (workers then interrupt the task, which is retried), a third kills. Crashed
    restartable children (exit code not 0) come back after 1, 2, 4 ... 30 s. Returns the exit code of
    the first non-restartable child to end (0 when stopped by a signal)."""

    @dataclass
    class Run:
        child: Child
        process: subprocess.Popen[bytes] | None = None
        started: float = 0.0
        backoff: float = 0.5
        start_at: float = 0.0
        done: bool = False

    runs = [Run(child) for child in children]
    signals_seen = 0
    exit_code: int | None = None

    def stop_all(signum: int) -> None:
        for run in runs:
            if run.process is not None and run.process.poll() is None:
                run.process.send_signal(signum)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        stop_all(signal.SIGKILL if signals_seen >= 3 else signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            now = time.monotonic()
            for run in runs:
                if run.done:
                    continue
                if run.process is None:
                    if signals_seen:
                        run.done = True
                    elif now >= run.start_at:
                        run.process, run.started = _start(run.child), now
                    continue
                code = run.process.poll()
                if code is None:
                    continue
                run.process = None
                if signals_seen or (run.child.restart and code == 0):
                    run.done = True
                elif run.child.restart:
                    run.backoff = 1.0 if now - run.started > 60 else min(run.backoff * 2, 30.0)
                    run.start_at = now + run.backoff
                    print(
                        f"townhall: {run.child.label} exited ({code}); restarting in {run.backoff:.0f} s",
                        file=sys.stderr,
                    )
                else:
                    run.done = True
                    exit_code = code
                    signals_seen = max(signals_seen, 1)
                    stop_all(signal.SIGTERM)
            if all(run.done for run in runs):
                break
            time.sleep(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_code or 0
