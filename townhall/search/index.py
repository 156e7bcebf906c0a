"""Writes to the search index. Content apps call these from their services; the
index changes only after the content's transaction commits (a rolled-back write
never shows up in search), and a failure there is logged, never raised into the
request that already committed (`townhall reindex` repairs any drift).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from functools import partial
from itertools import islice

from django.db import transaction

from townhall.search import registry
from townhall.search.backends import backend
from townhall.search.backends.base import NAME_KINDS
from townhall.search.models import Document
from townhall.search.registry import DocumentData
from townhall.search.text import fold

logger = logging.getLogger(__name__)
BATCH = 2000


def _row(kind: str, data: DocumentData) -> Document:
    return Document(
        kind=kind,
        object_id=data.object_id,
        title=data.title[:300],
        body=data.body,
        tags=data.tags[:2000],
        name=fold(data.title)[:300] if kind in NAME_KINDS else "",
        handle=data.handle.lower()[:150],
        author_id=data.author_id,
        community_id=data.community_id,
        thread_id=data.thread_id,
        created_at=data.created_at,
        engagement=max(0, data.engagement),
    )


_FIELDS = (
    "title",
    "body",
    "tags",
    "name",
    "handle",
    "author_id",
    "community_id",
    "thread_id",
    "created_at",
    "engagement",
)


def index_now(kind: str, object_ids: Iterable[int]) -> None:
    """Bring the documents of these objects up to date now: build each from its
    live row; remove those the source says are gone (deleted, or not searchable)."""
    source = registry.get(kind)
    if source is None:
        return
    for object_id in dict.fromkeys(object_ids):
        data = source.build(object_id)
        if data is None:
            Document.objects.filter(kind=kind, object_id=object_id).delete()
            continue
        row = _row(kind, data)
        Document.objects.update_or_create(
            kind=kind, object_id=object_id, defaults={field: getattr(row, field) for field in _FIELDS}
        )


def index_on_commit(kind: str, object_ids: Iterable[int]) -> None:
    """index_now after the current transaction commits (at once outside one)."""
    ids = list(object_ids)
    if ids:
        transaction.on_commit(partial(index_now, kind, ids), robust=True)


def remove_on_commit(kind: str, object_ids: Iterable[int]) -> None:
    ids = list(object_ids)
    if ids:
        transaction.on_commit(
            lambda: Document.objects.filter(kind=kind, object_id__in=ids).delete(),  # type: ignore[arg-type]
            robust=True,
        )


class _Pending(threading.local):
    """Engagement refreshes queued on this thread's connection, per kind."""

    def __init__(self) -> None:
        self.ids: dict[str, set[int]] = {}


_pending = _Pending()


def engagement_on_commit(kind: str, object_ids: Iterable[int]) -> None:
    """After commit, bring only the engagement column of these documents up to date,
    from the live rows (the source's `engagement` expression): no rebuild, no
    re-tokenising (the full-text index does not read that column). Every id queued
    before the commit, however many calls, goes into one UPDATE per kind: the first
    of the queued callbacks takes them all, the others find nothing left (a burst of
    reactions in one transaction is one statement). The value is read at that moment,
    so an id left over from a rolled-back savepoint only costs a no-op. A kind without
    an `engagement` expression is rebuilt instead (index_on_commit)."""
    ids = {int(pk) for pk in object_ids}
    source = registry.get(kind)
    if not ids or source is None:
        return
    if source.engagement is None:
        index_on_commit(kind, ids)
        return
    _pending.ids.setdefault(kind, set()).update(ids)
    transaction.on_commit(_flush_engagement, robust=True)


def _flush_engagement() -> None:
    pending, _pending.ids = _pending.ids, {}
    for kind, ids in pending.items():
        source = registry.get(kind)
        if source is None or source.engagement is None:
            continue
        ordered = sorted(ids)
        for start in range(0, len(ordered), BATCH):
            chunk = ordered[start : start + BATCH]
            Document.objects.filter(kind=kind, object_id__in=chunk).update(engagement=source.engagement())


def update_thread_on_commit(*, thread_id: int, community_id: int | None) -> None:
    """A post moved: its documents and its comments' follow it at once after commit."""
    transaction.on_commit(
        lambda: Document.objects.filter(thread_id=thread_id, kind__in=("post", "comment")).update(
            community_id=community_id
        ),
        robust=True,
    )


def reindex(kinds: Iterable[str] | None = None) -> dict[str, tuple[int, float]]:
    """Rebuild the documents of `kinds` (all registered kinds when None) from the
    live rows, in one transaction: searches keep seeing the old index until it
    commits. Posts and comments are written in the order they were created, merged
    (documents' ids are the recency order the backends rank the newest matches by).
    Returns {kind: (documents, seconds)}."""
    wanted = registry.kinds() if kinds is None else [kind for kind in kinds if registry.get(kind)]
    everything = kinds is None
    report: dict[str, tuple[int, float]] = {}
    engine = backend()
    with transaction.atomic():
        if everything:
            engine.rebuild_begin()
        else:
            Document.objects.filter(kind__in=wanted).delete()
        names = [kind for kind in wanted if kind in NAME_KINDS]
        content = [kind for kind in wanted if kind not in NAME_KINDS]
        for kind in names:
            started = time.perf_counter()
            written = _write_all((kind, data) for data in _source(kind).build_all())
            report[kind] = (written.get(kind, 0), time.perf_counter() - started)
        if content:
            started = time.perf_counter()
            streams = [_tagged(kind) for kind in content]
            merged = heapq.merge(*streams, key=lambda pair: (pair[1].created_at, pair[1].object_id))
            written = _write_all(merged)
            seconds = time.perf_counter() - started  # the merged kinds share one figure
            for kind in content:
                report[kind] = (written.get(kind, 0), seconds)
        if everything:
            started = time.perf_counter()
            engine.rebuild_end()
            report["(index)"] = (0, time.perf_counter() - started)
    started = time.perf_counter()
    engine.rebuild_committed()
    report["(tidy)"] = (0, time.perf_counter() - started)
    return report


def _tagged(kind: str) -> Iterator[tuple[str, DocumentData]]:
    for data in _source(kind).build_all():
        yield kind, data


def _source(kind: str) -> registry.Source:
    source = registry.get(kind)
    assert source is not None
    return source


def _write_all(pairs: Iterable[tuple[str, DocumentData]]) -> dict[str, int]:
    """Insert in batches; how many were written per kind."""
    counts: dict[str, int] = {}
    pending = iter(pairs)
    while batch := list(islice(pending, BATCH)):
        Document.objects.bulk_create([_row(kind, data) for kind, data in batch])
        for kind, _data in batch:
            counts[kind] = counts.get(kind, 0) + 1
    return counts
