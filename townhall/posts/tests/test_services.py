"""Post and comment services: happy paths and every denied path."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from townhall.communities.models import Community, Membership
from townhall.communities.selectors import all_company
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.posts.models import Attachment, Comment, Mention, Post, PostRevision, PostView, Topic, TopicFollow
from townhall.posts.ranking import hot_score
from townhall.posts.selectors import post_for_action, post_get, seen_counts, topic_get
from townhall.posts.services import (
    comment_create,
    comment_delete,
    comment_edit,
    post_add_images,
    post_create,
    post_delete,
    post_edit,
    post_pin,
    post_share,
    posts_mark_seen,
    topic_follow,
)
from townhall.posts.tests.conftest import World
from townhall.testing.posts_factories import CommentFactory, PostFactory, png_bytes, png_upload

pytestmark = pytest.mark.django_db


def media_files() -> list[str]:
    root = settings.MEDIA_ROOT
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files] if os.path.exists(root) else []


# --- post_create -------------------------------------------------------------------------


def test_post_create_in_community_renders_and_records_everything(world: World) -> None:
    post = post_create(
        actor=world.author,
        body="Hello @admin.person and @outsider, see #Launch https://example.com/page",
        community=world.public,
    )
    assert post.community == world.public
    assert post.created_at == post.last_activity_at
    assert post.hot_score == pytest.approx(hot_score(post.created_at, 0, 0, 0))
    assert 'class="mention"' in post.body_html and 'class="topic"' in post.body_html
    assert post.link_url == "https://example.com/page"
    assert post.link_preview is not None and post.link_preview.url == "https://example.com/page"
    assert {m.user_id for m in Mention.objects.filter(post=post)} == {world.admin.pk, world.outsider.pk}
    topic = Topic.objects.get(slug="launch")
    assert list(post.topics.all()) == [topic]
    assert topic.post_count == 1


def test_post_create_in_company_feed(world: World) -> None:
    post = post_create(actor=world.outsider, body="Hi all", community=all_company())
    assert post.community is not None and post.community.is_all_company


def test_post_create_guest_cannot_post_in_company_feed(world: World) -> None:
    with pytest.raises(NotFound):  # guests do not even see the All-company community
        post_create(actor=world.guest, body="Hi all", community=all_company())


def test_post_create_on_a_colleagues_profile(world: World) -> None:
    post = post_create(actor=world.author, body="Happy birthday!", profile_user=world.outsider)
    assert post.community is None and post.profile_user == world.outsider


@pytest.mark.parametrize("who", ["guest", "inactive"])
def test_post_create_on_profile_denied_for_guests_and_deactivated(world: World, who: str) -> None:
    with pytest.raises((PermissionDenied, NotFound)):
        post_create(actor=getattr(world, who), body="Hi", profile_user=world.outsider)


def test_post_create_not_on_a_guests_profile(world: World) -> None:
    for actor in (world.author, world.site_admin):
        with pytest.raises(PermissionDenied):
            post_create(actor=actor, body="Hi", profile_user=world.guest)


def test_post_create_needs_exactly_one_place(world: World) -> None:
    with pytest.raises(ValidationFailed):
        post_create(actor=world.author, body="Hi")
    with pytest.raises(ValidationFailed):
        post_create(actor=world.author, body="Hi", community=world.public, profile_user=world.outsider)


def test_post_create_non_member_of_public_community_is_told_to_join(world: World) -> None:
    with pytest.raises(PermissionDenied, match="Join"):
        post_create(actor=world.outsider, body="Hi", community=world.public)


@pytest.mark.parametrize("place", ["private", "secret"])
def test_post_create_hidden_or_closed_community(world: World, place: str) -> None:
    expected = NotFound if place == "secret" else PermissionDenied
    with pytest.raises(expected):
        post_create(actor=world.outsider, body="Hi", community=getattr(world, place))
    assert not Post.objects.exists()


def test_post_create_archived_community_refused(world: World) -> None:
    with pytest.raises(PermissionDenied, match="archived"):
        post_create(actor=world.author, body="Hi", community=world.archived)


def test_post_create_former_member_refused(world: World) -> None:
    Membership.objects.filter(community=world.private, user=world.author).delete()
    with pytest.raises(PermissionDenied):
        post_create(actor=world.author, body="Hi", community=world.private)


def test_post_create_deactivated_refused(world: World) -> None:
    with pytest.raises(PermissionDenied):
        post_create(actor=world.inactive, body="Hi", community=world.public)


def test_post_create_deleted_community_is_missing(world: World) -> None:
    Community.objects.filter(pk=world.public.pk).update(deleted_at=timezone.now())
    world.public.refresh_from_db()
    with pytest.raises(NotFound):
        post_create(actor=world.author, body="Hi", community=world.public)


def test_post_create_body_limits(world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        post_create(actor=world.author, body="   ", community=world.public)
    assert "body" in exc.value.fields
    with pytest.raises(ValidationFailed):
        post_create(actor=world.author, body="x" * 20_001, community=world.public)
    with pytest.raises(ValidationFailed):
        post_create(actor=world.author, body="nul \x00", community=world.public)
    assert post_create(actor=world.author, body="x" * 20_000, community=world.public).pk
    assert not Topic.objects.exists()


def test_post_create_explicit_link_must_be_http(world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        post_create(actor=world.author, body="x", community=world.public, link_url="javascript:alert(1)")
    assert "link_url" in exc.value.fields
    post = post_create(actor=world.author, body="x", community=world.public, link_url="https://example.com/")
    assert post.link_url == "https://example.com/"


# --- images ------------------------------------------------------------------------------


def test_post_create_with_images_reencodes_and_records_size(world: World) -> None:
    post = post_create(
        actor=world.author,
        body="",
        community=world.public,
        images=[(png_upload(width=3200, height=800), "A wide chart"), (png_upload(), "")],
    )
    images = list(post.images.order_by("position"))
    assert [a.alt_text for a in images] == ["A wide chart", ""]
    assert (images[0].width, images[0].height) == (1600, 400)
    assert images[0].image.name.endswith(".webp")
    assert images[0].uploader == world.author


def test_post_create_bad_image_writes_nothing(world: World) -> None:
    bad = io.BytesIO(b"<svg onload=alert(1)></svg>")
    with pytest.raises(ValidationFailed) as exc:
        post_create(
            actor=world.author, body="hi #topic", community=world.public, images=[(png_upload(), "ok"), (bad, "bad")]
        )
    assert "images" in exc.value.fields
    assert not Post.objects.exists()
    assert not Attachment.objects.exists()
    assert not Topic.objects.exists()
    assert media_files() == []


def test_post_create_image_limits(world: World) -> None:
    with pytest.raises(ValidationFailed, match="at most 10"):
        post_create(actor=world.author, body="", community=world.public, images=[(png_upload(), "")] * 11)
    with pytest.raises(ValidationFailed, match="300"):
        post_create(actor=world.author, body="", community=world.public, images=[(png_upload(), "x" * 301)])
    assert not Attachment.objects.exists()


def test_post_add_images_author_only_and_total_limit(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public, images=[(png_upload(), "")] * 9)
    with pytest.raises(PermissionDenied):
        post_add_images(actor=world.admin, post=post, images=[(png_upload(), "")])
    with pytest.raises(ValidationFailed):
        post_add_images(actor=world.author, post=post, images=[(png_upload(), "")] * 2)
    images = post_add_images(actor=world.author, post=post, images=[(io.BytesIO(png_bytes()), "last")])
    assert len(images) == 10 and images[-1].alt_text == "last" and images[-1].position == 9


# --- mentions ----------------------------------------------------------------------------


def test_mention_of_someone_who_cannot_see_the_post_records_nothing(world: World) -> None:
    post = post_create(actor=world.author, body="@outsider @admin.person secret stuff", community=world.secret)
    assert set(Mention.objects.filter(post=post).values_list("user_id", flat=True)) == {world.admin.pk}
    # The link is still rendered (the author can see the person), no notification row.
    assert f"/people/{world.outsider.pk}/" in post.body_html


def test_mention_of_self_and_deactivated_records_nothing(world: World) -> None:
    post = post_create(actor=world.author, body="@author @gone", community=world.public)
    assert not Mention.objects.filter(post=post).exists()


def test_mention_of_guest_only_where_guest_can_read(world: World) -> None:
    # Site admins can see guests, so the handle resolves; guests read only their communities.
    in_public = post_create(actor=world.site_admin, body="@guest", community=all_company())
    assert not Mention.objects.filter(post=in_public).exists()
    Membership.objects.create(community=world.private, user=world.site_admin)
    Membership.objects.create(community=world.private, user=world.guest)
    in_private = post_create(actor=world.site_admin, body="@guest", community=world.private)
    assert list(Mention.objects.filter(post=in_private).values_list("user_id", flat=True)) == [world.guest.pk]


def test_mentions_on_profile_posts(world: World) -> None:
    post = post_create(actor=world.author, body="@outsider @admin.person", profile_user=world.admin)
    assert set(Mention.objects.filter(post=post).values_list("user_id", flat=True)) == {
        world.outsider.pk,
        world.admin.pk,
    }


# --- edit ------------------------------------------------------------------------------


def test_post_edit_keeps_history_and_rereads_mentions_and_topics(world: World) -> None:
    post = post_create(actor=world.author, body="v1 @outsider #old https://one.example", community=world.public)
    created = post.created_at
    post = post_edit(actor=world.author, post=post, body="v2 @admin.person #new https://two.example")
    first_edit = post.edited_at
    post = post_edit(actor=world.author, post=post, body="v3 #new")
    revisions = list(PostRevision.objects.filter(post=post).order_by("created_at", "id"))
    assert [r.body for r in revisions] == [
        "v1 @outsider #old https://one.example",
        "v2 @admin.person #new https://two.example",
    ]
    assert revisions[0].created_at == created
    assert revisions[1].created_at == first_edit
    assert post.body == "v3 #new" and "v3" in post.body_html and post.edited_at is not None
    assert not Mention.objects.filter(post=post).exists()
    assert [t.slug for t in post.topics.all()] == ["new"]
    assert Topic.objects.get(slug="old").post_count == 0
    assert Topic.objects.get(slug="new").post_count == 1
    assert post.link_url == "" and post.link_preview is None


def test_post_edit_unchanged_text_makes_no_revision(world: World) -> None:
    post = post_create(actor=world.author, body="same", community=world.public)
    post_edit(actor=world.author, post=post, body="  same \n")
    assert not PostRevision.objects.exists()


def test_post_edit_keeps_an_explicit_link(world: World) -> None:
    post = post_create(actor=world.author, body="a", community=world.public, link_url="https://keep.example/")
    post = post_edit(actor=world.author, post=post, body="b https://other.example")
    assert post.link_url == "https://keep.example/"


def test_post_edit_adds_mention_once(world: World) -> None:
    post = post_create(actor=world.author, body="@outsider", community=world.public)
    first = Mention.objects.get(post=post)
    post_edit(actor=world.author, post=post, body="@outsider again")
    assert list(Mention.objects.filter(post=post)) == [first]


@pytest.mark.parametrize("who", ["admin", "site_admin", "outsider"])
def test_post_edit_only_the_author(world: World, who: str) -> None:
    post = post_create(actor=world.author, body="mine", community=world.public)
    with pytest.raises(PermissionDenied):
        post_edit(actor=getattr(world, who), post=post, body="theirs")


def test_post_edit_denied_in_archived_community(world: World) -> None:
    post = PostFactory(author=world.author, community=world.archived)
    with pytest.raises(PermissionDenied, match="archived"):
        post_edit(actor=world.author, post=post, body="new")


def test_post_edit_former_member_of_private_community_cannot_find_it(world: World) -> None:
    post = post_create(actor=world.author, body="mine", community=world.private)
    Membership.objects.filter(community=world.private, user=world.author).delete()
    fresh = Post.objects.select_related("community").get(pk=post.pk)
    with pytest.raises(NotFound):
        post_edit(actor=world.author, post=fresh, body="new")


def test_post_edit_empty_body_refused_without_images(world: World) -> None:
    post = post_create(actor=world.author, body="text", community=world.public)
    with pytest.raises(ValidationFailed):
        post_edit(actor=world.author, post=post, body="")
    with_image = post_create(actor=world.author, body="text", community=world.public, images=[(png_upload(), "")])
    assert post_edit(actor=world.author, post=with_image, body="").body == ""


# --- delete ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "admin", "site_admin", "ic_moderator"])
def test_post_delete_by_author_and_moderators(world: World, who: str) -> None:
    post = post_create(actor=world.author, body="#gone", community=world.public)
    post_delete(actor=getattr(world, who), post=post)
    post.refresh_from_db()
    assert post.deleted_at is not None and post.deleted_by == getattr(world, who)
    assert Topic.objects.get(slug="gone").post_count == 0
    with pytest.raises(NotFound):
        post_get(viewer=world.author, post_id=post.pk)


@pytest.mark.parametrize("who", ["outsider", "guest"])
def test_post_delete_denied_to_others(world: World, who: str) -> None:
    post = post_create(actor=world.author, body="mine", community=world.public)
    with pytest.raises(PermissionDenied):
        post_delete(actor=getattr(world, who), post=post)


def test_post_delete_secret_post_by_outsider_is_missing(world: World) -> None:
    post = post_create(actor=world.author, body="secret", community=world.secret)
    with pytest.raises(NotFound):
        post_delete(actor=world.outsider, post=post)
    with pytest.raises(NotFound):  # site moderators cannot see secret communities they are not in
        post_delete(actor=world.site_admin, post=post)


def test_post_delete_profile_owner_may_delete(world: World) -> None:
    post = post_create(actor=world.author, body="on your wall", profile_user=world.outsider)
    post_delete(actor=world.outsider, post=post)
    assert Post.objects.get(pk=post.pk).deleted_at is not None


def test_post_delete_twice_is_missing(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    post_delete(actor=world.author, post=post)
    with pytest.raises(NotFound):
        post_delete(actor=world.author, post=post)


# --- pin -------------------------------------------------------------------------------


def test_post_pin_at_most_three_then_refused(world: World) -> None:
    posts = [post_create(actor=world.author, body=f"p{i}", community=world.public) for i in range(4)]
    for post in posts[:3]:
        post_pin(actor=world.admin, post=post, pinned=True)
    with pytest.raises(ValidationFailed, match="at most 3"):
        post_pin(actor=world.admin, post=posts[3], pinned=True)
    post_pin(actor=world.admin, post=posts[0], pinned=False)
    post_pin(actor=world.admin, post=posts[3], pinned=True)
    assert Post.objects.filter(pinned_at__isnull=False).count() == 3


def test_post_pin_deleted_pins_do_not_count(world: World) -> None:
    posts = [post_create(actor=world.author, body=f"p{i}", community=world.public) for i in range(4)]
    for post in posts[:3]:
        post_pin(actor=world.admin, post=post, pinned=True)
    post_delete(actor=world.author, post=posts[0])
    post_pin(actor=world.admin, post=posts[3], pinned=True)


@pytest.mark.parametrize("who", ["author", "outsider", "guest"])
def test_post_pin_denied_to_non_moderators(world: World, who: str) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    with pytest.raises(PermissionDenied):
        post_pin(actor=getattr(world, who), post=post, pinned=True)


def test_post_pin_site_moderator_and_archived(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    post_pin(actor=world.ic_moderator, post=post, pinned=True)
    archived_post = PostFactory(author=world.author, community=world.archived)
    with pytest.raises(PermissionDenied, match="archived"):
        post_pin(actor=world.admin, post=archived_post, pinned=True)
    profile_post = post_create(actor=world.author, body="x", profile_user=world.outsider)
    with pytest.raises(PermissionDenied):
        post_pin(actor=world.site_admin, post=profile_post, pinned=True)


# --- share ---------------------------------------------------------------------------


def test_post_share_creates_a_new_post_and_counts(world: World) -> None:
    original = post_create(actor=world.author, body="original", community=world.public)
    share = post_share(actor=world.author, post=original, community=world.public, body="look #here")
    assert share.shared_post == original and share.community == world.public
    original.refresh_from_db()
    assert original.share_count == 1
    assert original.hot_score == pytest.approx(hot_score(original.created_at, 0, 0, 1))
    # A share inside a private community is hidden content: it is not counted.
    post_share(actor=world.author, post=original, community=world.private, body="members only")
    original.refresh_from_db()
    assert original.share_count == 1
    post_delete(actor=world.author, post=share)
    original.refresh_from_db()
    assert original.share_count == 0


def test_post_share_never_widens(world: World) -> None:
    secret = post_create(actor=world.author, body="CANARY-share", community=world.secret)
    share = post_share(actor=world.author, post=secret, community=world.public, body="shared")
    seen_by_outsider = post_get(viewer=world.outsider, post_id=share.pk)
    assert seen_by_outsider.shared_original is None  # type: ignore[attr-defined]
    assert seen_by_outsider.shared_unavailable  # type: ignore[attr-defined]
    seen_by_member = post_get(viewer=world.admin, post_id=share.pk)
    assert seen_by_member.shared_original.pk == secret.pk  # type: ignore[attr-defined]
    assert not seen_by_member.shared_unavailable  # type: ignore[attr-defined]


def test_post_share_of_a_share_quotes_the_original(world: World) -> None:
    original = post_create(actor=world.author, body="original", community=world.public)
    share = post_share(actor=world.author, post=original, community=world.private)
    again = post_share(actor=world.admin, post=share, community=world.public)
    assert again.shared_post_id == original.pk


def test_post_share_denied_paths(world: World) -> None:
    secret = post_create(actor=world.author, body="s", community=world.secret)
    public = post_create(actor=world.author, body="p", community=world.public)
    with pytest.raises(NotFound):
        post_share(actor=world.outsider, post=secret, community=all_company())
    with pytest.raises(PermissionDenied):  # not a member of the target
        post_share(actor=world.outsider, post=public, community=world.public)
    with pytest.raises(PermissionDenied):
        post_share(actor=world.author, post=public, community=world.archived)
    with pytest.raises(NotFound):
        post_share(actor=world.outsider, post=public, community=world.secret)
    with pytest.raises(NotFound):
        post_share(actor=world.guest, post=public, community=all_company())


def test_post_share_of_deleted_original_shows_unavailable(world: World) -> None:
    original = post_create(actor=world.author, body="original", community=world.public)
    share = post_share(actor=world.author, post=original, community=world.private)
    post_delete(actor=world.author, post=original)
    assert post_get(viewer=world.author, post_id=share.pk).shared_unavailable  # type: ignore[attr-defined]


# --- comments --------------------------------------------------------------------------


def test_comment_create_counts_threads_and_rescoring(world: World) -> None:
    post = post_create(actor=world.author, body="post", community=world.public)
    top = comment_create(actor=world.outsider, post=post, body="first")
    reply = comment_create(actor=world.author, post=post, body="reply", parent=top)
    reply_to_reply = comment_create(actor=world.admin, post=post, body="deeper", parent=reply)
    assert reply.parent == top and reply_to_reply.parent == top
    post.refresh_from_db()
    top.refresh_from_db()
    assert post.comment_count == 3 and top.reply_count == 2
    assert post.hot_score == pytest.approx(hot_score(post.created_at, 0, 3, 0))
    assert post.last_activity_at >= reply_to_reply.created_at


def test_comment_create_mentions_only_readers(world: World) -> None:
    post = post_create(actor=world.author, body="post", community=world.private)
    comment = comment_create(actor=world.author, post=post, body="@outsider @admin.person #nolink")
    assert list(Mention.objects.filter(comment=comment).values_list("user_id", flat=True)) == [world.admin.pk]
    assert 'class="topic"' not in comment.body_html


def test_comment_create_with_images(world: World) -> None:
    post = post_create(actor=world.author, body="post", community=world.public)
    comment = comment_create(actor=world.outsider, post=post, body="", images=[(png_upload(), "pic")])
    assert comment.images.get().alt_text == "pic"
    with pytest.raises(ValidationFailed):
        comment_create(actor=world.outsider, post=post, body="", images=[(png_upload(), "")] * 5)
    with pytest.raises(ValidationFailed):
        comment_create(actor=world.outsider, post=post, body="", images=[(io.BytesIO(b"nope"), "")])
    assert Comment.objects.count() == 1


@pytest.mark.parametrize("who", ["outsider", "guest", "inactive"])
def test_comment_create_on_private_post_is_missing(world: World, who: str) -> None:
    post = post_create(actor=world.author, body="post", community=world.private)
    with pytest.raises(NotFound):
        comment_create(actor=getattr(world, who), post=post, body="hi")


def test_comment_create_archived_and_deleted(world: World) -> None:
    archived_post = PostFactory(author=world.author, community=world.archived)
    with pytest.raises(PermissionDenied, match="archived"):
        comment_create(actor=world.author, post=archived_post, body="hi")
    post = post_create(actor=world.author, body="post", community=world.public)
    post_delete(actor=world.author, post=post)
    with pytest.raises(NotFound):
        comment_create(actor=world.author, post=post, body="hi")


def test_comment_create_parent_must_belong_to_the_post(world: World) -> None:
    post = post_create(actor=world.author, body="a", community=world.public)
    other = post_create(actor=world.author, body="b", community=world.public)
    parent = comment_create(actor=world.author, post=other, body="elsewhere")
    with pytest.raises(NotFound):
        comment_create(actor=world.author, post=post, body="reply", parent=parent)


def test_comment_edit_and_delete(world: World) -> None:
    post = post_create(actor=world.author, body="post", community=world.public)
    top = comment_create(actor=world.outsider, post=post, body="first")
    reply = comment_create(actor=world.author, post=post, body="reply", parent=top)
    with pytest.raises(PermissionDenied):
        comment_edit(actor=world.author, comment=top, body="hijack")
    edited = comment_edit(actor=world.outsider, comment=top, body="first, edited @author")
    assert edited.edited_at is not None and "edited" in edited.body_html
    with pytest.raises(PermissionDenied):
        comment_delete(actor=world.guest, comment=top)
    comment_delete(actor=world.admin, comment=top)  # community admin moderates
    post.refresh_from_db()
    assert post.comment_count == 0  # the reply went with its thread
    with pytest.raises(NotFound):
        comment_delete(actor=world.outsider, comment=Comment.objects.get(pk=top.pk))
    assert reply.pk


def test_comment_delete_reply_recounts(world: World) -> None:
    post = post_create(actor=world.author, body="post", community=world.public)
    top = comment_create(actor=world.outsider, post=post, body="first")
    reply = comment_create(actor=world.outsider, post=post, body="reply", parent=top)
    comment_delete(actor=world.outsider, comment=reply)
    top.refresh_from_db()
    post.refresh_from_db()
    assert top.reply_count == 0 and post.comment_count == 1


def test_comment_edit_in_archived_community_refused(world: World) -> None:
    post = PostFactory(author=world.author, community=world.archived)
    comment = CommentFactory(post=post, author=world.author)
    with pytest.raises(PermissionDenied):
        comment_edit(actor=world.author, comment=comment, body="new")


# --- seen by ---------------------------------------------------------------------------


def test_posts_mark_seen_counts_unique_viewers_for_the_author_only(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.public)
    secret = post_create(actor=world.author, body="x", community=world.secret)
    for viewer in (world.outsider, world.outsider, world.admin, world.author):
        posts_mark_seen(viewer=viewer, post_ids=[post.pk, secret.pk])
    posts_mark_seen(viewer=world.inactive, post_ids=[post.pk])
    assert seen_counts(viewer=world.author, post_ids=[post.pk, secret.pk]) == {post.pk: 2, secret.pk: 1}
    assert seen_counts(viewer=world.outsider, post_ids=[post.pk]) == {}
    assert not PostView.objects.filter(post=secret, user=world.outsider).exists()


def test_posts_mark_seen_writes_only_what_is_new(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    first = post_create(actor=world.author, body="x", community=world.public)
    with django_assert_num_queries(2):  # which are new, then one insert
        posts_mark_seen(viewer=world.outsider, post_ids=[first.pk])
    with django_assert_num_queries(1):  # nothing new: no write at all
        posts_mark_seen(viewer=world.outsider, post_ids=[first.pk])
    second = post_create(actor=world.author, body="y", community=world.public)
    posts_mark_seen(viewer=world.outsider, post_ids=[first.pk, second.pk])
    assert PostView.objects.filter(user=world.outsider).count() == 2
    assert seen_counts(viewer=world.author, post_ids=[first.pk, second.pk]) == {first.pk: 1, second.pk: 1}
    secret = post_create(actor=world.author, body="s", community=world.secret)
    posts_mark_seen(viewer=world.outsider, post_ids=[secret.pk])  # the oracle applies: nothing recorded
    assert not PostView.objects.filter(post=secret).exists()
    with django_assert_num_queries(1):  # a verified page: one cheap query, no oracle, nothing new
        posts_mark_seen(viewer=world.outsider, post_ids=[first.pk, second.pk], verified=True)


def test_posts_mark_seen_caps_the_batch(world: World) -> None:
    posts_mark_seen(viewer=world.author, post_ids=range(1, 10_000))
    assert not PostView.objects.exists()


# --- topics ------------------------------------------------------------------------------


def test_topic_follow_and_unfollow(world: World) -> None:
    post_create(actor=world.author, body="#design", community=world.public)
    topic = topic_get(viewer=world.outsider, slug="design")
    topic_follow(actor=world.outsider, topic=topic, follow=True)
    topic_follow(actor=world.outsider, topic=topic, follow=True)
    assert TopicFollow.objects.filter(user=world.outsider).count() == 1
    topic_follow(actor=world.outsider, topic=topic, follow=False)
    assert not TopicFollow.objects.exists()


def test_topic_follow_of_a_secret_only_topic_is_missing(world: World) -> None:
    post_create(actor=world.author, body="#hushhush", community=world.secret)
    topic = Topic.objects.get(slug="hushhush")
    with pytest.raises(NotFound):
        topic_follow(actor=world.outsider, topic=topic, follow=True)


def test_topic_counts_follow_post_lifecycle(world: World) -> None:
    first = post_create(actor=world.author, body="#x", community=world.public)
    post_create(actor=world.author, body="#X again", community=world.public)
    assert Topic.objects.get(slug="x").post_count == 2
    post_delete(actor=world.author, post=first)
    assert Topic.objects.get(slug="x").post_count == 1


def test_post_for_action_hides_what_the_viewer_cannot_see(world: World) -> None:
    post = post_create(actor=world.author, body="x", community=world.secret)
    assert post_for_action(viewer=world.author, post_id=post.pk) == post
    with pytest.raises(NotFound):
        post_for_action(viewer=world.outsider, post_id=post.pk)


def test_post_hot_score_prefers_newer_posts_at_equal_engagement(world: World) -> None:
    a = post_create(actor=world.author, body="a", community=world.public)
    b = post_create(actor=world.author, body="b", community=world.public)
    assert b.created_at - a.created_at >= timedelta(0)
    assert b.hot_score >= a.hot_score
    assert hot_score(a.created_at + timedelta(seconds=45_000), 0, 0, 0) == pytest.approx(
        hot_score(a.created_at, 9, 0, 0)
    )
