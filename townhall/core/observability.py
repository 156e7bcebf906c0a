"""Request ids, one structured log line per request, and Prometheus-style metrics.

- Every request gets an id (a sane incoming `X-Request-ID` from the proxy, else a new
  one), echoed in the response header and attached to every log record written while
  it is handled (`RequestContextFilter`).
- With `LOG_FORMAT=json`, logs are one JSON object per line (`JsonFormatter`); the
  `townhall.request` logger writes request id, user id, method, path, route, status
  and duration for each request.
- `/metrics` (text exposition format): request counts and a latency histogram by route
  name, method and status class (summed over the server processes of the machine), task
  queue depth and failures, and worker heartbeats (from the database, so global).
  Other apps add gauges with `register_gauge` (core imports none of them). Readable
  with `Authorization: Bearer $METRICS_TOKEN`, or, with no token configured, only from
  loopback by a request that did not come through a proxy; anyone else gets the 404
  page.
"""

from __future__ import annotations

import contextlib
import contextvars
import hmac
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("townhall_request_id", default="")

request_logger = logging.getLogger("townhall.request")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# --- logging -----------------------------------------------------------------------------


class RequestContextFilter(logging.Filter):
    """Adds the `request_id` of the request being handled to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        return True


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request context
    and any `extra=` fields; exceptions as one string."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_") or value in ("", None):
                continue
            data[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


# --- metrics -----------------------------------------------------------------------------

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Series:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * len(BUCKETS)


Snapshot = dict[tuple[str, str, str], tuple[int, float, list[int]]]


class Metrics:
    """Request counters and latency histograms of this process. Every server process
    of a machine writes its own to `var/metrics/<host>-<pid>.json` (at most once a
    second, atomically), and the process answering a scrape adds up those of the live
    processes on its machine: one scrape target per machine, whichever process answers.
    A process's counts leave the sum when it exits (Prometheus reads that as a reset)."""

    FLUSH_EVERY = 1.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.series: dict[tuple[str, str, str], _Series] = {}
        self.started = time.time()
        self.dirty = False
        self.flusher_pid = 0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, f"{status // 100}xx")
        with self.lock:
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = _Series()
            series.count += 1
            series.total += seconds
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    series.buckets[index] += 1
            self.dirty = True
            if self.flusher_pid != os.getpid():  # first request of this (possibly forked) process
                self.flusher_pid = os.getpid()
                threading.Thread(target=self._flush_loop, name="townhall-metrics", daemon=True).start()

    def _flush_loop(self) -> None:
        while True:
            time.sleep(self.FLUSH_EVERY)
            if self.dirty:
                self.dirty = False
                self.flush()

    def snapshot(self) -> Snapshot:
        with self.lock:
            return {key: (s.count, s.total, list(s.buckets)) for key, s in self.series.items()}

    def flush(self) -> None:
        try:
            folder = _metrics_dir()
            folder.mkdir(parents=True, exist_ok=True)
            data = json.dumps([[*key, *value] for key, value in self.snapshot().items()])
            partial = folder / f".{_HOST}-{os.getpid()}.tmp"
            partial.write_text(data)
            os.replace(partial, folder / f"{_HOST}-{os.getpid()}.json")
        except OSError:  # metrics must never break a request
            logging.getLogger("townhall.metrics").warning("Could not write the metrics file", exc_info=True)

    def combined(self) -> Snapshot:
        """This process's series plus those of the other live processes on this machine."""
        total = self.snapshot()
        folder = _metrics_dir()
        if not folder.is_dir():
            return total
        for stale in folder.glob("*.json"):  # left by machines or containers long gone
            with contextlib.suppress(OSError):
                if not stale.name.startswith(f"{_HOST}-") and time.time() - stale.stat().st_mtime > 86400:
                    stale.unlink()
        for path in folder.glob(f"{_HOST}-*.json"):
            pid = path.stem.rsplit("-", 1)[-1]
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            if not _alive(int(pid)):
                path.unlink(missing_ok=True)
                continue
            try:
                rows = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for route, method, status, count, seconds, buckets in rows:
                key = (route, method, status)
                old = total.get(key, (0, 0.0, [0] * len(BUCKETS)))
                total[key] = (old[0] + count, old[1] + seconds, [a + b for a, b in zip(old[2], buckets, strict=True)])
        return total

    def reset(self) -> None:
        with self.lock:
            self.series.clear()


_HOST = re.sub(r"[^A-Za-z0-9._]", "_", socket.gethostname())[:60] or "host"


def _metrics_dir() -> Path:
    return Path(settings.ENV.var_dir) / "metrics"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


METRICS = Metrics()
_GAUGES: dict[str, tuple[str, Callable[[], list[tuple[dict[str, str], float]]]]] = {}


def register_gauge(name: str, help_text: str, read: Callable[[], list[tuple[dict[str, str], float]]]) -> None:
    """Add a gauge to /metrics: `read()` returns (labels, value) pairs at scrape time."""
    _GAUGES[name] = (help_text, read)


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{key}="{str(value).replace(chr(92), chr(92) * 2).replace(chr(10), " ").replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels.items()
    )
    return "{" + inner + "}"


def _database_gauges() -> list[str]:
    from django.db.models import Count
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from townhall.core.models import WorkerHeartbeat

    lines = [
        "# HELP townhall_task_queue_depth Tasks waiting to run (READY), by queue.",
        "# TYPE townhall_task_queue_depth gauge",
    ]
    ready = (
        DBTaskResult.objects.filter(status=TaskResultStatus.READY)
        .values("queue_name")
        .annotate(n=Count("id"))
        .order_by("queue_name")
    )
    queues = {row["queue_name"]: row["n"] for row in ready} or {"default": 0}
    lines += [f"townhall_task_queue_depth{_labels({'queue': q})} {n}" for q, n in queues.items()]
    lines += ["# HELP townhall_tasks Tasks by status.", "# TYPE townhall_tasks gauge"]
    by_status = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by())
    for status in TaskResultStatus:
        lines.append(f"townhall_tasks{_labels({'status': status.value})} {by_status.get(status.value, 0)}")
    now = datetime.now(UTC)
    beats = list(WorkerHeartbeat.objects.order_by("worker_id").values_list("worker_id", "seen_at"))
    alive = sum(1 for _, seen in beats if seen >= now - timedelta(seconds=60))
    lines += [
        "# HELP townhall_workers_alive Workers that sent a heartbeat in the last 60 s.",
        "# TYPE townhall_workers_alive gauge",
        f"townhall_workers_alive {alive}",
        "# HELP townhall_worker_heartbeat_age_seconds Seconds since each worker's last heartbeat.",
        "# TYPE townhall_worker_heartbeat_age_seconds gauge",
    ]
    lines += [
        f"townhall_worker_heartbeat_age_seconds{_labels({'worker': wid})} {(now - seen).total_seconds():.3f}"
        for wid, seen in beats
    ]
    return lines


def render_metrics() -> str:
    lines = [
        "# HELP townhall_http_requests_total Requests answered on this machine, by route name, method and status class.",
        "# TYPE townhall_http_requests_total counter",
    ]
    snapshot = METRICS.combined()
    for (route, method, status), (count, _total, _buckets) in sorted(snapshot.items()):
        lines.append(
            f"townhall_http_requests_total{_labels({'route': route, 'method': method, 'status': status})} {count}"
        )
    lines += [
        "# HELP townhall_http_request_duration_seconds Request latency on this machine, by route name.",
        "# TYPE townhall_http_request_duration_seconds histogram",
    ]
    by_route: dict[tuple[str, str], tuple[int, float, list[int]]] = {}
    for (route, method, _status), (count, total, buckets) in snapshot.items():
        old = by_route.get((route, method), (0, 0.0, [0] * len(BUCKETS)))
        by_route[(route, method)] = (
            old[0] + count,
            old[1] + total,
            [a + b for a, b in zip(old[2], buckets, strict=True)],
        )
    for (route, method), (count, total, buckets) in sorted(by_route.items()):
        base = {"route": route, "method": method}
        for bound, n in zip(BUCKETS, buckets, strict=True):
            lines.append(f"townhall_http_request_duration_seconds_bucket{_labels({**base, 'le': str(bound)})} {n}")
        lines.append(f"townhall_http_request_duration_seconds_bucket{_labels({**base, 'le': '+Inf'})} {count}")
        lines.append(f"townhall_http_request_duration_seconds_sum{_labels(base)} {total:.6f}")
        lines.append(f"townhall_http_request_duration_seconds_count{_labels(base)} {count}")
    lines += [
        "# HELP townhall_process_start_time_seconds When this process started.",
        "# TYPE townhall_process_start_time_seconds gauge",
        f"townhall_process_start_time_seconds{_labels({'pid': str(os.getpid())})} {METRICS.started:.3f}",
    ]
    lines += _database_gauges()
    for name, (help_text, read) in sorted(_GAUGES.items()):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{_labels(labels)} {value}" for labels, value in read()]
    return "\n".join(lines) + "\n"


def may_read_metrics(request: HttpRequest) -> bool:
    token = settings.ENV.metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    # No token: this machine only, and not a request a proxy on this machine passed on.
    forwarded = request.headers.get("X-Forwarded-For") or request.headers.get("X-Real-IP")
    return request.META.get("REMOTE_ADDR") in {"127.0.0.1", "::1"} and not forwarded


# --- middleware --------------------------------------------------------------------------


class ObservabilityMiddleware:
    """Request id, one log line and the metrics for every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request_id
            return response
        finally:
            duration = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            route = (match.view_name if match else "") or "unmatched"
            # Only a user the request already loaded: never a query just to log.
            user: Any = getattr(request, "user", None)
            user = getattr(user, "_wrapped", user)
            loaded = user is not None and user is not empty and getattr(user, "is_authenticated", False)
            user_id = str(user.pk) if loaded else ""
            METRICS.observe(route, request.method or "", status, duration)
            request_logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                status,
                duration * 1000,
                extra={
                    "request_id": request_id,
                    "user_id": user_id,
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                },
            )
            request_id_var.reset(token)
