from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class WorkerHeartbeat(models.Model):
    """One row per running task worker (townhall.core.worker), refreshed every few
    seconds. django-tasks-db records which worker claimed a task but not whether that
    worker is still alive: a RUNNING task whose worker stopped beating is re-queued."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.worker_id


class PeriodicJob(models.Model):
    """When each periodic job (townhall.core.periodic) runs next. Workers claim a due
    run by moving `next_run_at` forward with a compare-and-set."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """One write that must happen at most once (townhall/core/idempotency.py): an API
    `Idempotency-Key` or the one-time token of a composer or comment form, scoped to
    its user, method and path. Written in the same transaction as what the request
    created, with the answer to replay; pruned after a day by a periodic job."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)  # 0 while the first request runs
    content_type = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=2000, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "method", "path", "key"], name="core_idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.key}"
