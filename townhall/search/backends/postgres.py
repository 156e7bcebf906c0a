"""PostgreSQL: a generated tsvector column (`search_vector`, GIN index; title A,
body B, topic slugs C, unaccented) for text, pg_trgm word similarity on the folded
`name` for partial and misspelt names. The access scope is compiled from the ORM into
the same statement as the match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Q

from townhall.search.backends.base import (
    CANDIDATES,
    ENGAGEMENT,
    MIN_SIMILARITY,
    NAME_KINDS,
    Backend,
    Row,
    Where,
    compile_where,
    is_names,
    kinds_sql,
    trim_counts,
)
from townhall.search.query import ParsedQuery, partial_forms

FRESHNESS = (
    "(1 + 0.3 * 30.0 / (30.0 + GREATEST(0.0, EXTRACT(EPOCH FROM (now() - search_document.created_at)) / 86400.0)))"
)
# Weights for D, C, B, A (unused, topic tags, body, title); normalised by log(length).
TEXT_RANK = "ts_rank('{0.1, 0.5, 0.4, 1.0}', search_document.search_vector, search_q.query, 1)"


def _lexeme(word: str) -> str:
    # Only letters and digits get here (query.parse); quoted, so never an operator.
    return "'" + word.replace("'", "''") + "'"


def tsquery(parsed: ParsedQuery, *, partial: bool = False) -> tuple[str, list[Any]]:
    """The tsquery expression: every word as a prefix, phrases through
    websearch_to_tsquery, topics on weight C; all of them required (&&)."""
    parts: list[str] = []
    params: list[Any] = []
    for word in parsed.words:
        forms = partial_forms(word) if partial else [word]
        parts.append("to_tsquery('english'::regconfig, %s)")
        params.append(" | ".join(f"{_lexeme(form)}:*" for form in forms))
    for phrase in parsed.phrases:
        parts.append("websearch_to_tsquery('english'::regconfig, %s)")
        params.append('"' + " ".join(phrase) + '"')
    for topic in parsed.topics:
        parts.append("to_tsquery('simple'::regconfig, %s)")
        params.append(" <-> ".join(f"{_lexeme(word)}:C" for word in topic.split()))
    return "(" + " && ".join(parts) + ")", params


# A GIN index finds every match but not in id order, so PostgreSQL would fetch every
# matching row to keep the newest CANDIDATES. For a common word, the newest WINDOW
# documents hold enough of them: look there first, everywhere only when they do not.
WINDOW = 100_000


class PostgresBackend(Backend):
    vendor = "postgresql"

    def __init__(self) -> None:
        # Per search: whether the newest-window shortcut held (count decides, search reuses).
        self._floors: dict[tuple[Any, ...], int | None] = {}

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
        order = "created_at DESC, id DESC" if sort == "newest" else "score DESC, id DESC"
        key = self._key(parsed, condition, kinds, partial)
        decided = key in self._floors  # count() found where the candidates are
        floors = [self._floors[key]] if decided else [self._newest_floor(kinds), None]
        for floor in dict.fromkeys(floors):
            inner, params = self._matches(parsed, condition, kinds=kinds, partial=partial, floor=floor, cap=cap)
            if inner is None:
                return []
            sql = (
                f"SELECT id, kind, object_id, score, created_at FROM ({inner}) AS matches "  # noqa: S608  # constants and ORM-compiled SQL  # nosec B608 - compiled or fixed SQL text; values are parameters
                f"ORDER BY {order} LIMIT %s OFFSET %s"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params, limit, offset])
                rows = [Row(*row) for row in cursor.fetchall()]
            if decided or floor is None or len(rows) == limit:
                return rows
        return []

    def count(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> tuple[dict[str, int], bool]:
        key = self._key(parsed, condition, kinds, partial)
        counts: dict[str, int] = {}
        for floor in dict.fromkeys([self._newest_floor(kinds), None]):
            inner, params = self._matches(
                parsed, condition, kinds=kinds, partial=partial, cap=CANDIDATES + 1, rank=False, floor=floor
            )
            if inner is None:
                return {}, False
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT kind, COUNT(*) FROM ({inner}) AS matches GROUP BY kind", params)  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
                counts = dict(cursor.fetchall())
            capped = not is_names(kinds) and sum(counts.values()) > CANDIDATES
            if capped or floor is None:
                self._floors[key] = floor
                return trim_counts(counts) if capped else counts, capped
        return counts, False

    def candidates(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> list[Row]:
        rows: list[Row] = []
        for floor in dict.fromkeys([self._newest_floor(kinds), None]):
            inner, params = self._matches(
                parsed, condition, kinds=kinds, partial=partial, cap=CANDIDATES + 1, floor=floor
            )
            if inner is None:
                return []
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id, kind, object_id, score, created_at FROM ({inner}) AS matches", params)  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
                rows = [Row(*row) for row in cursor.fetchall()]
            if floor is None or len(rows) > CANDIDATES:
                return rows
        return rows

    def _key(self, parsed: ParsedQuery, condition: Q | Where, kinds: Sequence[str], partial: bool) -> tuple[Any, ...]:
        where, params = compile_where(condition) if isinstance(condition, Where) else (str(condition), [])
        return (parsed, where, tuple(params), tuple(kinds), partial)

    def _newest_floor(self, kinds: Sequence[str]) -> int | None:
        """The id below the newest WINDOW documents (None: all of them are that new,
        or these are names, matched exactly)."""
        if is_names(kinds):
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(id) FROM search_document")
            newest = cursor.fetchone()[0] or 0
        return newest - WINDOW if newest > WINDOW else None

    def _matches(
        self,
        parsed: ParsedQuery,
        condition: Q | Where,
        *,
        kinds: Sequence[str],
        partial: bool,
        cap: int | None = None,
        rank: bool = True,
        floor: int | None = None,
    ) -> tuple[str | None, list[Any]]:
        """The matching documents the viewer may see (people, communities and topics
        through their partial GIN index, exactly; posts and comments the newest `cap`,
        only above `floor` when given)."""
        names = is_names(kinds)
        if names and parsed.topics:
            return None, []  # topics tag posts only
        expression, query_params = tsquery(parsed, partial=partial)
        where, params = compile_where(condition)
        kind_filter, kind_params = kinds_sql(kinds)
        score = f"{TEXT_RANK} * {FRESHNESS} * {ENGAGEMENT}" if rank else "0"
        sql = (
            "SELECT search_document.id AS id, search_document.kind AS kind, "  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
            "search_document.object_id AS object_id, EXTRACT(EPOCH FROM search_document.created_at)::float8 AS created_at, "
            f"{score} AS score FROM search_document CROSS JOIN (SELECT {expression} AS query) AS search_q "
            f"WHERE search_document.search_vector @@ search_q.query AND {kind_filter} AND ({where})"
        )
        if floor is not None:
            sql += f" AND search_document.id > {int(floor)}"
        if not names:
            cap = CANDIDATES if cap is None else cap
            sql += f" ORDER BY search_document.id DESC LIMIT {int(cap)}"
        return sql, [*query_params, *kind_params, *params]

    def names(self, words: tuple[str, ...], condition: Q, *, limit: int) -> list[Row]:
        text = " ".join(words)
        if not text:
            return []
        where, params = compile_where(condition & Q(kind__in=NAME_KINDS))
        sql = (
            "SELECT search_document.id, search_document.kind, search_document.object_id, "  # noqa: S608  # WHERE compiled by the ORM, values as parameters  # nosec B608 - compiled or fixed SQL text; values are parameters
            "word_similarity(%s, search_document.name) AS score FROM search_document "
            f"WHERE %s <%% search_document.name AND ({where}) ORDER BY score DESC, search_document.id LIMIT %s"
        )
        with connection.cursor() as cursor:
            # Same bar as the SQLite backend (the default, 0.6, misses 'lovlace').
            cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)", [str(MIN_SIMILARITY)])
            cursor.execute(sql, [text, text, *params, limit])
            return [Row(*row) for row in cursor.fetchall()]

    def names_containing(self, words: tuple[str, ...], condition: Q, *, limit: int) -> list[Row]:
        if not words or any(len(word) < 3 for word in words):
            return []
        where, params = compile_where(condition & Q(kind__in=NAME_KINDS))
        likes = " AND ".join("search_document.name LIKE %s" for _ in words)
        sql = (
            "SELECT search_document.id, search_document.kind, search_document.object_id, 1.0 FROM search_document "  # noqa: S608  # WHERE compiled by the ORM, values as parameters  # nosec B608 - compiled or fixed SQL text; values are parameters
            f"WHERE {likes} AND ({where}) ORDER BY length(search_document.name), search_document.id LIMIT %s"
        )
        with connection.cursor() as cursor:
            # Words are letters and digits only (query.parse): no LIKE wildcard inside.
            cursor.execute(sql, [*(f"%{word}%" for word in words), *params, limit])
            return [Row(*row) for row in cursor.fetchall()]

    def rebuild_committed(self) -> None:
        # Bulk inserts leave the GIN indexes' pending lists long (every search scans
        # them: 12 ms instead of 0.04 ms for a name on 100k posts) and the statistics
        # stale; VACUUM merges the lists. It cannot run inside a transaction (tests).
        if not connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE search_document")

    def rebuild_begin(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_document")
