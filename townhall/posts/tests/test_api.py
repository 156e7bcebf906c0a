"""`/api/v1` posts, comments, revisions, topics, mentions and reactions endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from townhall.accounts.models import User
from townhall.accounts.services import token_create
from townhall.communities.models import Membership
from townhall.posts.models import Attachment, Post, PostView
from townhall.posts.services import comment_create, post_create, post_edit, post_share
from townhall.posts.tests.conftest import World
from townhall.reactions.services import reaction_set
from townhall.testing.clients import signed_in
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import png_upload
from townhall.testing.responses import stable_headers

pytestmark = pytest.mark.django_db


def send(client: Client, method: str, path: str, body: Any = None, **headers: str) -> Any:
    call = getattr(client, method.lower())
    if body is None:
        return call(path, **headers)
    return call(path, data=json.dumps(body), content_type="application/json", **headers)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return dict(body["error"])


def bearer(user: User) -> dict[str, str]:
    _, secret = token_create(actor=user, name="t", scopes=["read", "write"])
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


# --- posts ---------------------------------------------------------------------------------


def test_api_post_create_in_community_and_get(world: World) -> None:
    client = signed_in(world.author)
    response = send(
        client, "POST", "/api/v1/posts", {"body": "Hi @outsider #Launch https://example.com", "community": "public"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["community"]["slug"] == "public"
    assert body["topics"] == [{"slug": "launch", "name": "Launch"}]
    assert 'class="mention"' in body["body_html"]
    assert body["link_url"] == "https://example.com"
    assert body["can_edit"] and body["can_delete"] and not body["can_pin"] and body["can_comment"]
    assert body["seen_count"] == 0
    assert body["reactions"] == {"counts": {}, "total": 0, "mine": None}
    other = signed_in(world.outsider).get(f"/api/v1/posts/{body['id']}").json()
    assert other["seen_count"] is None and not other["can_edit"]


def test_api_post_create_company_feed_and_profile(world: World) -> None:
    client = signed_in(world.author)
    company = send(client, "POST", "/api/v1/posts", {"body": "Hello company"})
    assert company.status_code == 201 and company.json()["community"]["is_all_company"]
    profile = send(client, "POST", "/api/v1/posts", {"body": "Hi", "profile_user_id": world.outsider.pk})
    assert profile.status_code == 201
    assert profile.json()["community"] is None and profile.json()["profile_user"]["id"] == world.outsider.pk
    both = send(client, "POST", "/api/v1/posts", {"body": "x", "community": "public", "profile_user_id": 1})
    assert_error(both, 422, "invalid")


def test_api_post_create_denied_paths(world: World) -> None:
    outsider = signed_in(world.outsider)
    assert_error(send(outsider, "POST", "/api/v1/posts", {"body": "x", "community": "secret"}), 404, "not_found")
    assert_error(send(outsider, "POST", "/api/v1/posts", {"body": "x", "community": "private"}), 403, "forbidden")
    author = signed_in(world.author)
    assert_error(send(author, "POST", "/api/v1/posts", {"body": "x", "community": "archived"}), 403, "forbidden")
    assert_error(send(author, "POST", "/api/v1/posts", {"body": "", "community": "public"}), 422, "invalid")
    assert_error(send(author, "POST", "/api/v1/posts", {"body": "x" * 20_001}), 422, "invalid")
    guest = signed_in(world.guest)
    assert_error(send(guest, "POST", "/api/v1/posts", {"body": "x"}), 404, "not_found")
    assert_error(
        send(guest, "POST", "/api/v1/posts", {"body": "x", "profile_user_id": world.guest.pk}), 403, "forbidden"
    )
    assert_error(send(Client(), "POST", "/api/v1/posts", {"body": "x"}), 401, "unauthenticated")
    assert not Post.objects.exists()


def test_api_post_edit_history_delete(world: World) -> None:
    client = signed_in(world.author)
    post_id = send(client, "POST", "/api/v1/posts", {"body": "v1", "community": "public"}).json()["id"]
    edited = send(client, "PATCH", f"/api/v1/posts/{post_id}", {"body": "v2 **bold**"})
    assert (
        edited.status_code == 200
        and edited.json()["edited_at"]
        and "<strong>bold</strong>" in edited.json()["body_html"]
    )
    history = signed_in(world.outsider).get(f"/api/v1/posts/{post_id}/revisions").json()
    assert [r["body"] for r in history] == ["v1"] and history[0]["body_html"] == "<p>v1</p>\n"
    assert_error(send(signed_in(world.outsider), "PATCH", f"/api/v1/posts/{post_id}", {"body": "x"}), 403, "forbidden")
    assert_error(send(signed_in(world.outsider), "DELETE", f"/api/v1/posts/{post_id}"), 403, "forbidden")
    assert send(signed_in(world.admin), "DELETE", f"/api/v1/posts/{post_id}").status_code == 204
    assert_error(client.get(f"/api/v1/posts/{post_id}"), 404, "not_found")


def test_api_post_pin_unpin(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    admin = signed_in(world.admin)
    assert send(admin, "PUT", f"/api/v1/posts/{post.pk}/pin").json()["pinned"] is True
    assert send(admin, "DELETE", f"/api/v1/posts/{post.pk}/pin").json()["pinned"] is False
    assert_error(send(signed_in(world.author), "PUT", f"/api/v1/posts/{post.pk}/pin"), 403, "forbidden")
    others = [post_create(actor=world.author, body=f"{i}", community=world.public) for i in range(3)]
    for other in others:
        send(admin, "PUT", f"/api/v1/posts/{other.pk}/pin")
    error = assert_error(send(admin, "PUT", f"/api/v1/posts/{post.pk}/pin"), 422, "invalid")
    assert "at most 3" in error["message"]


def test_api_post_share_never_widens(world: World) -> None:
    secret = post_create(actor=world.author, body="secret words", community=world.secret)
    response = send(
        signed_in(world.author), "POST", f"/api/v1/posts/{secret.pk}/shares", {"community": "public", "body": "fyi"}
    )
    assert response.status_code == 201, response.content
    share_id = response.json()["id"]
    assert response.json()["shared_post"]["id"] == secret.pk
    seen = signed_in(world.outsider).get(f"/api/v1/posts/{share_id}").json()
    assert seen["shared_post"] is None and seen["shared_post_unavailable"] is True
    assert "secret words" not in json.dumps(seen)
    outsider_share = send(
        signed_in(world.outsider), "POST", f"/api/v1/posts/{secret.pk}/shares", {"community": "public"}
    )
    assert_error(outsider_share, 404, "not_found")


def test_api_post_images_upload(world: World) -> None:
    client = signed_in(world.author)
    post_id = send(client, "POST", "/api/v1/posts", {"body": "pics", "community": "public"}).json()["id"]
    response = client.post(
        f"/api/v1/posts/{post_id}/images",
        {"images": [png_upload("a.png"), png_upload("b.png", 2000, 100)], "alt_text": ["first", "second"]},
    )
    assert response.status_code == 200, response.content
    images = response.json()["images"]
    assert [i["alt_text"] for i in images] == ["first", "second"]
    assert images[1]["width"] == 1600 and images[1]["url"].endswith(".webp")


def test_api_post_images_bad_image_writes_nothing(world: World) -> None:
    client = signed_in(world.author)
    post_id = send(client, "POST", "/api/v1/posts", {"body": "pics", "community": "public"}).json()["id"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("evil.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = client.post(f"/api/v1/posts/{post_id}/images", {"images": [png_upload(), bad]})
    error = assert_error(response, 422, "invalid")
    assert "images" in error["fields"]
    assert not Attachment.objects.exists()
    other = signed_in(world.admin).post(f"/api/v1/posts/{post_id}/images", {"images": [png_upload()]})
    assert_error(other, 403, "forbidden")
    too_many_alts = client.post(f"/api/v1/posts/{post_id}/images", {"images": [png_upload()], "alt_text": ["a", "b"]})
    assert_error(too_many_alts, 422, "invalid")


def test_api_posts_seen_and_seen_count(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    secret = post_create(actor=world.author, body="x", community=world.secret)
    for person in (world.outsider, world.admin):
        response = send(signed_in(person), "POST", "/api/v1/posts/seen", {"post_ids": [post.pk, secret.pk, 10**9]})
        assert response.status_code == 204
    assert signed_in(world.author).get(f"/api/v1/posts/{post.pk}").json()["seen_count"] == 2
    assert signed_in(world.author).get(f"/api/v1/posts/{secret.pk}").json()["seen_count"] == 1
    assert PostView.objects.count() == 3


# --- comments --------------------------------------------------------------------------------


def test_api_comments_create_list_edit_delete(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    outsider = signed_in(world.outsider)
    top = send(outsider, "POST", f"/api/v1/posts/{post.pk}/comments", {"body": "first @author"})
    assert top.status_code == 201, top.content
    top_id = top.json()["id"]
    reply = send(
        signed_in(world.author), "POST", f"/api/v1/posts/{post.pk}/comments", {"body": "re", "parent_id": top_id}
    )
    assert reply.json()["parent_id"] == top_id
    page = outsider.get(f"/api/v1/posts/{post.pk}/comments").json()
    assert [c["id"] for c in page["items"]] == [top_id]
    assert [r["body"] for r in page["items"][0]["replies"]] == ["re"]
    assert page["items"][0]["can_edit"] and not page["items"][0]["replies"][0]["can_edit"]
    edited = send(outsider, "PATCH", f"/api/v1/comments/{top_id}", {"body": "first, edited"})
    assert edited.json()["edited_at"]
    assert_error(send(signed_in(world.author), "PATCH", f"/api/v1/comments/{top_id}", {"body": "x"}), 403, "forbidden")
    assert send(outsider, "DELETE", f"/api/v1/comments/{top_id}").status_code == 204
    assert outsider.get(f"/api/v1/posts/{post.pk}/comments").json()["items"] == []
    assert signed_in(world.author).get(f"/api/v1/posts/{post.pk}").json()["comment_count"] == 0


def test_api_comments_archived_and_bad_cursor(world: World) -> None:
    from townhall.testing.posts_factories import PostFactory

    archived = PostFactory(author=world.author, community=world.archived)
    client = signed_in(world.author)
    assert_error(send(client, "POST", f"/api/v1/posts/{archived.pk}/comments", {"body": "x"}), 403, "forbidden")
    error = assert_error(client.get(f"/api/v1/posts/{archived.pk}/comments?cursor=WyJ4Il0"), 422, "invalid")
    assert "cursor" in error["fields"]


def test_api_comment_images(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    comment = comment_create(actor=world.outsider, post=post, body="c")
    client = signed_in(world.outsider)
    response = client.post(f"/api/v1/comments/{comment.pk}/images", {"images": [png_upload()], "alt_text": ["pic"]})
    assert response.status_code == 200 and response.json()["images"][0]["alt_text"] == "pic"
    too_many = client.post(f"/api/v1/comments/{comment.pk}/images", {"images": [png_upload() for _ in range(4)]})
    assert_error(too_many, 422, "invalid")


def test_api_comments_list_query_count_is_constant(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    post = post_create(actor=world.author, body="x", community=world.public)
    client = signed_in(world.outsider)

    def add(n: int) -> None:
        for i in range(n):
            person = UserFactory()
            top = comment_create(actor=person, post=post, body=f"c{i} @author")
            reply = comment_create(actor=world.author, post=post, body="r", parent=top)
            reaction_set(actor=person, target_type="comment", target_id=reply.pk, kind="like")

    add(1)
    with CaptureQueriesContext(connection) as small:
        assert client.get(f"/api/v1/posts/{post.pk}/comments?limit=100").status_code == 200
    add(12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(f"/api/v1/posts/{post.pk}/comments?limit=100")
    assert len(response.json()["items"]) == 13


# --- reactions ------------------------------------------------------------------------------


def test_api_reactions_set_remove_and_people(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    outsider = signed_in(world.outsider)
    response = send(outsider, "PUT", f"/api/v1/reactions/post/{post.pk}", {"kind": "celebrate"})
    assert response.json() == {"counts": {"celebrate": 1}, "total": 1, "mine": "celebrate"}
    send(signed_in(world.admin), "PUT", f"/api/v1/reactions/post/{post.pk}", {"kind": "like"})
    people = outsider.get(f"/api/v1/reactions/post/{post.pk}/people?kind=celebrate").json()
    assert [p["person"]["id"] for p in people["items"]] == [world.outsider.pk]
    assert signed_in(world.author).get(f"/api/v1/posts/{post.pk}").json()["reaction_count"] == 2
    removed = send(outsider, "DELETE", f"/api/v1/reactions/post/{post.pk}")
    assert removed.json() == {"counts": {"like": 1}, "total": 1, "mine": None}
    assert_error(send(outsider, "PUT", f"/api/v1/reactions/post/{post.pk}", {"kind": "angry"}), 422, "invalid")
    assert_error(send(outsider, "PUT", f"/api/v1/reactions/nope/{post.pk}", {"kind": "like"}), 404, "not_found")


def test_api_reactions_on_comments_and_archived(world: World) -> None:
    from townhall.testing.posts_factories import CommentFactory, PostFactory

    post = post_create(actor=world.author, body="x", community=world.public)
    comment = comment_create(actor=world.author, post=post, body="c")
    client = signed_in(world.outsider)
    assert send(client, "PUT", f"/api/v1/reactions/comment/{comment.pk}", {"kind": "insightful"}).status_code == 200
    assert client.get(f"/api/v1/reactions/comment/{comment.pk}").json()["total"] == 1
    archived_comment = CommentFactory(
        post=PostFactory(author=world.author, community=world.archived), author=world.author
    )
    response = send(client, "PUT", f"/api/v1/reactions/comment/{archived_comment.pk}", {"kind": "like"})
    assert_error(response, 403, "forbidden")


# --- topics and mentions ---------------------------------------------------------------------


def test_api_topics_get_follow_unfollow(world: World) -> None:
    post_create(actor=world.author, body="#Design", community=world.public)
    client = signed_in(world.outsider)
    assert client.get("/api/v1/topics/design").json() == {
        "slug": "design",
        "name": "Design",
        "post_count": 1,
        "following": False,
    }
    assert send(client, "PUT", "/api/v1/topics/design/follow").json()["following"] is True
    assert send(client, "DELETE", "/api/v1/topics/design/follow").status_code == 204
    assert client.get("/api/v1/topics/design").json()["following"] is False
    assert_error(client.get("/api/v1/topics/nothing"), 404, "not_found")


def test_api_mentions_autocomplete(world: World) -> None:
    client = signed_in(world.author)
    found = client.get("/api/v1/mentions?q=outs").json()
    assert found == [
        {"kind": "person", "id": world.outsider.pk, "handle": "outsider", "label": "Otto Outsider", "detail": ""}
    ]
    assert [c["handle"] for c in client.get("/api/v1/mentions?q=c/pri").json()] == ["c/private"]
    assert_error(client.get("/api/v1/mentions"), 422, "invalid")


def test_api_token_scopes_apply(world: World) -> None:
    _, read_only = token_create(actor=world.author, name="r", scopes=["read"])
    client = Client()
    response = send(client, "POST", "/api/v1/posts", {"body": "x"}, HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert_error(response, 401, "unauthenticated")
    response = send(client, "POST", "/api/v1/posts", {"body": "x"}, **bearer(world.author))
    assert response.status_code == 201


# --- the canary: nothing of a secret community's post reaches a non-member --------------------

CANARY = "zqxcanary7731"


def _plant(world: World) -> dict[str, int]:
    post = post_create(
        actor=world.author,
        body=f"{CANARY} #{CANARY}topic @admin.person https://{CANARY}.example/",
        community=world.secret,
        images=[(png_upload(), f"{CANARY} alt")],
    )
    post_edit(actor=world.author, post=post, body=f"{CANARY} edited #{CANARY}topic")
    comment = comment_create(actor=world.admin, post=post, body=f"{CANARY} comment")
    reply = comment_create(actor=world.author, post=post, body=f"{CANARY} reply", parent=comment)
    reaction_set(actor=world.admin, target_type="post", target_id=post.pk, kind="love")
    reaction_set(actor=world.author, target_type="comment", target_id=comment.pk, kind="funny")
    share = post_share(actor=world.author, post=post, community=world.public, body="worth a look")
    return {"post": post.pk, "comment": comment.pk, "reply": reply.pk, "share": share.pk}


def _probe(client: Client, ids: dict[str, int], missing: int) -> list[tuple[str, str, Any]]:
    """Every read and write path touching the planted objects, and the same path for a
    missing id: (label, path for planted, path for missing, method, body)."""
    p, c = ids["post"], ids["comment"]
    calls: list[tuple[str, str, str, Any]] = [
        ("GET", f"/api/v1/posts/{p}", f"/api/v1/posts/{missing}", None),
        ("GET", f"/api/v1/posts/{p}/comments", f"/api/v1/posts/{missing}/comments", None),
        ("GET", f"/api/v1/posts/{p}/revisions", f"/api/v1/posts/{missing}/revisions", None),
        ("PATCH", f"/api/v1/posts/{p}", f"/api/v1/posts/{missing}", {"body": "x"}),
        ("DELETE", f"/api/v1/posts/{p}", f"/api/v1/posts/{missing}", None),
        ("PUT", f"/api/v1/posts/{p}/pin", f"/api/v1/posts/{missing}/pin", None),
        ("DELETE", f"/api/v1/posts/{p}/pin", f"/api/v1/posts/{missing}/pin", None),
        ("POST", f"/api/v1/posts/{p}/shares", f"/api/v1/posts/{missing}/shares", {"community": "public"}),
        ("POST", f"/api/v1/posts/{p}/comments", f"/api/v1/posts/{missing}/comments", {"body": "x"}),
        ("PATCH", f"/api/v1/comments/{c}", f"/api/v1/comments/{missing}", {"body": "x"}),
        ("DELETE", f"/api/v1/comments/{c}", f"/api/v1/comments/{missing}", None),
        ("GET", f"/api/v1/reactions/post/{p}", f"/api/v1/reactions/post/{missing}", None),
        ("GET", f"/api/v1/reactions/post/{p}/people", f"/api/v1/reactions/post/{missing}/people", None),
        ("PUT", f"/api/v1/reactions/post/{p}", f"/api/v1/reactions/post/{missing}", {"kind": "like"}),
        ("DELETE", f"/api/v1/reactions/post/{p}", f"/api/v1/reactions/post/{missing}", None),
        ("GET", f"/api/v1/reactions/comment/{c}", f"/api/v1/reactions/comment/{missing}", None),
        ("GET", f"/api/v1/reactions/comment/{c}/people", f"/api/v1/reactions/comment/{missing}/people", None),
        ("PUT", f"/api/v1/reactions/comment/{c}", f"/api/v1/reactions/comment/{missing}", {"kind": "like"}),
        ("GET", f"/api/v1/topics/{CANARY}topic", "/api/v1/topics/neverexisted", None),
        ("PUT", f"/api/v1/topics/{CANARY}topic/follow", "/api/v1/topics/neverexisted/follow", None),
        ("DELETE", f"/api/v1/topics/{CANARY}topic/follow", "/api/v1/topics/neverexisted/follow", None),
    ]
    results = []
    for method, planted, absent, body in calls:
        hidden = send(client, method, planted, body)
        gone = send(client, method, absent, body)
        results.append((f"{method} {planted}", hidden, gone))
    return results


@pytest.mark.parametrize("who", ["outsider", "guest", "former", "site_admin", "ic_moderator"])
def test_api_canary_secret_post_leaves_no_trace(world: World, who: str) -> None:
    ids = _plant(world)
    if who == "former":
        person = UserFactory(email="former@example.com")
        Membership.objects.create(community=world.secret, user=person)
        Membership.objects.filter(community=world.secret, user=person).delete()
    else:
        person = getattr(world, who)
    client = signed_in(person)
    for label, hidden, gone in _probe(client, ids, missing=10**12):
        assert hidden.status_code == gone.status_code == 404, (label, hidden.status_code, gone.status_code)
        assert hidden.content == gone.content, label
        assert CANARY not in hidden.content.decode(), label
        assert stable_headers(hidden) == stable_headers(gone)
    other_reads = [
        client.get(f"/api/v1/posts/{ids['share']}"),
        client.get(f"/api/v1/mentions?q={CANARY}"),
        client.get("/api/v1/mentions?q=c/sec"),
        client.get("/api/v1/mentions?q=c/"),
        send(client, "POST", "/api/v1/posts/seen", {"post_ids": [ids["post"]]}),
    ]
    for response in other_reads:
        assert response.status_code in {200, 204, 404}
        assert CANARY not in response.content.decode()
        assert "secret" not in response.content.decode().lower()
    assert not PostView.objects.filter(user=person).exists()


def test_api_canary_deactivated_member_is_unauthenticated(world: World) -> None:
    ids = _plant(world)
    client = signed_in(world.author)
    headers = bearer(world.author)
    User.objects.filter(pk=world.author.pk).update(is_active=False)
    for response in (
        client.get(f"/api/v1/posts/{ids['post']}"),
        Client().get(f"/api/v1/posts/{ids['post']}", **headers),
    ):
        assert response.status_code in {401, 404}
        assert CANARY not in response.content.decode()


def test_api_canary_members_do_see_it(world: World) -> None:
    ids = _plant(world)
    client = signed_in(world.admin)
    assert CANARY in client.get(f"/api/v1/posts/{ids['post']}").content.decode()
    assert client.get(f"/api/v1/topics/{CANARY}topic").status_code == 200
