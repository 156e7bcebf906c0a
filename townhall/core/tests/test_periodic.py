"""Periodic jobs: each due run is enqueued once, however many workers look."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from townhall.core import periodic
from townhall.core.models import PeriodicJob

pytestmark = pytest.mark.django_db


@task()
def tick() -> str:
    return "tick"


def test_enqueue_due_claims_each_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(periodic, "_JOBS", {})
    periodic.register(name="test.tick", every=timedelta(minutes=5), task=tick)
    now = timezone.now()
    assert periodic.enqueue_due(now=now) == ["test.tick"]
    # A second worker looking at the same moment, and a minute later: not due.
    assert periodic.enqueue_due(now=now) == []
    assert periodic.enqueue_due(now=now + timedelta(minutes=1)) == []
    assert periodic.enqueue_due(now=now + timedelta(minutes=5)) == ["test.tick"]
    assert DBTaskResult.objects.filter(task_path__endswith="test_periodic.tick").count() == 2
    assert PeriodicJob.objects.get(name="test.tick").next_run_at == now + timedelta(minutes=10)


def test_notifications_register_the_digest_job() -> None:
    assert "notifications.digests" in [job.name for job in periodic.jobs()]
