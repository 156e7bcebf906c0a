"""What every search backend does, and the SQL both share.

A backend receives a parsed query (only letters and digits reach it) and a Django `Q`
on Document holding the viewer's access scope and the filters. It compiles that `Q`
into the WHERE clause of the same statement as the text match, so ranking, counting
and paging only ever see documents the viewer may read.

Relevance (see docs/search.md): text rank x freshness x engagement, where
freshness = 1 + 0.3 * 30 / (30 + age in days) and
engagement = 1 + 0.2 * n / (n + 10) for n reactions + comments + shares (or members,
posts). Both factors are bounded, so text match always dominates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection
from django.db.models import Count, Q

from townhall.search.models import NAME_KINDS, Document
from townhall.search.query import ParsedQuery

__all__ = ["NAME_KINDS"]  # defined beside the model; backends and selectors import it from here

# Posts and comments: only the newest CANDIDATES matches the viewer may see are ranked
# (and counted; more shows as "1,000+"), so a very common word costs the same at 10k
# or 10M posts (each candidate is scored: 2,000 of them cost 25-45 ms on the
# 1M-post SQLite dataset). People, communities and topics have an index of their own
# and are always matched exactly.
CANDIDATES = 1000
# How close a misspelt name must be (share of the query's trigrams found in a word).
MIN_SIMILARITY = 0.5
ENGAGEMENT = "(1 + 0.2 * search_document.engagement / (search_document.engagement + 10.0))"


@dataclass(frozen=True)
class Row:
    id: int
    kind: str
    object_id: int
    score: float
    created_at: Any = None  # a number growing with the creation time (sorting newest first)


@dataclass(frozen=True)
class Where:
    """A compiled condition on search_document: compile a scope once per search and
    reuse it for the count and every group's page (compiling costs milliseconds)."""

    sql: str
    params: tuple[Any, ...]

    def and_sql(self, sql: str, params: Sequence[Any]) -> Where:
        """This condition and `sql` (one predicate, or parenthesised by the caller)."""
        return Where(f"({self.sql}) AND {sql}", (*self.params, *params))

    def and_kind(self, kind: str) -> Where:
        return self.and_sql("search_document.kind = %s", [kind])


def compile_where(condition: Q | Where) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) Django would write for
    `Document.objects.filter(condition)`, columns qualified with `search_document`."""
    if isinstance(condition, Where):
        return condition.sql, list(condition.params)
    query = Document.objects.filter(condition).query
    compiler = query.get_compiler(connection=connection)
    try:
        sql, params = compiler.compile(query.where)
    except EmptyResultSet:  # e.g. a scope for a viewer who may see nothing
        return "1=0", []
    except FullResultSet:
        return "1=1", []
    return sql or "1=1", list(params)


def names_where(condition: Q | Where) -> tuple[str, list[Any]]:
    """`condition` narrowed to people, communities and topics, compiled (a Where
    compiled once per keystroke is narrowed without compiling it again)."""
    if isinstance(condition, Where):
        narrowed = condition.and_sql(*kinds_sql(NAME_KINDS))
        return narrowed.sql, list(narrowed.params)
    return compile_where(condition & Q(kind__in=NAME_KINDS))


def kinds_sql(kinds: Sequence[str]) -> tuple[str, list[Any]]:
    """A top-level kind filter (lets PostgreSQL use the partial index for names)."""
    return "search_document.kind IN (" + ", ".join(["%s"] * len(kinds)) + ")", list(kinds)


def trim_counts(counts: dict[str, int]) -> dict[str, int]:
    """Counting reads one match past the cap to know it was reached: drop it again."""
    biggest = max(counts, key=counts.__getitem__)
    return {**counts, biggest: counts[biggest] - 1}


def is_names(kinds: Sequence[str]) -> bool:
    return all(kind in NAME_KINDS for kind in kinds)


def compiled(condition: Q) -> Where:
    sql, params = compile_where(condition)
    return Where(sql, tuple(params))


class Backend:
    """Subclasses implement text matching; listing without text is shared."""

    vendor = ""

    def search(
        self,
        parsed: ParsedQuery,
        condition: Q | Where,
        *,
        kinds: Sequence[str],
        sort: str,
        limit: int,
        offset: int,
        partial: bool = False,
        cap: int | None = None,
    ) -> list[Row]:
        """Matches among `kinds` (all name kinds, or none of them), best (or newest)
        first. Content kinds: among the newest `cap` (CANDIDATES) matches."""
        raise NotImplementedError

    def count(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> tuple[dict[str, int], bool]:
        """Matches per kind, and whether counting stopped at CANDIDATES."""
        raise NotImplementedError

    def candidates(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> list[Row]:
        """Posts and comments: the newest CANDIDATES + 1 matches the viewer may see
        (one more tells that there are more), each with its score, newest first."""
        raise NotImplementedError

    def names(self, words: tuple[str, ...], condition: Q | Where, *, limit: int) -> list[Row]:
        """People, communities and topics whose folded name contains the words or
        nearly does (typos): partial-word and typo-tolerant matching."""
        raise NotImplementedError

    def names_containing(self, words: tuple[str, ...], condition: Q | Where, *, limit: int) -> list[Row]:
        """People, communities and topics whose folded name contains every word
        (each at least 3 letters), shortest names first."""
        raise NotImplementedError

    def names_starting(self, prefix: str, condition: Q, *, limit: int) -> list[Row]:
        """Names that start with `prefix` (an index range, for 1-2 letters)."""
        rows = (
            Document.objects.filter(condition, kind__in=NAME_KINDS, name__gte=prefix, name__lt=prefix + "\uffff")
            .order_by("name", "id")
            .values_list("id", "kind", "object_id")[:limit]
        )
        return [Row(id=i, kind=k, object_id=o, score=1.0) for i, k, o in rows]

    def rebuild_begin(self) -> None:
        """Before a full rebuild: empty the index the fastest way."""
        Document.objects.all().delete()

    def rebuild_end(self) -> None:
        """After a full rebuild, inside its transaction."""

    def rebuild_committed(self) -> None:
        """After the rebuild's transaction committed (tidy the index, refresh statistics)."""

    def analyzed(self) -> None:
        """After ANALYZE ran on the whole database (bulk loaders call this): correct
        what the statistics say about the full-text index's own tables."""

    # --- operators without words: a plain listing, newest first --------------------

    def browse(self, condition: Q, *, limit: int, offset: int) -> list[Row]:
        rows = (
            Document.objects.filter(condition)
            .order_by("-created_at", "-id")
            .values_list("id", "kind", "object_id")[offset : offset + limit]
        )
        return [Row(id=i, kind=k, object_id=o, score=0.0) for i, k, o in rows]

    def browse_count(self, condition: Q) -> dict[str, int]:
        rows = Document.objects.filter(condition).values("kind").annotate(n=Count("id")).order_by()
        return {row["kind"]: row["n"] for row in rows}


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of each word (padded with two spaces before, one after)."""
    grams: set[str] = set()
    for word in text.split():
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def word_similarity(query: str, name: str) -> float:
    """Share of the query's trigrams found in the name (close to pg_trgm's
    word_similarity): 'lovlace' vs 'ada lovelace' -> 0.75."""
    wanted = trigrams(query)
    return len(wanted & trigrams(name)) / len(wanted) if wanted else 0.0
