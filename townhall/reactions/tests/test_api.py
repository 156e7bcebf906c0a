"""`/api/v1/reactions/...`: who reacted, in a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townhall.posts.services import post_create
from townhall.reactions.services import reaction_set
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_api_reactors_list_query_count_is_constant(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    author = UserFactory()
    post = post_create(actor=author, body="x", community=CommunityFactory(members=[author]))
    client = signed_in(author)
    reaction_set(actor=UserFactory(), target_type="post", target_id=post.pk, kind="like")
    with CaptureQueriesContext(connection) as small:
        assert client.get(f"/api/v1/reactions/post/{post.pk}/people?limit=100").status_code == 200
    for index in range(15):
        reaction_set(actor=UserFactory(), target_type="post", target_id=post.pk, kind="love" if index % 2 else "like")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(f"/api/v1/reactions/post/{post.pk}/people?limit=100")
    assert len(response.json()["items"]) == 16


def test_api_reactors_list_pages_and_rejects_bad_cursor() -> None:
    author = UserFactory()
    post = post_create(actor=author, body="x", community=CommunityFactory(members=[author]))
    for _ in range(3):
        reaction_set(actor=UserFactory(), target_type="post", target_id=post.pk, kind="funny")
    client = signed_in(author)
    first = client.get(f"/api/v1/reactions/post/{post.pk}/people?limit=2").json()
    rest = client.get(f"/api/v1/reactions/post/{post.pk}/people?limit=2&cursor={first['next_cursor']}").json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    bad = client.get(f"/api/v1/reactions/post/{post.pk}/people?cursor=bm90LWpzb24")
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]["fields"]
    assert client.get(f"/api/v1/reactions/post/{post.pk}/people?kind=angry").status_code == 422
