"""PostgreSQL: a generated tsvector column (`search_vector`, GIN index; title A,
body B, topic slugs C, unaccented) for text, pg_trgm word similarity on the folded
`name` for partial and misspelt names. The access scope is compiled from the ORM into
the same statement as the match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
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
    names_where,
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


def _prefixes(word: str, *, partial: bool) -> list[str]:
    """The word (and, for partial matching, its partial forms) as tsquery prefixes."""
    return [f"{_lexeme(form)}:*" for form in (partial_forms(word) if partial else [word])]


def tsquery(parsed: ParsedQuery, *, partial: bool = False) -> tuple[str, list[Any]]:
    """The tsquery expression: every word as a prefix, phrases through
    websearch_to_tsquery, topics on weight C; all of them required (&&)."""
    parts: list[str] = []
    params: list[Any] = []
    for word in parsed.words:
        parts.append("to_tsquery('english'::regconfig, %s)")
        params.append(" | ".join(_prefixes(word, partial=partial)))
    for phrase in parsed.phrases:
        parts.append("websearch_to_tsquery('english'::regconfig, %s)")
        params.append('"' + " ".join(phrase) + '"')
    for topic in parsed.topics:
        parts.append("to_tsquery('simple'::regconfig, %s)")
        params.append(" <-> ".join(f"{_lexeme(word)}:C" for word in topic.split()))
    return "(" + " && ".join(parts) + ")", params


# A word's prefix stands for at most this many lexemes of the vocabulary (migration
# 0006) before it is left a prefix: past it, the merged posting lists of a short
# prefix cost the GIN index less than a long list of alternatives would.
EXPAND_MAX = 48
# A form's stem as to_tsquery prints it when it is a single prefix ('report':*);
# anything else (a stop word, a form the parser splits) stays as it was.
VOCABULARY = r"""
SELECT f.position, s.stem, l.lexeme
FROM unnest(%s::text[]) WITH ORDINALITY AS f(form, position)
CROSS JOIN LATERAL (
    SELECT substring(to_tsquery('english'::regconfig, f.form)::text FROM '^''([^'']+)'':\*$') AS stem
) AS s
LEFT JOIN LATERAL (
    SELECT search_lexeme.lexeme FROM search_lexeme
    WHERE search_lexeme.lexeme >= s.stem AND search_lexeme.lexeme < s.stem || chr(1114111)
    ORDER BY search_lexeme.lexeme LIMIT %s
) AS l ON true
"""


def _quoted(lexeme: str) -> str:
    """A lexeme as tsquery input reads it back verbatim (no parsing, no stemming)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def expand(parsed: ParsedQuery, *, partial: bool = False) -> tuple[str, list[Any]] | None:
    """The tsquery of `tsquery`, each word's prefix replaced by the lexemes it stands
    for (migration 0006): the same matches, which the GIN index finds without merging
    every posting list under the prefix. None when a word stands for no lexeme at all:
    no document can match."""
    words = [_prefixes(word, partial=partial) for word in parsed.words]
    forms = [form for word in words for form in word]
    stems: dict[int, str | None] = {}
    found: dict[int, list[str]] = {}
    if forms:
        with connection.cursor() as cursor:
            cursor.execute(VOCABULARY, [forms, EXPAND_MAX + 1])
            for position, stem, lexeme in cursor.fetchall():
                stems[position - 1] = stem
                if lexeme is not None:
                    found.setdefault(position - 1, []).append(lexeme)
    parts: list[str] = []
    params: list[Any] = []
    index = 0
    for word in words:
        kept: list[str] = []  # prefixes left as they are
        lexemes: list[str] = []  # what the others stand for
        for form in word:
            alternatives = found.get(index, [])
            if stems.get(index) is None or len(alternatives) > EXPAND_MAX:
                kept.append(form)
            else:
                lexemes += alternatives
            index += 1
        if not kept and not lexemes:
            return None
        either: list[str] = []
        if kept:
            either.append("to_tsquery('english'::regconfig, %s)")
            params.append(" | ".join(kept))
        if lexemes:
            either.append("%s::tsquery")
            params.append(" | ".join(_quoted(lexeme) for lexeme in dict.fromkeys(lexemes)))
        parts.append("(" + " || ".join(either) + ")")
    if parsed.phrases or parsed.topics:
        text, rest = tsquery(ParsedQuery(phrases=parsed.phrases, topics=parsed.topics))
        parts.append(text)
        params += rest
    return "(" + " && ".join(parts) + ")", params


# Posts, comments (and any later content kind) are searched one kind at a time, newest
# first. A GIN index finds every match but in no useful order, and its cost grows with
# the posting lists of every word (two common words cost ~70 ms at 1M posts however
# few documents hold both); for a common word PostgreSQL would also fetch every
# matching row to keep the newest CANDIDATES. So each kind is first read newest first
# through its (kind, object_id) index, keeping the matches: PROBE documents, then, when
# the density found there says the candidates lie close enough, that far. Only a word
# that is rare among the newest documents goes to the kind's GIN index (migration
# 0004), whose posting lists are then short.
PROBE = 10_000
# "Close enough": within SCAN_MAX documents always; further (up to SCAN_LIMIT) while
# reading them in order costs less than the GIN index would. The GIN index visits the
# row of every match of the word, anywhere in the kind (~3 us each when PostgreSQL must
# fetch the page from the OS), so its cost follows the word's estimated matches in
# the whole kind; reading in order costs ~0.3 us a document. A word in 1.8 % of the
# posts (18,000 matches) took 72 ms through the GIN index and ~26 ms read in order.
SCAN_MAX = 80_000
SCAN_LIMIT = 400_000
SCAN_COST_PER_DOCUMENT = 0.3
GIN_COST_PER_MATCH = 3.0
# Past the scan, the GIN index is asked for a stretch only when it is under this share
# of the kind's documents (see _newest_of_kind).
STRETCH_SHARE = 0.25


class PostgresBackend(Backend):
    vendor = "postgresql"

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
        if not is_names(kinds):
            rows = self._newest(parsed, condition, kinds=kinds, partial=partial, need=cap or CANDIDATES)
            if sort == "newest":
                rows.sort(key=lambda row: (row.created_at, row.id), reverse=True)
            else:
                rows.sort(key=lambda row: (row.score, row.id), reverse=True)
            return rows[offset : offset + limit]
        order = "created_at DESC, id DESC" if sort == "newest" else "score DESC, id DESC"
        inner, params = self._names(parsed, condition, kinds=kinds, partial=partial)
        if inner is None:
            return []
        sql = (
            f"SELECT id, kind, object_id, score, created_at FROM ({inner}) AS matches "  # noqa: S608  # constants and ORM-compiled SQL  # nosec B608 - compiled or fixed SQL text; values are parameters
            f"ORDER BY {order} LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return [Row(*row) for row in cursor.fetchall()]

    def count(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> tuple[dict[str, int], bool]:
        if not is_names(kinds):
            counts: dict[str, int] = {}
            for row in self._newest(parsed, condition, kinds=kinds, partial=partial, need=CANDIDATES + 1, rank=False):
                counts[row.kind] = counts.get(row.kind, 0) + 1
            capped = sum(counts.values()) > CANDIDATES
            return (trim_counts(counts) if capped else counts), capped
        inner, params = self._names(parsed, condition, kinds=kinds, partial=partial, rank=False)
        if inner is None:
            return {}, False
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT kind, COUNT(*) FROM ({inner}) AS matches GROUP BY kind", params)  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
            return dict(cursor.fetchall()), False

    def candidates(
        self, parsed: ParsedQuery, condition: Q | Where, *, kinds: Sequence[str], partial: bool = False
    ) -> list[Row]:
        return self._newest(parsed, condition, kinds=kinds, partial=partial, need=CANDIDATES + 1)

    # --- content: newest matches, one kind at a time ----------------------------------

    def _newest(
        self,
        parsed: ParsedQuery,
        condition: Q | Where,
        *,
        kinds: Sequence[str],
        partial: bool,
        need: int,
        rank: bool = True,
    ) -> list[Row]:
        """The newest `need` matches the viewer may see among these content kinds,
        newest first (a document's id grows with its creation, like its object's)."""
        expression, query_params = tsquery(parsed, partial=partial)
        expanded = expand(parsed, partial=partial)
        if expanded is None:
            return []
        where, params = compile_where(condition)
        match = _Match(expression, [*query_params], where, params, rank, expanded=expanded)
        rows: list[Row] = []
        with transaction.atomic():
            # Planned for this query's words and bounds every time: the connection
            # prepares repeated statements (settings.py), and a generic plan, blind to
            # how rare a word is, walked every post for one no post holds (1.6 s).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            for kind in kinds:
                rows += _newest_of_kind(match, kind=kind, need=need)
        rows.sort(key=lambda row: row.id, reverse=True)
        return rows[:need]

    # --- names: people, communities, topics (exact, through their partial index) --------

    def _names(
        self,
        parsed: ParsedQuery,
        condition: Q | Where,
        *,
        kinds: Sequence[str],
        partial: bool,
        rank: bool = True,
    ) -> tuple[str | None, list[Any]]:
        """The matching people, communities and topics the viewer may see."""
        if parsed.topics:
            return None, []  # topics tag posts only
        expression, query_params = tsquery(parsed, partial=partial)
        where, params = compile_where(condition)
        kind_filter, kind_params = kinds_sql(kinds)
        score = _score(rank)
        sql = (
            f"SELECT {COLUMNS}, {score} AS score FROM {NAME_MATCHES.format(expression=expression)} "  # noqa: S608  # as above  # nosec B608 - compiled or fixed SQL text; values are parameters
            f"CROSS JOIN (SELECT {expression} AS query) AS search_q "
            f"WHERE {kind_filter} AND ({where})"
        )
        return sql, [*query_params, *query_params, *kind_params, *params]

    def names(self, words: tuple[str, ...], condition: Q | Where, *, limit: int) -> list[Row]:
        text = " ".join(words)
        if not text:
            return []
        where, params = names_where(condition)
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

    def names_containing(self, words: tuple[str, ...], condition: Q | Where, *, limit: int) -> list[Row]:
        if not words or any(len(word) < 3 for word in words):
            return []
        where, params = names_where(condition)
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


# People, communities and topics matching the text, found through their own partial
# GIN index (migration 0003; its predicate written out, so that even a generic plan
# may use it) before the access scope is applied to the few matches (OFFSET 0 keeps
# the two apart). Given the viewer's whole scope in the same WHERE, PostgreSQL built
# bitmaps from each of its branches instead, the content branch ANDed with the
# content GIN index (79,000 matches of 'longer' for a phrase no name holds): 18-32 ms
# a statement, two statements a search.
NAME_MATCHES = (
    "(SELECT * FROM search_document WHERE search_document.kind IN ("  # noqa: S608  # constant kinds  # nosec B608 - fixed SQL text
    + ", ".join(f"'{kind}'" for kind in NAME_KINDS)
    + ") AND search_document.search_vector @@ {expression} OFFSET 0) AS search_document"
)

COLUMNS = (
    "search_document.id AS id, search_document.kind AS kind, search_document.object_id AS object_id, "
    "EXTRACT(EPOCH FROM search_document.created_at)::float8 AS created_at"
)


def _score(rank: bool) -> str:
    return f"{TEXT_RANK} * {FRESHNESS} * {ENGAGEMENT}" if rank else "0"


class _Match:
    """One search's text match and access scope, compiled once for every kind and step."""

    def __init__(
        self,
        expression: str,
        query_params: list[Any],
        where: str,
        params: list[Any],
        rank: bool,
        *,
        expanded: tuple[str, list[Any]],
    ) -> None:
        self.expression = expression
        self.query_params = query_params
        self.where = where
        self.params = params
        self.rank = rank
        self.expanded = expanded

    def rows(
        self,
        source: str,
        source_params: list[Any],
        *,
        extra: str,
        extra_params: list[Any],
        limit: int,
        order: str,
        indexed: bool = False,
    ) -> list[Row]:
        """Matches from `source` (search_document, or a fenced slice of it aliased so),
        newest first by `order`, at most `limit`. `indexed`: matched through the GIN
        index, by the expanded query (the same documents; the score keeps the prefixes)."""
        matching, matching_params = self.expanded if indexed else ("search_q.query", [])
        sql = (
            f"SELECT {COLUMNS}, {_score(self.rank)} AS score FROM {source} "  # noqa: S608  # constants and ORM-compiled SQL  # nosec B608 - compiled or fixed SQL text; values are parameters
            f"CROSS JOIN (SELECT {self.expression} AS query) AS search_q "
            f"WHERE search_document.search_vector @@ {matching}{extra} AND ({self.where}) "
            f"ORDER BY {order} DESC LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql, [*source_params, *self.query_params, *matching_params, *extra_params, *self.params, limit]
            )
            return [Row(id=i, kind=k, object_id=o, created_at=c, score=s) for i, k, o, c, s in cursor.fetchall()]


# Documents of a kind in an object id range, read newest first (OFFSET 0 keeps
# PostgreSQL from folding the text match into this scan, which would send it to the
# GIN index and fetch every match).
FENCED = (
    "(SELECT * FROM search_document WHERE search_document.kind = %s AND search_document.object_id > %s "
    "AND search_document.object_id <= %s ORDER BY search_document.object_id DESC OFFSET 0) AS search_document"
)
IN_ORDER = "search_document.object_id"
# Past the scans, sorting on an expression no index serves keeps PostgreSQL from
# walking the (kind, object_id) index backwards through every document of the kind in
# search of a rare word (2.7 s for a word no comment holds): the kind's GIN index finds
# the few matches, which are then sorted.
BY_INDEX = "(search_document.object_id + 0)"
OLDER = " AND search_document.kind = %s AND search_document.object_id <= %s"
# For everything older than the last fence, the kind and the upper bound are kept off
# the (kind, object_id) index: given them as index conditions, PostgreSQL ANDed that
# index's bitmap of every older post (~900,000 entries, 42-48 ms) with the GIN
# index's matches (0.05 ms for a rare word). The kind is still stated the way its
# partial GIN index (migration 0004) is defined, so that index serves the query: the
# content kinds' shared index by the kinds it leaves out; the comments' own index
# needs `kind = 'comment'` itself (not seen ANDed with the other index at 3M comments).
OLDEST = " AND {kind} AND (search_document.object_id + 0) <= %s"
COMMENT_KIND = "search_document.kind = %s"
CONTENT_KIND = (
    "search_document.kind NOT IN ('person', 'community', 'topic', 'comment') AND (search_document.kind || '') = %s"
)


def _oldest(kind: str) -> str:
    return OLDEST.format(kind=COMMENT_KIND if kind == "comment" else CONTENT_KIND)


def _newest_of_kind(match: _Match, *, kind: str, need: int) -> list[Row]:
    """The newest `need` matches of one content kind (see PROBE)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(object_id) FROM search_document WHERE kind = %s", [kind])
        top = cursor.fetchone()[0]
    if top is None:
        return []
    # Fewer candidates, a shorter probe (suggestions' 200: 2,000 documents, ~2 ms of
    # the 30 a keystroke has; a prefix rare among them goes to the GIN index, which
    # its expansion into lexemes made cheap).
    probe = max(1, min(PROBE, PROBE * need // CANDIDATES))
    fence = int(top) - probe
    rows = match.rows(FENCED, [kind, fence, top], extra="", extra_params=[], limit=need, order=IN_ORDER)
    if len(rows) >= need or fence <= 0:
        return rows
    if rows:
        # How far back the probe's density (with half again as margin) puts the rest:
        # read that far in order when it is near; else, for a slice of the kind, ask
        # the GIN index for that stretch first (given the stretch's bounds, PostgreSQL
        # may AND the (kind, object_id) index's bitmap in and read only the stretch's
        # matches). A stretch of STRETCH_SHARE of the kind or more goes straight to
        # everything older: that bitmap would cost more than it saves (778,000
        # entries, 41 ms, for a two-word query), and a second pass would read the
        # same matches again.
        reach = 3 * need * probe // (2 * len(rows))
        lower = int(top) - reach
        in_order = _read_in_order(reach=reach, found=len(rows), probe=probe, documents=int(top))
        if lower > 0 and (in_order or reach < STRETCH_SHARE * int(top)):
            if in_order:
                found = match.rows(
                    FENCED, [kind, lower, fence], extra="", extra_params=[], limit=need - len(rows), order=IN_ORDER
                )
            else:
                found = match.rows(
                    "search_document",
                    [],
                    extra=OLDER + " AND search_document.object_id > %s",
                    extra_params=[kind, fence, lower],
                    limit=need - len(rows),
                    order=BY_INDEX,
                    indexed=True,
                )
            rows += found
            if len(rows) >= need:
                return rows
            fence = lower
    return rows + match.rows(
        "search_document",
        [],
        extra=_oldest(kind),
        extra_params=[kind, fence],
        limit=need - len(rows),
        order=BY_INDEX,
        indexed=True,
    )


def _read_in_order(*, reach: int, found: int, probe: int, documents: int) -> bool:
    """Whether to read the next `reach` documents in order rather than ask the GIN
    index, given `found` matches among the `probe` newest of about `documents`."""
    if reach <= SCAN_MAX:
        return True
    matches = found * documents / probe  # the word's estimated matches in the kind
    return reach <= SCAN_LIMIT and reach * SCAN_COST_PER_DOCUMENT <= matches * GIN_COST_PER_MATCH
