"""Core's own tasks (run by `townhall worker`)."""

from __future__ import annotations

from django_tasks import task

from townhall.core.idempotency import prune


@task()
def prune_idempotency_keys() -> int:
    """The periodic job: forget Idempotency-Keys and form tokens older than a day."""
    return prune()
