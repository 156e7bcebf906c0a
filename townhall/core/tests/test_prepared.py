"""Prepared statements (core/prepared.py): a statement compiled once and bound to new
values must be exactly the statement the ORM compiles for those values, for every
prepared statement the pages use, and anything built on it must compile afresh."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from townhall.accounts.models import User
from townhall.core.prepared import PREPARED, Prepared
from townhall.directory.follows import person_follow
from townhall.feed import selectors as feed_selectors
from townhall.posts.models import Post
from townhall.posts.services import comment_create, post_create, post_share
from townhall.reactions.services import reaction_set
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db

_BY_IDS = Prepared("tests.by_ids", lambda *, ids: Post.objects.filter(pk__any_of=ids).order_by("id"), lists=("ids",))
_BY_AUTHOR = Prepared(
    "tests.by_author", lambda *, author: Post.objects.filter(author_id=author).order_by("id"), ints=("author",)
)
PREPARED[:] = [p for p in PREPARED if not p.name.startswith("tests.")]  # only the application's own below


def _sql(queryset: Any) -> tuple[str, list[Any]]:
    sql, params = queryset.query.get_compiler(using="default").as_sql()
    return sql, list(params)


def _walk(people: list[User], slug: str, post: Post) -> None:
    """The pages and API calls whose statements are prepared, as each person."""
    for person in people:
        client: Client = signed_in(person)
        for url in (
            "/",
            "/?order=top",
            "/company",
            f"/c/{slug}/",
            f"/c/{slug}/?order=top",
            f"/posts/{post.pk}/",
            f"/api/v1/posts/{post.pk}/comments",
            f"/api/v1/reactions/post/{post.pk}/people",
        ):
            assert client.get(url).status_code in (200, 404), url


def test_every_prepared_statement_binds_to_exactly_what_the_orm_compiles(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One arm per person or community at most: past it they share an arm over a list.
    monkeypatch.setattr(feed_selectors, "MAX_EACH", 1)
    member, guest = UserFactory(), UserFactory(role="guest")
    community = CommunityFactory(visibility="public", admin=admin, members=[member, guest])
    shared = post_create(actor=admin, body="The original #launch", community=community)
    post = post_share(actor=member, post=shared, community=community, body="Hello #launch")
    comment = comment_create(actor=admin, post=post, body="First")
    comment_create(actor=member, post=post, body="A reply", parent=comment)
    reaction_set(actor=admin, target_type="post", target_id=post.pk, kind="like")
    for prepared in PREPARED:
        prepared.found.clear()
    person_follow(actor=member, person=admin)
    _walk([admin, member, guest], community.slug, post)

    people = {(p.is_active, p.role): p for p in (admin, member, guest)}
    unused = [p.name for p in PREPARED if not p.found]
    assert not unused, f"no page in this test runs {unused}: add one"
    checked = 0
    for prepared in PREPARED:
        for key in list(prepared.found):
            vendor, shape, *who = key
            assert vendor == connection.vendor
            values: dict[str, Any] = {name: post.pk for name in prepared.ints}
            values |= {name: [post.pk, shared.pk, comment.pk] for name in prepared.lists}
            values |= {name: community.slug for name in prepared.texts}
            values |= {name: timezone.now() for name in prepared.times}
            viewer = people[tuple(who)] if prepared.viewer else None  # type: ignore[index]
            bound = prepared(viewer=viewer, shape=shape, **values)
            fresh = prepared.fresh(viewer=viewer, shape=shape, **values)
            assert _sql(bound) == _sql(fresh), prepared.name
            assert list(bound) == list(fresh), prepared.name
            checked += 1
    assert checked >= len(PREPARED)


def test_a_bound_statement_reads_what_its_values_select() -> None:
    first, second = PostFactory(), PostFactory()
    assert [p.pk for p in _BY_IDS(ids=[first.pk])] == [first.pk]
    assert [p.pk for p in _BY_IDS(ids=[second.pk, first.pk])] == [first.pk, second.pk]
    assert list(_BY_IDS(ids=[])) == []
    assert [p.pk for p in _BY_AUTHOR(author=second.author_id)] == [second.pk]
    # An id no column can hold matches nothing (the ORM's own answer), never an error.
    assert list(_BY_AUTHOR(author=2**70)) == []
    assert list(_BY_IDS(ids=[2**70, first.pk])) == [first]


def test_anything_built_on_a_bound_statement_compiles_afresh() -> None:
    first, second = PostFactory(), PostFactory()
    bound = _BY_IDS(ids=[first.pk, second.pk])
    narrowed = bound.filter(pk=second.pk)
    assert type(narrowed.query).__name__ == "Query"
    assert [p.pk for p in narrowed] == [second.pk]
    assert bound.count() == 2
    assert bound.first() == first
    assert [p.pk for p in bound] == [first.pk, second.pk]


def test_a_value_the_build_transforms_is_refused_when_compiled() -> None:
    shifted = Prepared("tests.shifted", lambda *, author: Post.objects.filter(author_id=author + 1), ints=("author",))
    PREPARED.remove(shifted)
    with pytest.raises(ValueError, match="not a parameter"):
        list(shifted(author=1))
    with pytest.raises(TypeError, match="takes"):
        _BY_AUTHOR(ids=[1])
