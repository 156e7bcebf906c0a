"""Feed and post pages: the web flows, with and without JavaScript (htmx), 404 parity."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from townhall.communities.models import Membership
from townhall.directory.follows import is_following
from townhall.feed.tests.conftest import Town, make_post
from townhall.posts.models import Comment, Mention, Post, PostRevision, PostView, Topic, TopicFollow
from townhall.posts.services import comment_create, post_create, post_delete
from townhall.reactions.models import Reaction
from townhall.reactions.services import reaction_set
from townhall.testing.clients import signed_in
from townhall.testing.posts_factories import png_upload
from townhall.testing.responses import stable_body

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}


def body(response: Any) -> str:
    return response.content.decode()


def normalised(response: Any) -> tuple[int, str, str]:
    """Status, type and body with the per-request CSRF token blanked."""
    return response.status_code, response.get("Content-Type", ""), stable_body(response)


@pytest.fixture
def me(town: Town) -> Client:
    return signed_in(town.me)


# --- feed pages ---------------------------------------------------------------------------


def test_home_shows_feed_tabs_composer_and_marks_posts_seen(town: Town, me: Client) -> None:
    post = post_create(actor=town.admin, body="Welcome **all**", community=town.design)

    response = me.get(reverse("feed:home"))

    page = body(response)
    assert response.status_code == 200
    assert f'id="post-{post.pk}"' in page and "<strong>all</strong>" in page
    assert 'aria-current="page">Latest</a>' in page and "?order=top" in page
    assert 'id="composer"' in page and '<option value="community:design">Design</option>' in page
    assert PostView.objects.filter(post=post, user=town.me).exists()


def test_home_top_tab_orders_by_score(town: Town, me: Client) -> None:
    quiet = make_post(town.admin, town.design, minutes_ago=5)
    loud = make_post(town.admin, town.design, minutes_ago=60, reactions=500)

    page = body(me.get(reverse("feed:home") + "?order=top"))

    assert page.index(f'id="post-{loud.pk}"') < page.index(f'id="post-{quiet.pk}"')
    assert 'aria-current="page">Top</a>' in page


def test_load_more_works_as_a_link_and_as_an_htmx_fragment(town: Town, me: Client) -> None:
    posts = [make_post(town.admin, town.design) for _ in range(13)]
    first = body(me.get(reverse("feed:home")))
    match = re.search(r'href="(/\?cursor=[^"]+)" hx-get="[^"]+" hx-trigger="revealed, click"', first)
    assert match, "a load-more link"
    url = match.group(1).replace("&amp;", "&")

    plain = me.get(url)
    fragment = me.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="feed-more")

    assert plain.status_code == 200 and "<html" in body(plain)
    assert f'id="post-{posts[0].pk}"' in body(plain)
    assert "<html" not in body(fragment)
    assert 'hx-swap-oob="beforeend:#feed-list"' in body(fragment)
    assert f'id="post-{posts[0].pk}"' in body(fragment)
    assert "more post" in body(fragment)
    assert fragment["Vary"].count("HX-Request")


def test_feed_page_query_count_does_not_grow_with_posts(town: Town, me: Client) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert me.get(reverse("feed:home")).status_code == 200
        return len(captured)

    for n in range(3):
        post = post_create(actor=town.admin, body=f"#one post {n}", community=town.design, images=[(png_upload(), "x")])
        comment_create(actor=town.friend, post=post, body="hi")
    me.get(reverse("feed:home"))
    few = count()
    for n in range(15):
        post = post_create(actor=town.admin, body=f"#two post {n}", community=town.design, images=[(png_upload(), "x")])
        comment_create(actor=town.friend, post=post, body="hi")
        reaction_set(actor=town.friend, target_type="post", target_id=post.pk, kind="like")
    me.get(reverse("feed:home"))  # the first read of new posts also records them as seen (one insert)
    many = count()

    assert few == many, (few, many)
    assert many <= 40, many


def test_community_page_has_header_composer_and_feed(town: Town, me: Client) -> None:
    post = make_post(town.admin, town.design)

    page = body(me.get(reverse("feed:community", args=["design"])))

    assert '<h1 id="community-name">Design</h1>' in page
    assert f'id="post-{post.pk}"' in page
    assert 'name="destination" value="community:design"' in page


def test_private_community_page_shows_no_posts_to_non_members(town: Town) -> None:
    post = make_post(town.me, town.hr)

    page = body(signed_in(town.friend).get(reverse("feed:community", args=["hr"])))

    assert "Only members can read its posts." in page
    assert f'id="post-{post.pk}"' not in page and 'id="composer"' not in page


def test_hidden_community_answers_exactly_like_a_missing_one(town: Town, me: Client) -> None:
    make_post(town.friend, town.skunk, body="Codename falcon")

    hidden = me.get(reverse("feed:community", args=["skunk"]))
    missing = me.get(reverse("feed:community", args=["no-such-place"]))

    assert hidden.status_code == 404
    assert normalised(hidden) == normalised(missing)
    assert "falcon" not in body(hidden) and "Skunk" not in body(hidden)


def test_hidden_post_answers_exactly_like_a_missing_one(town: Town, me: Client) -> None:
    secret = make_post(town.friend, town.skunk, body="Codename falcon")
    deleted = make_post(town.admin, town.design)
    post_delete(actor=town.admin, post=deleted)
    missing_id = Post.objects.order_by("-pk").first().pk + 100  # type: ignore[union-attr]

    responses = [me.get(reverse("posts:detail", args=[pk])) for pk in (secret.pk, deleted.pk, missing_id)]
    responses += [me.get(reverse("posts:history", args=[pk])) for pk in (secret.pk, missing_id)]
    responses += [me.post(reverse("posts:react", args=[pk]), {"kind": "like"}) for pk in (secret.pk, missing_id)]
    responses += [me.post(reverse("posts:comment_add", args=[pk]), {"body": "hi"}) for pk in (secret.pk, missing_id)]

    assert {r.status_code for r in responses} == {404}
    assert len({normalised(r) for r in responses}) == 1
    assert not Reaction.objects.exists() and not Comment.objects.exists()


def test_topic_page_and_follow_toggle_with_and_without_htmx(town: Town, me: Client) -> None:
    post = post_create(actor=town.stranger, body="#Gardening tips", community=town.elsewhere)
    url = reverse("feed:topic", args=["gardening"])

    page = body(me.get(url))
    plain = me.post(reverse("feed:topic_follow", args=["gardening"]), {"follow": "1"})
    followed = TopicFollow.objects.filter(user=town.me, topic__slug="gardening").exists()
    fragment = me.post(reverse("feed:topic_follow", args=["gardening"]), {"follow": "0"}, **HX)

    assert "<h1" in page and "#Gardening" in page and f'id="post-{post.pk}"' in page
    assert plain.status_code == 302 and plain["Location"] == url and followed
    assert fragment.status_code == 200 and 'id="topic-follow"' in body(fragment) and ">Follow<" in body(fragment)
    assert not TopicFollow.objects.filter(user=town.me).exists()
    assert me.get(reverse("feed:topic", args=["no-such-topic"])).status_code == 404


def test_profile_posts_page_follow_toggle_and_composer(town: Town, me: Client) -> None:
    on_profile = make_post(town.admin, None, profile_user=town.stranger)
    url = reverse("feed:profile", args=[town.stranger.pk])

    page = body(me.get(url))
    me.post(reverse("feed:person_follow", args=[town.stranger.pk]), {"follow": "1"})
    following = is_following(viewer=town.me, person=town.stranger)
    fragment = me.post(reverse("feed:person_follow", args=[town.stranger.pk]), {"follow": "0"}, **HX)

    assert f'id="post-{on_profile.pk}"' in page
    assert f'name="destination" value="profile:{town.stranger.pk}"' in page
    assert following and ">Following<" not in body(fragment)
    assert not is_following(viewer=town.me, person=town.stranger)
    assert me.get(reverse("feed:profile", args=[999_999])).status_code == 404


# --- writing ------------------------------------------------------------------------------


def test_post_with_mention_topic_and_image_without_javascript(town: Town, me: Client) -> None:
    data = {
        "destination": "community:design",
        "body": "Hello @friend, see #Launch",
        "image_1": png_upload(),
        "alt_1": "A red square",
        "next": "/c/design/",
    }

    response = me.post(reverse("posts:create"), data)

    post = Post.objects.get()
    assert response.status_code == 302 and response["Location"] == "/c/design/"
    assert post.community == town.design
    assert Mention.objects.filter(post=post, user=town.friend).exists()
    assert list(post.topics.values_list("slug", flat=True)) == ["launch"]
    assert post.images.get().alt_text == "A red square"
    page = body(me.get("/c/design/"))
    assert 'class="mention"' in page and 'href="/topics/launch/"' in page and 'alt="A red square"' in page


def test_post_with_htmx_answers_the_card_and_a_fresh_composer(town: Town, me: Client) -> None:
    response = me.post(reverse("posts:create"), {"destination": "company", "body": "Hi all"}, **HX)

    post = Post.objects.get()
    page = body(response)
    assert post.community == town.company
    assert page.startswith("\n<article") or f'id="post-{post.pk}"' in page.split("<form", 1)[0]
    assert 'id="composer"' in page and 'hx-swap-oob="true"' in page
    assert "Your post is published." in page


def test_post_to_a_profile_and_someone_elses_profile(town: Town, me: Client) -> None:
    me.post(reverse("posts:create"), {"destination": f"profile:{town.me.pk}", "body": "Mine"})
    me.post(reverse("posts:create"), {"destination": f"profile:{town.friend.pk}", "body": "Happy birthday"})

    assert set(Post.objects.values_list("profile_user_id", flat=True)) == {town.me.pk, town.friend.pk}


def test_composer_errors_and_preview(town: Town, me: Client) -> None:
    empty = me.post(reverse("posts:create"), {"destination": "community:design", "body": "  "})
    empty_htmx = me.post(reverse("posts:create"), {"destination": "community:design", "body": ""}, **HX)
    nojs_preview = me.post(reverse("posts:create"), {"destination": "company", "body": "**bold**", "action": "preview"})
    htmx_preview = me.post(reverse("posts:preview"), {"body": "Hi @friend #tea"})
    outsider = me.post(reverse("posts:create"), {"destination": "community:elsewhere", "body": "hi"})
    hidden = me.post(reverse("posts:create"), {"destination": "community:skunk", "body": "hi"})

    assert empty.status_code == 400 and "Write something or add an image." in body(empty)
    assert empty_htmx["HX-Retarget"] == "#composer" and "Write something" in body(empty_htmx)
    assert nojs_preview.status_code == 200 and "<strong>bold</strong>" in body(nojs_preview)
    assert 'class="mention"' in body(htmx_preview) and 'class="topic"' in body(htmx_preview)
    assert outsider.status_code == 403
    assert hidden.status_code == 404
    assert not Post.objects.exists()


def test_comment_and_reply_with_and_without_htmx(town: Town, me: Client) -> None:
    post = post_create(actor=town.admin, body="Thoughts?", community=town.design)
    add = reverse("posts:comment_add", args=[post.pk])

    plain = me.post(add, {"body": "First!"})
    first = Comment.objects.get()
    fragment = me.post(
        add, {"body": "Reply to @friend", "parent": first.pk, "form_id": f"comment-{first.pk}-reply-form"}, **HX
    )
    reply = Comment.objects.exclude(pk=first.pk).get()
    error = me.post(add, {"body": ""}, **HX)

    assert plain.status_code == 302 and plain["Location"].endswith(f"#comment-{first.pk}")
    assert reply.parent_id == first.pk
    assert f'id="comment-{reply.pk}"' in body(fragment) and 'hx-swap-oob="true"' in body(fragment)
    assert "Your reply is posted." in body(fragment)
    assert error["HX-Retarget"] == "#new-comment-errors" or error["HX-Retarget"].endswith("-errors")
    detail = body(me.get(reverse("posts:detail", args=[post.pk])))
    assert detail.index(f'id="comment-{first.pk}"') < detail.index(f'id="comment-{reply.pk}"')
    assert f'id="comment-{first.pk}-replies"' in detail


def test_react_toggles_and_works_without_javascript(town: Town, me: Client) -> None:
    post = post_create(actor=town.admin, body="React!", community=town.design)
    url = reverse("posts:react", args=[post.pk])

    fragment = me.post(url, {"kind": "celebrate"}, **HX)
    plain = me.post(url, {"kind": "love", "next": "/c/design/"})
    mine = Reaction.objects.get(user=town.me).kind
    me.post(url, {"kind": "love"})

    assert 'aria-pressed="true"' in body(fragment) and f'id="post-{post.pk}-react-celebrate"' in body(fragment)
    assert "You reacted: celebrate." in body(fragment)
    assert plain.status_code == 302 and plain["Location"] == f"/c/design/#post-{post.pk}"
    assert mine == "love"
    assert not Reaction.objects.filter(user=town.me).exists()  # pressing it again takes it back


def test_who_reacted_on_the_post_page_and_reactors_page(town: Town, me: Client) -> None:
    post = post_create(actor=town.admin, body="React!", community=town.design)
    reaction_set(actor=town.friend, target_type="post", target_id=post.pk, kind="insightful")
    reaction_set(actor=town.admin, target_type="post", target_id=post.pk, kind="insightful")

    detail = body(me.get(reverse("posts:detail", args=[post.pk])))
    reactors = body(me.get(reverse("posts:reactors", args=[post.pk]) + "?kind=insightful"))

    assert "Insightful" in detail and "Fred Friend" in detail
    section = detail[detail.index('id="who-reacted-heading"') :]
    assert '<strong>Insightful</strong> <span class="muted">(2)</span>' in section  # both counted
    assert "Fred Friend" in reactors


def test_edit_keeps_history_and_answers_htmx_with_the_card(town: Town, me: Client) -> None:
    post = post_create(actor=town.me, body="Frist", community=town.design)
    url = reverse("posts:edit", args=[post.pk])

    form = me.get(url)
    plain = me.post(url, {"body": "First"})
    fragment = me.post(url, {"body": "First!"}, **HX)
    history = body(me.get(reverse("posts:history", args=[post.pk])))

    assert form.status_code == 200 and "Frist" in body(form)
    assert plain.status_code == 302
    assert f'id="post-{post.pk}"' in body(fragment) and "First!" in body(fragment)
    assert PostRevision.objects.filter(post=post).count() == 2
    assert "Frist" in history and "First!" in history
    assert signed_in(town.friend).get(url).status_code == 403


def test_delete_confirms_without_javascript_and_swaps_with_htmx(town: Town, me: Client) -> None:
    one = post_create(actor=town.me, body="one", community=town.design)
    two = post_create(actor=town.me, body="two", community=town.design)

    confirm = me.get(reverse("posts:delete", args=[one.pk]))
    plain = me.post(reverse("posts:delete", args=[one.pk]), {"next": reverse("posts:detail", args=[one.pk])})
    fragment = me.post(reverse("posts:delete", args=[two.pk]), **HX)
    denied = signed_in(town.friend).post(reverse("posts:delete", args=[make_post(town.me, town.design).pk]))

    assert confirm.status_code == 200 and "Delete this post?" in body(confirm)
    assert plain.status_code == 302 and plain["Location"] == "/c/design/"
    assert "This post is deleted." in body(fragment)
    assert Post.objects.filter(deleted_at__isnull=False).count() == 2
    assert denied.status_code == 403


def test_pin_by_a_community_admin_only(town: Town) -> None:
    post = make_post(town.me, town.design)
    url = reverse("posts:pin", args=[post.pk])

    denied = signed_in(town.me).post(url, {"pinned": "1"})
    fragment = signed_in(town.admin).post(url, {"pinned": "1"}, **HX)
    page = body(signed_in(town.me).get(reverse("feed:community", args=["design"])))

    assert denied.status_code == 403
    assert "Pinned" in body(fragment) and "Unpin" in body(fragment)
    assert Post.objects.get(pk=post.pk).pinned_at is not None
    assert '<span class="badge">Pinned</span>' in page


def test_share_into_a_community_never_widens_the_original(town: Town) -> None:
    friend = signed_in(town.friend)
    open_post = post_create(actor=town.admin, body="Open news", community=town.design)
    secret = post_create(actor=town.friend, body="Codename falcon", community=town.skunk)

    form = friend.get(reverse("posts:share", args=[secret.pk]))
    friend.post(reverse("posts:share", args=[secret.pk]), {"destination": "community:design", "body": "Look"})
    friend.post(reverse("posts:share", args=[open_post.pk]), {"destination": "company", "body": "Also"})
    share_of_secret = Post.objects.get(shared_post=secret)

    mine = body(signed_in(town.me).get(reverse("posts:detail", args=[share_of_secret.pk])))
    theirs = body(friend.get(reverse("posts:detail", args=[share_of_secret.pk])))
    assert form.status_code == 200 and "Codename falcon" in body(form)
    assert "falcon" not in mine and "not available to you" in mine
    assert "Codename falcon" in theirs
    assert Post.objects.get(shared_post=open_post).community == town.company


def test_comment_edit_and_delete(town: Town, me: Client) -> None:
    post = post_create(actor=town.admin, body="Post", community=town.design)
    comment = comment_create(actor=town.me, post=post, body="Typo")
    url = reverse("posts:comment_edit", args=[comment.pk])

    inline = me.get(url, **HX)
    saved = me.post(url, {"body": "Fixed"}, **HX)
    plain = me.post(url, {"body": "Fixed again"})
    denied = signed_in(town.friend).post(url, {"body": "Hijack"})
    deleted = me.post(reverse("posts:comment_delete", args=[comment.pk]), **HX)

    assert 'class="comment-edit"' in body(inline) and "<html" not in body(inline)
    assert "Fixed" in body(saved) and f'id="comment-{comment.pk}"' in body(saved)
    assert plain.status_code == 302
    assert denied.status_code == 403
    assert "Comment deleted." in body(deleted)
    assert Comment.objects.get().deleted_at is not None


def test_seen_by_shows_only_to_the_author(town: Town) -> None:
    post = post_create(actor=town.me, body="Mine", community=town.design)
    signed_in(town.friend).get(reverse("feed:home"))
    signed_in(town.admin).get(reverse("posts:detail", args=[post.pk]))

    mine = body(signed_in(town.me).get(reverse("posts:detail", args=[post.pk])))
    theirs = body(signed_in(town.friend).get(reverse("posts:detail", args=[post.pk])))

    assert "Seen by 2" in mine
    assert "Seen by" not in theirs


def test_autocomplete_suggests_people_communities_and_known_topics(town: Town, me: Client) -> None:
    post_create(actor=town.admin, body="#launch day", community=town.design)
    post_create(actor=town.friend, body="#lasers", community=town.skunk)

    people = me.get(reverse("posts:autocomplete") + "?q=fri").json()["results"]
    places = me.get(reverse("posts:autocomplete") + "?q=c/des").json()["results"]
    topics = me.get(reverse("posts:autocomplete") + "?type=topic&q=la").json()["results"]

    assert [p["value"] for p in people] == ["@friend"]
    assert [p["value"] for p in places] == ["@c/design"]
    assert [t["value"] for t in topics] == ["#launch"]


def test_muting_in_the_header_keeps_posts_off_home(town: Town, me: Client) -> None:
    post = make_post(town.admin, town.design)
    me.post(reverse("communities:mute", args=["design"]), {"muted": "1"})

    assert f'id="post-{post.pk}"' not in body(me.get(reverse("feed:home")))
    assert f'id="post-{post.pk}"' in body(me.get(reverse("feed:community", args=["design"])))
    assert Membership.objects.get(community=town.design, user=town.me).muted


def test_pages_need_sign_in(town: Town, client: Client) -> None:
    post = make_post(town.admin, town.design)
    for url in (
        reverse("feed:home"),
        reverse("feed:company"),
        reverse("feed:community", args=["design"]),
        reverse("posts:detail", args=[post.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:signin"))
    assert client.post(reverse("posts:react", args=[post.pk]), {"kind": "like"}).status_code == 302
    assert not Reaction.objects.exists()
    assert Topic.objects.count() == 0
