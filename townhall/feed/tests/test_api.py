"""`/api/v1` feeds and following people."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from townhall.accounts.models import User
from townhall.directory.models import Follow
from townhall.feed.tests.conftest import Town, make_post
from townhall.posts.models import Topic
from townhall.posts.services import comment_create, post_create, post_share
from townhall.reactions.services import reaction_set
from townhall.testing.clients import signed_in
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(town: Town) -> Client:
    return signed_in(town.me)


def walk(client: Client, url: str, **query: Any) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        data = response.json()
        seen += [item["id"] for item in data["items"]]
        cursor = data["next_cursor"]
        if not cursor:
            return seen


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("order", ["latest", "top"])
def test_api_home_feed_pages_in_both_orders(town: Town, me: Client, order: str) -> None:
    posts = [make_post(town.admin, town.design, reactions=n % 4) for n in range(7)]
    make_post(town.stranger, town.skunk)

    walked = walk(me, "/api/v1/feed/home", order=order, limit=3)

    key = (lambda p: (p.created_at, p.pk)) if order == "latest" else (lambda p: (p.hot_score, p.pk))
    assert walked == [p.pk for p in sorted(posts, key=key, reverse=True)]


def test_api_post_shape_has_reactions_flags_and_seen_count(town: Town, me: Client) -> None:
    post = post_create(actor=town.me, body="Hi #api", community=town.design, images=[(png_upload(), "Red")])
    reaction_set(actor=town.friend, target_type="post", target_id=post.pk, kind="like")
    comment_create(actor=town.friend, post=post, body="Yo")

    item = me.get("/api/v1/feed/home").json()["items"][0]

    assert item["id"] == post.pk and item["community"]["slug"] == "design"
    assert item["reactions"] == {"counts": {"like": 1}, "total": 1, "mine": None}
    assert item["topics"] == [{"slug": "api", "name": "api"}]
    assert item["images"][0]["alt_text"] == "Red"
    assert item["comment_count"] == 1 and item["seen_count"] == 0
    assert item["can_edit"] and item["can_delete"] and not item["can_pin"]


def test_api_community_topic_and_person_feeds(town: Town, me: Client) -> None:
    in_design = post_create(actor=town.admin, body="#tea time", community=town.design)
    on_profile = make_post(town.admin, None, profile_user=town.friend)
    in_company = make_post(town.stranger, town.company)

    assert walk(me, "/api/v1/communities/design/posts") == [in_design.pk]
    assert walk(me, "/api/v1/topics/tea/posts") == [in_design.pk]
    assert walk(me, f"/api/v1/people/{town.friend.pk}/posts") == [on_profile.pk]
    assert walk(me, "/api/v1/feed/company") == [in_company.pk]


def test_api_hidden_places_answer_like_missing(town: Town, me: Client) -> None:
    post_create(actor=town.friend, body="#secretsauce", community=town.skunk)
    gone = UserFactory(is_active=False)

    for hidden, missing in (
        ("/api/v1/communities/skunk/posts", "/api/v1/communities/nowhere/posts"),
        ("/api/v1/topics/secretsauce/posts", "/api/v1/topics/nothing/posts"),
        (f"/api/v1/people/{gone.pk}/posts", "/api/v1/people/999999/posts"),
    ):
        a, b = me.get(hidden), me.get(missing)
        assert_error(a, 404, "not_found")
        assert a.content == b.content


def test_api_shared_secret_original_is_not_widened(town: Town, me: Client) -> None:
    secret = post_create(actor=town.friend, body="Codename falcon", community=town.skunk)
    post_share(actor=town.friend, post=secret, community=town.design, body="Look")

    item = me.get("/api/v1/communities/design/posts").json()["items"][0]

    assert item["shared_post"] is None and item["shared_post_unavailable"] is True
    assert "falcon" not in me.get("/api/v1/communities/design/posts").content.decode()


def test_api_bad_cursor_order_and_limit_are_422(town: Town, me: Client) -> None:
    assert_error(me.get("/api/v1/feed/home", {"cursor": "garbage"}), 422, "invalid")
    assert_error(me.get("/api/v1/feed/home", {"order": "random"}), 422, "invalid")
    assert_error(me.get("/api/v1/feed/home", {"limit": 0}), 422, "invalid")
    assert_error(me.get("/api/v1/communities/design/posts", {"cursor": "W251bGwsMV0"}), 422, "invalid")


def test_api_feed_query_count_does_not_grow_with_limit(town: Town, me: Client) -> None:
    for n in range(12):
        post = post_create(
            actor=town.admin, body=f"#q{n % 2} post", community=town.design, images=[(png_upload(), "x")]
        )
        comment_create(actor=town.friend, post=post, body="c")
        reaction_set(actor=town.friend, target_type="post", target_id=post.pk, kind="like")

    def count(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert me.get("/api/v1/feed/home", {"limit": limit}).status_code == 200
        return len(captured)

    count(3)
    assert count(3) == count(12)


def test_api_follow_unfollow_and_list(town: Town, me: Client) -> None:
    followed = me.put(f"/api/v1/people/{town.stranger.pk}/follow")
    again = me.put(f"/api/v1/people/{town.stranger.pk}/follow")
    state = me.get(f"/api/v1/people/{town.stranger.pk}/follow").json()
    listed = me.get("/api/v1/me/following", {"limit": 1})
    second = me.get("/api/v1/me/following", {"cursor": listed.json()["next_cursor"]})
    removed = me.delete(f"/api/v1/people/{town.stranger.pk}/follow")

    assert followed.status_code == again.status_code == 200 and followed.json()["following"] is True
    assert state["following"] is True
    names = [i["person"]["display_name"] for i in listed.json()["items"] + second.json()["items"]]
    assert names == ["Sid Stranger", "Fred Friend"]
    assert removed.status_code == 204
    assert not Follow.objects.filter(follower=town.me, followee=town.stranger).exists()


def test_api_follow_refuses_self_hidden_and_guests(town: Town, me: Client) -> None:
    gone = UserFactory(is_active=False)
    guest: User = UserFactory(role="guest")

    assert_error(me.put(f"/api/v1/people/{town.me.pk}/follow"), 422, "invalid")
    assert_error(me.put(f"/api/v1/people/{gone.pk}/follow"), 404, "not_found")
    assert_error(signed_in(guest).put(f"/api/v1/people/{town.me.pk}/follow"), 404, "not_found")
    assert Client().get("/api/v1/feed/home").status_code == 401
    assert Topic.objects.count() == 0
