"""The search index: one row per searchable object, whatever app it comes from.

The text columns feed the full-text index the backend keeps beside this table (an
FTS5 table kept by triggers on SQLite; a generated tsvector column with a GIN index on
PostgreSQL: see the migrations). The access columns let every query restrict itself
to what the viewer may read, in SQL, before ranking (see registry.Source.scope).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

# The kinds matched by name (backends.base.NAME_KINDS; the backends import this module).
NAME_KINDS = ("person", "community", "topic")


class Document(models.Model):
    kind = models.CharField(max_length=20)  # "person", "community", "topic", "post", "comment"
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    # Space-separated #topic slugs (posts), matched by the `#topic` operator.
    tags = models.CharField(max_length=2000, blank=True)
    # Folded (lower-case, accent-free) title of people, communities and topics: the
    # trigram index behind partial-word and typo-tolerant name matching.
    name = models.CharField(max_length=300, blank=True)
    # What the `from:@handle` and `in:slug` operators name: a person's handle, a
    # community's or topic's slug.
    handle = models.CharField(max_length=150, blank=True)
    # Access and filter columns (ids from other apps, deliberately not foreign keys:
    # the platform app knows no domain model).
    author_id = models.BigIntegerField(null=True, blank=True)
    community_id = models.BigIntegerField(null=True, blank=True)
    thread_id = models.BigIntegerField(null=True, blank=True)  # the post of a post or comment
    created_at = models.DateTimeField()
    engagement = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_document_unique")]
        indexes = [
            models.Index(fields=["community_id"], name="search_doc_community"),
            models.Index(fields=["author_id"], name="search_doc_author"),
            models.Index(fields=["thread_id"], name="search_doc_thread"),
            # Only people, communities and topics have a handle and a name: partial
            # indexes, so PostgreSQL never mistakes them for a way to find one content kind.
            models.Index(fields=["kind", "handle"], name="search_doc_handle", condition=Q(kind__in=NAME_KINDS)),
            models.Index(fields=["kind", "name"], name="search_doc_name", condition=Q(kind__in=NAME_KINDS)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
