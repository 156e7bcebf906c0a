"""SQLite: FTS5 (`search_fts`, porter + unicode61 without diacritics) for text,
`search_names` (trigram) for partial and misspelt names. The ORM has no FTS5 API, so
this is raw SQL; the access scope is compiled from the ORM into the same statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Q

from townhall.search.backends.base import (
    CANDIDATES,
    ENGAGEMENT,
    MIN_SIMILARITY,
    Backend,
    Row,
    Where,
    compile_where,
    is_names,
    kinds_sql,
    names_where,
    trim_counts,
    word_similarity,
)
from townhall.search.query import ParsedQuery, partial_forms

FRESHNESS = "(1 + 0.3 * 30.0 / (30.0 + MAX(0.0, julianday('now') - julianday(search_document.created_at))))"
# Title matches count four times a body match, topic tags twice.
TEXT_RANK = "(-bm25(search_fts, 4.0, 1.0, 2.0))"
NAMES_RANK = "(-bm25(search_fts_names, 4.0, 1.0))"

# The triggers of migrations 0002 and 0003 (kept identical): the rebuild drops and recreates them.
TRIGGERS = {
    "search_document_ai": """CREATE TRIGGER search_document_ai AFTER INSERT ON search_document BEGIN
        INSERT INTO search_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
    END""",
    "search_document_ad": """CREATE TRIGGER search_document_ad AFTER DELETE ON search_document BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
    END""",
    "search_document_au": """CREATE TRIGGER search_document_au AFTER UPDATE OF title, body, tags ON search_document BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
        INSERT INTO search_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
    END""",
    "search_names_ai": """CREATE TRIGGER search_names_ai AFTER INSERT ON search_document BEGIN
        INSERT INTO search_names(rowid, name) VALUES (new.id, new.name);
    END""",
    "search_names_ad": """CREATE TRIGGER search_names_ad AFTER DELETE ON search_document BEGIN
        INSERT INTO search_names(search_names, rowid, name) VALUES ('delete', old.id, old.name);
    END""",
    "search_fts_names_ai": """CREATE TRIGGER search_fts_names_ai AFTER INSERT ON search_document WHEN new.kind IN ('person', 'community', 'topic') BEGIN
        INSERT INTO search_fts_names(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    "search_fts_names_ad": """CREATE TRIGGER search_fts_names_ad AFTER DELETE ON search_document WHEN old.kind IN ('person', 'community', 'topic') BEGIN
        DELETE FROM search_fts_names WHERE rowid = old.id;
    END""",
    "search_fts_names_au": """CREATE TRIGGER search_fts_names_au AFTER UPDATE OF title, body ON search_document
        WHEN new.kind IN ('person', 'community', 'topic') BEGIN
        DELETE FROM search_fts_names WHERE rowid = old.id;
        INSERT INTO search_fts_names(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    "search_names_au": """CREATE TRIGGER search_names_au AFTER UPDATE OF name ON search_document BEGIN
        INSERT INTO search_names(search_names, rowid, name) VALUES ('delete', old.id, old.name);
        INSERT INTO search_names(rowid, name) VALUES (new.id, new.name);
    END""",
}


# FTS5 keeps each index's segments as rows of `<table>_data` and drops a merged
# segment with `DELETE ... WHERE id >= ? AND id <= ?`. An ANALYZE run while an index
# was nearly empty (the dataset generator and the demo loader analyze before the index
# is built) leaves sqlite_stat1 saying that table holds two rows, and the planner then
# answers each such DELETE by scanning the whole table: ~190 ms per segment on the
# 1M-post index, 3 s every 16th post or comment, holding the write lock (docs/
# performance.md, "fifth session"). A large row estimate keeps it on the rowid range
# whatever the index's real size.
FTS_TABLES = ("search_fts", "search_fts_names", "search_names")
PLANNER_ROWS = "1000000"


def set_fts_statistics(cursor: Any) -> None:
    """Tell SQLite's planner that the FTS5 segment tables are large (see FTS_TABLES);
    nothing to do before any ANALYZE (without statistics it assumes large tables)."""
    cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    if cursor.fetchone() is None:
        return
    for table in FTS_TABLES:
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [f"{table}_data"])
        cursor.execute(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, NULL, %s)", [f"{table}_data", PLANNER_ROWS]
        )
    cursor.execute("ANALYZE sqlite_master")  # reload the statistics on this connection


def _string(text: str) -> str:
    # Only letters, digits and spaces get here (query.parse); quoting makes FTS5 read
    # them as strings, never as operators (AND, NEAR, ...).
    return '"' + text.replace('"', '""') + '"'


def match_expression(parsed: ParsedQuery, *, partial: bool = False) -> str:
    """The FTS5 MATCH expression: every word as a prefix, phrases in order, topics
    on the tags column; all of them required."""
    parts: list[str] = []
    for word in parsed.words:
        forms = partial_forms(word) if partial else [word]
        alternatives = [f"{_string(form)}*" for form in forms]
        parts.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    parts += [_string(" ".join(phrase)) for phrase in parsed.phrases]
    parts += [f"tags : {_string(topic)}" for topic in parsed.topics]
    return " AND ".join(parts)


class SqliteBackend(Backend):
    vendor = "sqlite"

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
        inner, params = self._matches(parsed, condition, kinds=kinds, partial=partial, cap=cap)
        if inner is None:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, kind, object_id, score, created_at FROM ({inner}) ORDER BY {order} LIMIT %s OFFSET %s",  # noqa: S608  # built from constants and ORM-compiled SQL  # nosec B608 - compiled or fixed SQL text; values are parameters
                [*params, limit, offset],
            )
            return [Row(*row) for row in cursor.fetchall()]

    def count(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> tuple[dict[str, int], bool]:
        inner, params = self._matches(parsed, condition, kinds=kinds, partial=partial, cap=CANDIDATES + 1)
        if inner is None:
            return {}, False
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT kind, COUNT(*) FROM ({inner}) GROUP BY kind", params)  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
            counts = dict(cursor.fetchall())
        capped = not is_names(kinds) and sum(counts.values()) > CANDIDATES
        return trim_counts(counts) if capped else counts, capped

    def candidates(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> list[Row]:
        inner, params = self._matches(parsed, condition, kinds=kinds, partial=partial, cap=CANDIDATES + 1)
        if inner is None:
            return []
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, kind, object_id, score, created_at FROM ({inner})", params)  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
            return [Row(*row) for row in cursor.fetchall()]

    def _matches(
        self,
        parsed: ParsedQuery,
        condition: Q | Where,
        *,
        kinds: Sequence[str],
        partial: bool,
        cap: int | None = None,
    ) -> tuple[str | None, list[Any]]:
        """The matching documents the viewer may see, with their score. Names come from
        their own small index, exactly; content from search_fts, newest first (rowid
        order: documents are written as content is created, and a full reindex writes
        them in creation order), stopping after `cap` rows so bm25 is never computed
        for more than that."""
        names = is_names(kinds)
        if names and parsed.topics:
            return None, []  # topics tag posts only
        where, params = compile_where(condition)
        kind_filter, kind_params = kinds_sql(kinds)
        table, rank = ("search_fts_names", NAMES_RANK) if names else ("search_fts", TEXT_RANK)
        match = match_expression(parsed, partial=partial)
        # CROSS JOIN keeps the FTS table as the outer loop: SQLite never reorders it.
        sql = (
            "SELECT search_document.id AS id, search_document.kind AS kind, "  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
            "search_document.object_id AS object_id, julianday(search_document.created_at) AS created_at, "
            f"{rank} * {FRESHNESS} * {ENGAGEMENT} AS score "
            f"FROM {table} CROSS JOIN search_document ON search_document.id = {table}.rowid "
            f"WHERE {table} MATCH %s AND {kind_filter} AND ({where})"
        )
        if not names:
            cap = CANDIDATES if cap is None else cap
            sql += f" ORDER BY {table}.rowid DESC LIMIT {int(cap)}"
        return sql, [match, *kind_params, *params]

    def names(self, words: tuple[str, ...], condition: Q | Where, *, limit: int) -> list[Row]:
        text = " ".join(words)
        grams = sorted({gram.strip() for gram in _grams(text)})
        if not grams:
            return []
        where, params = names_where(condition)
        match = " OR ".join(_string(gram) for gram in grams)
        sql = (
            "SELECT search_document.id, search_document.kind, search_document.object_id, search_document.name "  # noqa: S608  # WHERE compiled by the ORM, values as parameters  # nosec B608 - compiled or fixed SQL text; values are parameters
            "FROM search_names CROSS JOIN search_document ON search_document.id = search_names.rowid "
            f"WHERE search_names MATCH %s AND ({where}) ORDER BY bm25(search_names) LIMIT 200"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [match, *params])
            candidates = cursor.fetchall()
        scored = [Row(id=i, kind=k, object_id=o, score=word_similarity(text, name)) for i, k, o, name in candidates]
        found = [row for row in scored if row.score >= MIN_SIMILARITY]
        found.sort(key=lambda row: (-row.score, row.id))
        return found[:limit]

    def names_containing(self, words: tuple[str, ...], condition: Q | Where, *, limit: int) -> list[Row]:
        if not words or any(len(word) < 3 for word in words):
            return []
        where, params = names_where(condition)
        sql = (
            "SELECT search_document.id, search_document.kind, search_document.object_id, 1.0 "  # noqa: S608  # WHERE compiled by the ORM, values as parameters  # nosec B608 - compiled or fixed SQL text; values are parameters
            "FROM search_names CROSS JOIN search_document ON search_document.id = search_names.rowid "
            f"WHERE search_names MATCH %s AND ({where}) "
            "ORDER BY length(search_document.name), search_document.id LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [" AND ".join(_string(word) for word in words), *params, limit])
            return [Row(*row) for row in cursor.fetchall()]

    def rebuild_begin(self) -> None:
        """Inside the rebuild's transaction: without triggers, empty everything (the
        FTS tables in one step each); rebuild_end indexes all rows at once."""
        with connection.cursor() as cursor:
            for trigger in TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            cursor.execute("INSERT INTO search_fts(search_fts) VALUES ('delete-all')")
            cursor.execute("INSERT INTO search_names(search_names) VALUES ('delete-all')")
            cursor.execute("DELETE FROM search_fts_names")
            cursor.execute("DELETE FROM search_document")

    def rebuild_end(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
            cursor.execute("INSERT INTO search_names(search_names) VALUES ('rebuild')")
            cursor.execute(
                "INSERT INTO search_fts_names(rowid, title, body) "
                "SELECT id, title, body FROM search_document WHERE kind IN ('person', 'community', 'topic')"
            )
            for statement in TRIGGERS.values():
                cursor.execute(statement)

    def rebuild_committed(self) -> None:
        # The rebuild leaves the full-text index in a dozen segments of very different
        # sizes; every search looks up each word in each of them. Merge them into one
        # (FTS5's 'optimize'): instant on a small index, ~10 min for 3.97M documents
        # on the 2-core bench machine (docs/performance.md), where the search figures
        # were measured on the optimized index.
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
            set_fts_statistics(cursor)

    def analyzed(self) -> None:
        with connection.cursor() as cursor:
            set_fts_statistics(cursor)


def _grams(text: str) -> set[str]:
    """Trigrams inside each word (the FTS5 trigram tokenizer does not pad)."""
    grams: set[str] = set()
    for word in text.split():
        if len(word) < 3:
            continue
        grams.update(word[i : i + 3] for i in range(len(word) - 2))
    return grams
