"""At most once (townhall/core/idempotency.py): `Idempotency-Key` on the API's creates
and the one-time token of the composer and comment forms."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from townhall.core import idempotency
from townhall.core.models import IdempotencyKey
from townhall.core.tasks import prune_idempotency_keys
from townhall.posts.models import Comment, Post
from townhall.posts.services import post_create
from townhall.posts.tests.conftest import World
from townhall.testing.clients import signed_in

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def send(client: Client, path: str, body: Any, key: str | None = None) -> Any:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return dict(body["error"])


# --- API --------------------------------------------------------------------------------


def test_api_post_retry_with_the_same_key_replays_and_creates_nothing(world: World) -> None:
    client = signed_in(world.author)
    body = {"body": "Once only #retry", "community": "public"}
    first = send(client, "/api/v1/posts", body, key="k-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = send(client, "/api/v1/posts", body, key="k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Post.objects.filter(body="Once only #retry").count() == 1
    # A new key is a new post; no key at all never deduplicates.
    assert send(client, "/api/v1/posts", body, key="k-2").json()["id"] != first.json()["id"]
    send(client, "/api/v1/posts", body)
    send(client, "/api/v1/posts", body)
    assert Post.objects.filter(body="Once only #retry").count() == 4


def test_api_key_is_scoped_to_user_and_path(world: World) -> None:
    body = {"body": "Scoped", "community": "public"}
    mine = send(signed_in(world.author), "/api/v1/posts", body, key="same")
    theirs = send(signed_in(world.admin), "/api/v1/posts", body, key="same")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"] and "Idempotent-Replayed" not in theirs
    post_id = mine.json()["id"]
    comment = send(signed_in(world.author), f"/api/v1/posts/{post_id}/comments", {"body": "c"}, key="same")
    assert comment.status_code == 201 and "Idempotent-Replayed" not in comment


def test_api_same_key_with_another_body_is_422_and_creates_nothing(world: World) -> None:
    client = signed_in(world.author)
    assert send(client, "/api/v1/posts", {"body": "first"}, key="k").status_code == 201
    err = error(send(client, "/api/v1/posts", {"body": "second"}, key="k"), 422, "invalid")
    assert "different request body" in err["message"] and "Idempotency-Key" in err["fields"]
    assert not Post.objects.filter(body="second").exists()


@pytest.mark.parametrize("key", ["", "x" * 101, "tab\there", "naïve"])
def test_api_malformed_key_is_a_clear_400(world: World, key: str) -> None:
    client = signed_in(world.author)
    err = error(send(client, "/api/v1/posts", {"body": "never"}, key=key), 400, "bad_request")
    assert "Idempotency-Key" in err["message"]
    assert not Post.objects.filter(body="never").exists()


def test_api_longest_key_is_accepted(world: World) -> None:
    key = "~" + "a" * 98 + " "
    assert send(signed_in(world.author), "/api/v1/posts", {"body": "long key"}, key=key).status_code == 201


def test_api_failed_request_stores_no_key_and_its_retry_runs_afresh(world: World) -> None:
    client = signed_in(world.author)
    error(send(client, "/api/v1/posts", {"body": "x", "community": "archived"}, key="k"), 403, "forbidden")
    assert not IdempotencyKey.objects.exists()
    # The same key may then carry a request that succeeds.
    assert send(client, "/api/v1/posts", {"body": "x", "community": "public"}, key="k").status_code == 201


def test_api_comment_and_share_are_idempotent(world: World) -> None:
    client = signed_in(world.author)
    post = post_create(actor=world.author, body="original", community=world.public)
    path = f"/api/v1/posts/{post.pk}/comments"
    first = send(client, path, {"body": "one comment"}, key="c")
    again = send(client, path, {"body": "one comment"}, key="c")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Comment.objects.filter(post=post).count() == 1
    path = f"/api/v1/posts/{post.pk}/shares"
    first = send(client, path, {"community": "private"}, key="s")
    again = send(client, path, {"community": "private"}, key="s")
    assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert Post.objects.filter(shared_post=post).count() == 1


def test_api_expired_key_is_forgotten_and_pruned(world: World) -> None:
    client = signed_in(world.author)
    assert send(client, "/api/v1/posts", {"body": "old"}, key="k").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = send(client, "/api/v1/posts", {"body": "old"}, key="k")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Post.objects.filter(body="old").count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    send(client, "/api/v1/posts", {"body": "new"}, key="fresh")
    assert prune_idempotency_keys.call() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


def test_prune_job_is_registered() -> None:
    from townhall.core import periodic

    assert "core.prune_idempotency_keys" in [job.name for job in periodic.jobs()]


def test_openapi_documents_the_header_and_409(world: World) -> None:
    schema = signed_in(world.author).get("/api/v1/openapi.json").json()
    for path in ("/api/v1/posts", "/api/v1/posts/{post_id}/comments", "/api/v1/posts/{post_id}/shares"):
        operation = schema["paths"][path]["post"]
        names = [(p["in"], p["name"]) for p in operation["parameters"]] if "parameters" in operation else []
        assert ("header", "Idempotency-Key") in names, (path, names)
        assert "409" in operation["responses"]


@pytest.mark.django_db(transaction=True)
def test_api_concurrent_duplicates_create_one_post(world: World) -> None:
    """Threads with their own connections send the same key at once: one post, and
    every answer is that post (fresh or replayed) or a 409."""
    client_cookies = signed_in(world.author).cookies
    answers: list[tuple[int, Any]] = []
    barrier = threading.Barrier(4)

    def one() -> None:
        client = Client()
        client.cookies = client_cookies
        barrier.wait()
        try:
            response = send(client, "/api/v1/posts", {"body": "raced #once"}, key="race")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Post.objects.filter(body="raced #once").count() == 1
    post_id = Post.objects.get(body="raced #once").pk
    assert len(answers) == 4
    for status, body in answers:
        assert (status == 201 and body["id"] == post_id) or (status == 409 and body["error"]["code"] == "conflict")
    assert sum(1 for status, _ in answers if status == 201) >= 1


# --- HTML forms -----------------------------------------------------------------------------


def _token(html: str) -> str:
    match = re.search(r'name="idempotency_token" value="([^"]+)"', html)
    assert match, "the form carries no one-time token"
    return match[1]


def test_composer_double_submit_posts_once(world: World) -> None:
    client = signed_in(world.author)
    page = client.get(reverse("posts:create")).content.decode()
    token = _token(page)
    assert _token(client.get(reverse("posts:create")).content.decode()) != token  # one per render
    data = {"destination": "company", "body": "Double click", "idempotency_token": token}
    first = client.post(reverse("posts:create"), data)
    second = client.post(reverse("posts:create"), data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"] and second["Idempotent-Replayed"] == "true"
    assert Post.objects.filter(body="Double click").count() == 1


def test_composer_htmx_retry_replays_the_card_and_the_fresh_form_has_a_new_token(world: World) -> None:
    client = signed_in(world.author)
    token = _token(client.get(reverse("posts:create")).content.decode())
    data = {"destination": "company", "body": "Via htmx", "idempotency_token": token}
    first = client.post(reverse("posts:create"), data, **HX)
    second = client.post(reverse("posts:create"), data, **HX)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content and second["Idempotent-Replayed"] == "true"
    assert Post.objects.filter(body="Via htmx").count() == 1
    fresh = _token(first.content.decode())
    assert fresh != token
    data = {"destination": "company", "body": "Via htmx", "idempotency_token": fresh}
    client.post(reverse("posts:create"), data, **HX)
    assert Post.objects.filter(body="Via htmx").count() == 2  # a new post on purpose


def test_composer_token_reused_for_other_text_shows_the_form_again(world: World) -> None:
    client = signed_in(world.author)
    token = _token(client.get(reverse("posts:create")).content.decode())
    client.post(reverse("posts:create"), {"destination": "company", "body": "First", "idempotency_token": token})
    response = client.post(
        reverse("posts:create"), {"destination": "company", "body": "Edited", "idempotency_token": token}
    )
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "already sent with different content" in html and _token(html) != token
    assert not Post.objects.filter(body="Edited").exists()
    damaged = client.post(
        reverse("posts:create"), {"destination": "company", "body": "Edited", "idempotency_token": "a\tb"}
    )
    assert damaged.status_code in (200, 400) and "form is damaged" in damaged.content.decode()
    assert not Post.objects.filter(body="Edited").exists()


def test_composer_without_a_token_still_posts(world: World) -> None:
    client = signed_in(world.author)
    for _ in range(2):
        assert client.post(reverse("posts:create"), {"destination": "company", "body": "Old page"}).status_code == 302
    assert Post.objects.filter(body="Old page").count() == 2


def test_comment_form_double_submit_comments_once(world: World) -> None:
    client = signed_in(world.author)
    post = post_create(actor=world.author, body="Discuss", community=world.public)
    page = client.get(reverse("posts:detail", args=[post.pk])).content.decode()
    form = page[page.index(f'id="post-{post.pk}-comment-form"') :]
    token = _token(form)
    data = {"body": "Only once", "idempotency_token": token, "form_id": f"post-{post.pk}-comment-form"}
    first = client.post(reverse("posts:comment_add", args=[post.pk]), data, **HX)
    second = client.post(reverse("posts:comment_add", args=[post.pk]), data, **HX)
    assert first.status_code == second.status_code == 200 and second.content == first.content
    assert Comment.objects.filter(post=post, body="Only once").count() == 1
    plain = {"body": "No JS", "idempotency_token": idempotency.new_form_token()}
    a = client.post(reverse("posts:comment_add", args=[post.pk]), plain)
    b = client.post(reverse("posts:comment_add", args=[post.pk]), plain)
    assert a.status_code == b.status_code == 302 and a["Location"] == b["Location"]
    assert Comment.objects.filter(post=post, body="No JS").count() == 1


# --- a real retry after a forced 503 (PostgreSQL) ---------------------------------------------


def _terminate_own_backend() -> None:
    """Kill this connection's PostgreSQL backend from a second connection (a real
    dropped connection, as a restart or a network cut would cause)."""
    import psycopg

    settings = connection.settings_dict
    pid = connection.connection.info.backend_pid
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_api_retry_after_a_forced_503_posts_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no connection to drop")
    client = signed_in(world.author)
    body = {"body": "Survives a dropped connection #retry", "community": "public"}
    dropped: list[str] = []

    def drop_before_the_key_is_finished(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if not dropped and sql.startswith('UPDATE "core_idempotencykey"'):
            dropped.append(sql)
            _terminate_own_backend()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(drop_before_the_key_is_finished):
        failed = send(client, "/api/v1/posts", body, key="retry-1")
    assert dropped, "the connection was not dropped"
    err = error(failed, 503, "unavailable")
    assert "try again" in err["message"] and failed["Retry-After"]
    # The post and its key were in one transaction: neither was stored.
    assert not Post.objects.filter(body=body["body"]).exists() and not IdempotencyKey.objects.exists()

    retried = send(client, "/api/v1/posts", body, key="retry-1")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    # The retry's answer is then lost too: the next retry replays it.
    again = send(client, "/api/v1/posts", body, key="retry-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == retried.json()["id"]
    assert Post.objects.filter(body=body["body"]).count() == 1
