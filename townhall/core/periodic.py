"""Periodic jobs for the task worker (django-tasks has no scheduler).

Apps register a task and an interval in `AppConfig.ready()`; core imports none of them.
Every worker's housekeeping thread calls `enqueue_due()` now and then: a job whose
`next_run_at` has passed is claimed with a compare-and-set on that column, so however
many workers run, each due run is enqueued once. The job itself runs as an ordinary
task (retries, re-queue of lost work), and must be idempotent like every task: a
worker dying between the claim and the enqueue skips one run, it never doubles one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from townhall.core.models import PeriodicJob

logger = logging.getLogger("townhall.worker")


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    task: Any  # a django_tasks Task taking no arguments


_JOBS: dict[str, Job] = {}


def register(*, name: str, every: timedelta, task: Any) -> None:
    _JOBS[name] = Job(name=name, every=every, task=task)


def jobs() -> list[Job]:
    return [_JOBS[name] for name in sorted(_JOBS)]


def enqueue_due(*, now: Any = None) -> list[str]:
    """Enqueue every registered job that is due; returns the names enqueued."""
    now = now or timezone.now()
    started: list[str] = []
    for job in jobs():
        row = PeriodicJob.objects.filter(name=job.name).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = PeriodicJob.objects.create(name=job.name, next_run_at=now)
            except IntegrityError:  # another worker created it first
                continue
        if row.next_run_at > now:
            continue
        claimed = PeriodicJob.objects.filter(name=job.name, next_run_at=row.next_run_at).update(
            next_run_at=now + job.every, last_run_at=now
        )
        if claimed:
            job.task.enqueue()
            started.append(job.name)
            logger.info("Periodic job %s enqueued", job.name)
    return started
