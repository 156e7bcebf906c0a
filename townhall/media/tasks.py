"""Background tasks of the media app: adapters that take ids and call one service."""

from __future__ import annotations

from django_tasks import TaskContext, task

from townhall.core.worker import MAX_ATTEMPTS
from townhall.media.previews import preview_fetch


@task(takes_context=True)
def fetch_link_preview(context: TaskContext, preview_id: int) -> str:
    """Fetch one link preview; retried with backoff on transient network failures."""
    return preview_fetch(preview_id=preview_id, final_attempt=context.attempt >= MAX_ATTEMPTS)
