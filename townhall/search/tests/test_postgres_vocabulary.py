"""PostgreSQL: prefixes looked up in the index's vocabulary (migration 0006,
backends.postgres.expand) must match exactly what the prefixes match."""

from __future__ import annotations

import pytest
from django.db import connection

from townhall.search.index import index_now, reindex
from townhall.search.query import parse
from townhall.search.selectors import Filters, search
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import CommentFactory, PostFactory

pytestmark = [pytest.mark.django_db]

BODIES = [
    "The deployment pipeline is green again",
    "Deploying on Fridays, a report",
    "Reporters asked about the deployer",
    "Reportage from the quarterly offsite",
    "Quarterly reports are in the drive",
    "Nothing about it here",
]
QUERIES = ["deploy", "deployment", "report", "report quarterly", "deployer pipeline", "quarter", "repo", "drive"]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's search vocabulary")


@pytest.fixture
def posts(postgres, member):
    author = UserFactory()
    community = CommunityFactory(slug="vocabulary")
    made = [PostFactory(author=author, community=community, body=body) for body in BODIES]
    CommentFactory(post=made[0], author=author, body="Deployments reported twice")
    reindex()
    return made


def _matching(expression: str, params: list) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM search_document WHERE search_vector @@ {expression}",  # noqa: S608  # nosec B608 - built by the backend; values are parameters
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def _lexemes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT lexeme FROM search_lexeme")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize("query", QUERIES)
def test_expanded_query_matches_what_the_prefixes_match(posts, query, partial):
    from townhall.search.backends.postgres import expand, tsquery

    parsed = parse(query)
    expanded = expand(parsed, partial=partial)
    assert expanded is not None
    assert not any(":*" in param for param in expanded[1])  # every prefix became its lexemes
    found = _matching(*expanded)
    assert found == _matching(*tsquery(parsed, partial=partial))
    assert found  # every query above has matches: the comparison is not of two empty sets


def test_a_prefix_standing_for_too_many_lexemes_stays_a_prefix(posts, monkeypatch):
    from townhall.search.backends import postgres

    monkeypatch.setattr(postgres, "EXPAND_MAX", 1)
    parsed = parse("report deploy")
    expression, params = postgres.expand(parsed)
    assert "to_tsquery" in expression and "'report':*" in params  # report, reportag, ... stays a prefix
    assert _matching(expression, params) == _matching(*postgres.tsquery(parsed))


def test_a_word_no_document_holds_needs_no_search(posts):
    from townhall.search.backends.postgres import expand, tsquery
    from townhall.search.models import Document

    assert expand(parse("deploy zyzzyva")) is None
    # Phrases (and stop words) are left to to_tsquery, as before.
    parsed = parse('"quarterly reports" drive')
    phrase = Document.objects.get(kind="post", object_id=posts[4].pk).pk
    assert _matching(*expand(parsed)) == _matching(*tsquery(parsed)) == {phrase}


def test_the_vocabulary_follows_new_and_edited_documents(posts):
    assert {"deploy", "report", "reportag", "quarter"} <= _lexemes()
    assert "okapi" not in _lexemes()
    post = posts[-1]
    post.body = "An okapi sighting"
    post.save()
    index_now("post", [post.pk])
    assert "okapi" in _lexemes()
    assert search(viewer=post.author, query="oka", filters=Filters(kind="post")).total == 1
    created = PostFactory(author=post.author, community=post.community, body="Quokkas everywhere")
    index_now("post", [created.pk])
    assert "quokka" in _lexemes()
    assert search(viewer=post.author, query="quokk", filters=Filters(kind="post")).total == 1


@pytest.mark.parametrize("lexeme", ["o'brien", "c:\\temp", "a''b\\\\c", "naïve"])
def test_a_lexeme_reads_back_verbatim(postgres, lexeme):
    from townhall.search.backends.postgres import _quoted

    with connection.cursor() as cursor:
        cursor.execute("SELECT array_to_tsvector(ARRAY[%s]) @@ %s::tsquery", [lexeme, _quoted(lexeme)])
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT array_to_tsvector(ARRAY[%s]) @@ %s::tsquery", [lexeme + "x", _quoted(lexeme)])
        assert cursor.fetchone()[0] is False
