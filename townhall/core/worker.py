"""Townhall's task worker: django-tasks-db's own worker loop plus the two things that
library leaves out.

- Lost work is re-queued. Each worker process writes a heartbeat row every few
  seconds (a thread, so it keeps beating during a long task). Every worker also
  sweeps for RUNNING tasks whose claiming worker has not beaten for `stale_after`
  seconds (it was killed, its machine died) and puts them back to READY. The sweep is
  a compare-and-set on (status, started_at), so two workers sweeping at once re-queue
  a task once.
- Periodic jobs. Every `periodic_every` seconds the housekeeping thread enqueues the
  registered jobs that are due (townhall.core.periodic; a compare-and-set keeps
  several workers from enqueuing one run twice).
- Retries with backoff. A task that raises `RetryableError` (or was interrupted by a
  forced shutdown) goes back to READY with `run_after` pushed out by
  `retry_backoff * 4 ** (attempt - 1)` seconds. Attempts are the claims recorded in
  django-tasks-db's `worker_ids`, so a re-queue after a dead worker counts too: after
  MAX_ATTEMPTS claims a task stays FAILED (a task that kills its worker cannot loop).

Tasks must therefore be idempotent (ARCHITECTURE.md rule 5): any of them may run again
after dying half way. `townhall worker` runs this; plain `db_worker` has no heartbeat,
so its tasks would look lost to the sweep: don't mix the two on one queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from townhall.core import periodic
from townhall.core.models import WorkerHeartbeat

logger = logging.getLogger("townhall.worker")

MAX_ATTEMPTS = 3


class RetryableError(Exception):
    """Raise from a task to have it run again later (a transient failure: a timeout,
    a remote 5xx). Anything else fails the task at once."""


class WorkerLost(Exception):
    """Recorded as the error of a task whose worker died on its last attempt."""


# Exceptions that mean "stopped from outside", not "the task is broken".
_INTERRUPTIONS = (SystemExit, KeyboardInterrupt)


@dataclass(frozen=True)
class WorkerConfig:
    interval: float = 1.0  # seconds between polls of an empty queue
    heartbeat: float = 5.0  # seconds between heartbeats
    stale_after: float = 60.0  # a worker silent this long is dead
    sweep_every: float = 15.0  # seconds between sweeps for lost tasks
    retry_backoff: float = 10.0  # first retry delay; x4 for each further attempt
    periodic_every: float = 60.0  # seconds between looks for due periodic jobs (0 = never)
    max_attempts: int = MAX_ATTEMPTS


def new_worker_id() -> str:
    # Host and pid first: an operator reading worker_ids can tell where a task ran.
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(8)}"[:64]


def beat(worker_id: str) -> None:
    now = timezone.now()
    if not WorkerHeartbeat.objects.filter(worker_id=worker_id).update(seen_at=now):
        WorkerHeartbeat.objects.create(
            worker_id=worker_id, hostname=socket.gethostname()[:255], pid=os.getpid(), started_at=now, seen_at=now
        )


def requeue_lost_tasks(*, stale_after: float, max_attempts: int = MAX_ATTEMPTS) -> int:
    """Put RUNNING tasks whose worker stopped heartbeating back to READY (or FAILED
    once they used their attempts). Returns how many were re-queued or failed."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_after)
    live = set(WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    changed = 0
    candidates = DBTaskResult.objects.running().filter(started_at__lt=cutoff).only("id", "worker_ids", "started_at")
    for task in candidates:
        owner = task.worker_ids[-1] if task.worker_ids else ""
        if owner in live:
            continue
        same_claim = DBTaskResult.objects.filter(
            pk=task.pk, status=TaskResultStatus.RUNNING, started_at=task.started_at
        )
        if len(task.worker_ids) >= max_attempts:
            done = same_claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=f"WorkerLost: worker {owner} stopped heartbeating on attempt {len(task.worker_ids)}\n",
            )
            verb = "failed"
        else:
            done = same_claim.update(status=TaskResultStatus.READY)
            verb = "re-queued"
        if done:
            logger.warning("Task %s of dead worker %s %s", task.pk, owner, verb)
            changed += done
    # Rows of workers gone for a day only make the liveness query slower.
    WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return changed


def _is_retryable(exception_class_path: str) -> bool:
    try:
        cls = import_string(exception_class_path)
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, (RetryableError, *_INTERRUPTIONS))


def schedule_retry(task: DBTaskResult, *, retry_backoff: float, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """If `task` just failed with a retryable error and has attempts left, put it back
    to READY after a backoff. Returns whether it will run again."""
    if task.status != TaskResultStatus.FAILED or not _is_retryable(task.exception_class_path):
        return False
    attempts = len(task.worker_ids)
    if attempts >= max_attempts:
        return False
    interrupted = any(task.exception_class_path.endswith(f".{cls.__qualname__}") for cls in _INTERRUPTIONS)
    delay = 0.0 if interrupted else retry_backoff * 4 ** (attempts - 1)
    run_after = timezone.now() + timedelta(seconds=delay)
    updated = DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.FAILED).update(
        status=TaskResultStatus.READY, run_after=run_after, finished_at=None
    )
    if updated:
        logger.warning("Task %s failed on attempt %d; retrying in %.0f s", task.pk, attempts, delay)
    return bool(updated)


class TownhallWorker(Worker):
    def __init__(self, *, config: WorkerConfig, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.config = config

    def run_task(self, db_task_result: DBTaskResult) -> None:
        super().run_task(db_task_result)
        try:
            schedule_retry(
                db_task_result, retry_backoff=self.config.retry_backoff, max_attempts=self.config.max_attempts
            )
        except DatabaseError:
            logger.exception("Could not schedule a retry of task %s", db_task_result.pk)


class _Housekeeper(threading.Thread):
    """Heartbeat plus the periodic sweep, off the main thread so that a long task
    does not make its own worker look dead."""

    def __init__(self, worker_id: str, config: WorkerConfig) -> None:
        super().__init__(name="townhall-worker-housekeeping", daemon=True)
        self.worker_id = worker_id
        self.config = config
        self.stopped = threading.Event()

    def run(self) -> None:
        next_sweep = time.monotonic() + self.config.sweep_every
        next_periodic = time.monotonic() + self.config.periodic_every
        while not self.stopped.wait(self.config.heartbeat):
            try:
                beat(self.worker_id)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.config.sweep_every
                    requeue_lost_tasks(stale_after=self.config.stale_after, max_attempts=self.config.max_attempts)
                if self.config.periodic_every and time.monotonic() >= next_periodic:
                    next_periodic = time.monotonic() + self.config.periodic_every
                    periodic.enqueue_due()
            except Exception:  # a broken beat must never kill the beating
                logger.exception("Worker housekeeping failed; trying again")
            finally:
                connection.close()


def run_worker(
    *,
    config: WorkerConfig | None = None,
    queues: tuple[str, ...] = ("*",),
    batch: bool = False,
    max_tasks: int | None = None,
    worker_id: str | None = None,
    handle_signals: bool = False,
) -> None:
    """Run tasks until stopped (SIGINT/SIGTERM finish the current task first; a second
    signal interrupts it, and it is retried). With `batch`, run what is due and return.
    Tests may call it in-process with `batch=True`, from a `transaction=True` test: the
    loop closes connections between tasks, which a test wrapped in a transaction cannot take."""
    config = config or WorkerConfig()
    worker_id = worker_id or new_worker_id()
    # Beat before claiming anything, so no claimed task ever looks ownerless.
    beat(worker_id)
    requeue_lost_tasks(stale_after=config.stale_after, max_attempts=config.max_attempts)
    worker = TownhallWorker(
        config=config,
        queue_names=list(queues),
        interval=config.interval,
        batch=batch,
        backend_name="default",
        startup_delay=not batch,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    housekeeper = _Housekeeper(worker_id, config)
    housekeeper.start()
    if handle_signals:
        worker.configure_signals()
    logger.info("Worker %s started", worker_id)
    try:
        worker.run()
    finally:
        housekeeper.stopped.set()
        housekeeper.join(timeout=config.heartbeat + 5)
        with contextlib.suppress(DatabaseError):  # a stale row is treated as gone anyway
            WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
        logger.info("Worker %s stopped", worker_id)
