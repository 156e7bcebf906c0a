"""Writes of posts, comments, mentions, topics and "seen by".

Every service checks permissions first (posts.permissions), validates and re-encodes
everything it was given (images included) before its first write, then writes in one
transaction; an error therefore changes nothing. Side effects (link preview fetches,
later notifications and real-time pushes) leave only after commit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.images import get_image_dimensions
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, is_signed_in
from townhall.communities.models import Community, Visibility
from townhall.communities.permissions import can_post_in, check_view_community
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.core.markdown import iter_urls
from townhall.core.prepared import Prepared
from townhall.directory.permissions import can_view_person
from townhall.media.images import reencode_image
from townhall.media.models import LinkPreview
from townhall.media.previews import request_preview
from townhall.posts import live, notify, search_docs
from townhall.posts.models import Attachment, Comment, Mention, Post, PostRevision, PostView, Topic, TopicFollow
from townhall.posts.permissions import (
    can_mark_urgent,
    can_post_on_profile,
    can_view_post,
    check_comment,
    check_delete_comment,
    check_delete_post,
    check_edit_comment,
    check_edit_post,
    check_move_post,
    check_pin_post,
    check_view_post,
)
from townhall.posts.ranking import hot_score
from townhall.posts.selectors import topic_get, visible_posts
from townhall.posts.text import Resolved, parse, prepare, render, resolve
from townhall.reactions.models import Reaction

MAX_POST_LENGTH = 20_000
MAX_COMMENT_LENGTH = 10_000
MAX_POST_IMAGES = 10
MAX_COMMENT_IMAGES = 4
MAX_ALT_TEXT = 300
IMAGE_MAX_SIDE = 1600
MAX_PINNED = 3
MAX_LINK_LENGTH = 2000
MAX_SEEN_BATCH = 200

ImageInput = tuple[IO[bytes], str]  # (file, alt text)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


def _clean_body(body: str | None, *, limit: int) -> str:
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        raise _invalid("body", "The text contains a character that cannot be stored.")
    if len(text) > limit:
        raise _invalid("body", f"Keep it under {limit:,} characters (this is {len(text):,}).")
    return text


@dataclass(frozen=True)
class _Image:
    content: ContentFile[bytes]
    alt_text: str
    width: int
    height: int


def _prepare_images(images: Iterable[ImageInput], *, limit: int, existing: int = 0) -> list[_Image]:
    """Validate and re-encode every image before anything is written."""
    images = list(images)
    if len(images) + existing > limit:
        raise _invalid("images", f"Attach at most {limit} images.")
    prepared = []
    for upload, alt_text in images:
        alt = (alt_text or "").strip()
        if len(alt) > MAX_ALT_TEXT:
            raise _invalid("images", f"Keep each image description under {MAX_ALT_TEXT} characters.")
        if "\x00" in alt:
            raise _invalid("images", "The image description contains a character that cannot be stored.")
        content = reencode_image(upload, max_side=IMAGE_MAX_SIDE, field="images")
        width, height = get_image_dimensions(content)
        content.seek(0)
        prepared.append(_Image(content=content, alt_text=alt, width=int(width or 0), height=int(height or 0)))
    return prepared


def _store_images(
    *, actor: User, images: Sequence[_Image], post: Post | None = None, comment: Comment | None = None, start: int = 0
) -> None:
    """Save the files and rows; the files are removed again if the transaction rolls back."""
    stored: list[Attachment] = []

    def remove_files() -> None:
        for attachment in stored:
            with contextlib.suppress(OSError):
                attachment.image.delete(save=False)

    try:
        for index, image in enumerate(images):
            attachment = Attachment(
                post=post,
                comment=comment,
                uploader=actor,
                alt_text=image.alt_text,
                width=image.width,
                height=image.height,
                position=start + index,
            )
            attachment.image.save(image.content.name or "image.webp", image.content, save=False)
            stored.append(attachment)
            attachment.save()
    except BaseException:
        remove_files()
        raise
    # Django has no on-rollback hook; a savepoint rollback leaves the files, which is
    # harmless (unreferenced) and rare.


def _clean_link(link_url: str | None) -> str:
    url = (link_url or "").strip()
    if not url:
        return ""
    if (
        len(url) > MAX_LINK_LENGTH
        or not url.lower().startswith(("http://", "https://"))
        or any(c.isspace() for c in url)
    ):
        raise _invalid("link_url", "Give a web address starting with http:// or https://.")
    return url


def _request_preview(url: str) -> LinkPreview | None:
    """Ask media for the link preview (fetched by the worker after commit)."""
    if not url or len(url) > MAX_LINK_LENGTH:
        return None
    return request_preview(url=url)


# --- counts and scores ---------------------------------------------------------------


def _live_comments(post_id: int) -> int:
    return (
        Comment.objects.filter(post_id=post_id, deleted_at__isnull=True)
        .filter(Q(parent__isnull=True) | Q(parent__deleted_at__isnull=True))
        .count()
    )


def refresh_engagement(post_id: int) -> None:
    """Recount a post's comments, reactions and shares and recompute its hot score.
    Counting (rather than incrementing) keeps the numbers right under retries; the
    post's row is locked before counting, so two writers on one post (PostgreSQL, READ
    COMMITTED) count one after the other instead of both missing the other's row."""
    with transaction.atomic():
        post = Post.objects.select_for_update(no_key=True).filter(pk=post_id).only("created_at").first()
        if post is None:
            return
        _recount_engagement(post)


def _recount_engagement(post: Post) -> None:
    post_id = post.pk
    comments = _live_comments(post_id)
    reactions = Reaction.objects.filter(target_type="post", target_id=post_id).count()
    # Only shares everyone may see count: a share inside a private or secret community
    # is hidden content, and a number that included it would tell outsiders it exists.
    shares = (
        Post.objects.filter(shared_post_id=post_id, deleted_at__isnull=True)
        .filter(
            Q(community__isnull=True) | Q(community__visibility=Visibility.PUBLIC, community__deleted_at__isnull=True)
        )
        .count()
    )
    Post.objects.filter(pk=post_id).update(
        comment_count=comments,
        reaction_count=reactions,
        share_count=shares,
        hot_score=hot_score(post.created_at, reactions, comments, shares),
    )
    live.post_counts_changed(post_id=post_id, comments=comments, shares=shares)
    search_docs.post_engagement_changed(post_id)


def _lock_comment(comment_id: int) -> None:
    """Lock a comment's row before recounting on it (see refresh_engagement)."""
    list(Comment.objects.select_for_update(no_key=True).filter(pk=comment_id).values_list("pk"))


def refresh_comment_reactions(comment_id: int) -> None:
    with transaction.atomic():
        _lock_comment(comment_id)
        count = Reaction.objects.filter(target_type="comment", target_id=comment_id).count()
        Comment.objects.filter(pk=comment_id).update(reaction_count=count)
    live.comment_counts_changed(comment_id=comment_id)
    search_docs.comment_engagement_changed(comment_id)


def _refresh_replies(comment_id: int) -> None:
    with transaction.atomic():
        _lock_comment(comment_id)
        count = Comment.objects.filter(parent_id=comment_id, deleted_at__isnull=True).count()
        Comment.objects.filter(pk=comment_id).update(reply_count=count)
    search_docs.comment_engagement_changed(comment_id)


def _refresh_topic_counts(topic_ids: Iterable[int]) -> None:
    ids = list(set(topic_ids))
    if not ids:
        return
    through = Post.topics.through
    counts = (
        through.objects.filter(topic_id=OuterRef("pk"), post__deleted_at__isnull=True)
        .values("topic_id")
        .annotate(n=Count("id"))
        .values("n")  # type: ignore[misc]  # django-stubs does not see the annotation
    )
    with transaction.atomic():
        # Lock first (PostgreSQL; in id order), count after: an UPDATE that waited for a
        # concurrent writer's lock would count with its old snapshot and miss that
        # writer's post (found by tests/flows/test_faults.py, 3 writers on one topic).
        list(Topic.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk"))
        Topic.objects.filter(pk__in=ids).update(post_count=Coalesce(Subquery(counts), 0))


# --- mentions and topics ---------------------------------------------------------------


def readers_among(*, post: Post, user_ids: Iterable[int]) -> set[int]:
    """The people among `user_ids` who may see `post` (active, and the oracle says
    yes). One query, plus one membership look-up per candidate for community posts."""
    candidates = list(User.objects.filter(pk__in=list(set(user_ids)), is_active=True))
    return {user.pk for user in candidates if can_view_post(user, post)}


def _sync_mentions(*, post: Post, comment: Comment | None, user_ids: Sequence[int], author_id: int) -> None:
    """Make the Mention rows of a post (or one of its comments) match `user_ids`,
    keeping rows that stay (so nobody is notified twice). Only people who may read
    the post are recorded: a mention never tells anyone about a post they cannot read."""
    wanted = readers_among(post=post, user_ids=[uid for uid in user_ids if uid != author_id])
    rows = Mention.objects.filter(post=post, comment=comment)
    existing = set(rows.values_list("user_id", flat=True))
    if existing - wanted:
        rows.filter(user_id__in=existing - wanted).delete()
    Mention.objects.bulk_create(
        [Mention(post=post, comment=comment, user_id=uid) for uid in sorted(wanted - existing)], ignore_conflicts=True
    )


def _topics_for(names: dict[str, str]) -> list[Topic]:
    if not names:
        return []
    found = {topic.slug: topic for topic in Topic.objects.filter(slug__in=list(names))}
    for slug, name in names.items():
        if slug not in found:
            try:
                with transaction.atomic():
                    found[slug] = Topic.objects.create(slug=slug, name=name)
            except IntegrityError:  # created concurrently
                found[slug] = Topic.objects.get(slug=slug)
    return [found[slug] for slug in names]


def _set_topics(post: Post, names: dict[str, str]) -> None:
    before = set(post.topics.values_list("pk", flat=True)) if post.pk else set()
    topics = _topics_for(names)
    post.topics.set(topics)
    _refresh_topic_counts(before | {topic.pk for topic in topics})


# --- posts -----------------------------------------------------------------------------


def _check_target(*, actor: User, community: Community | None, profile_user: User | None) -> None:
    if (community is None) == (profile_user is None):
        raise ValidationFailed("Choose one place to post: a community, the company feed or a profile.")
    if community is not None:
        check_view_community(actor, community)
        if not can_post_in(actor, community):
            if community.is_archived:
                raise PermissionDenied(f"{community.name} is archived, so it takes no new posts.")
            raise PermissionDenied(f"Join {community.name} to post in it.")
    elif profile_user is not None and not can_post_on_profile(actor, profile_user):
        if not can_view_person(actor, profile_user):
            raise NotFound()
        raise PermissionDenied("You cannot post on this profile.")


def _create(
    *,
    actor: User,
    body: str,
    community: Community | None,
    profile_user: User | None,
    images: Sequence[_Image],
    link_url: str,
    shared_post: Post | None,
    urgent: bool = False,
) -> Post:
    prepared = prepare(author=actor, body=body)
    link = link_url or (prepared.first_url or "")
    if len(link) > MAX_LINK_LENGTH:
        link = ""
    now = timezone.now()
    with transaction.atomic():
        post = Post.objects.create(
            author=actor,
            community=community,
            profile_user=profile_user,
            body=body,
            body_html=prepared.html,
            shared_post=shared_post,
            link_url=link,
            created_at=now,
            last_activity_at=now,
            hot_score=hot_score(now, 0, 0, 0),
            urgent=urgent,
        )
        _set_topics(post, prepared.topics)
        _sync_mentions(post=post, comment=None, user_ids=prepared.mentioned_user_ids, author_id=actor.pk)
        notify.on_post_saved(post.pk, created=True)
        if link:
            post.link_preview = _request_preview(link)
            if post.link_preview is not None:
                post.save(update_fields=["link_preview"])
        if shared_post is not None:
            refresh_engagement(shared_post.pk)
        _store_images(actor=actor, images=images, post=post)
        search_docs.post_changed(post)
        live.post_created(post=post, topics=list(prepared.topics))
    return post


def post_create(
    *,
    actor: User,
    body: str,
    community: Community | None = None,
    profile_user: User | None = None,
    images: Sequence[ImageInput] = (),
    link_url: str | None = None,
    urgent: bool = False,
) -> Post:
    """Publish a post in a community (the company feed is communities.selectors.
    all_company()) or on a person's profile: exactly one of `community` and
    `profile_user`. `urgent` (can_mark_urgent: admins and IC moderators, community
    posts only) notifies every member of the community after commit, by email even
    outside their working hours.

    Requires can_post_in (community) or can_post_on_profile (active non-guests, on an
    active non-guest's profile). The body is Markdown up to 20,000 characters; it may
    be empty only with images. Up to 10 images, each re-encoded (max side 1600) with
    alt text up to 300 characters. Mentions are recorded only for people who may read
    the post; #topics are created and linked; the first http(s) link (or `link_url`)
    gets a preview fetched after commit. NotFound for a hidden community or person,
    PermissionDenied when visible but not allowed, ValidationFailed for bad input;
    nothing is written on any error."""
    if not is_signed_in(actor):
        raise PermissionDenied("Sign in to post.")
    _check_target(actor=actor, community=community, profile_user=profile_user)
    if urgent and community is None:
        raise _invalid("urgent", "Only a post in a community can be urgent.")
    if urgent and not can_mark_urgent(actor, community):
        raise PermissionDenied("Only administrators and the internal communications team can mark a post urgent.")
    text = _clean_body(body, limit=MAX_POST_LENGTH)
    link = _clean_link(link_url)
    prepared_images = _prepare_images(images, limit=MAX_POST_IMAGES)
    if not text and not prepared_images:
        raise _invalid("body", "Write something or add an image.")
    return _create(
        actor=actor,
        body=text,
        community=community,
        profile_user=profile_user,
        images=prepared_images,
        link_url=link,
        shared_post=None,
        urgent=urgent,
    )


def post_add_images(*, actor: User, post: Post, images: Sequence[ImageInput]) -> list[Attachment]:
    """Attach more images to one's own post (10 in all). Same rules as post_create."""
    check_edit_post(actor, post)
    existing = post.images.count()
    prepared = _prepare_images(images, limit=MAX_POST_IMAGES, existing=existing)
    if not prepared:
        raise _invalid("images", "Choose at least one image.")
    with transaction.atomic():
        _store_images(actor=actor, images=prepared, post=post, start=existing)
    return list(post.images.order_by("position", "id"))


def post_edit(*, actor: User, post: Post, body: str) -> Post:
    """Replace the text of one's own post. The old text is kept as a PostRevision
    (dated when it was written), the body is re-rendered and its mentions and topics
    re-read (people newly mentioned who may read the post get a Mention; removed
    mentions are dropped). Only the author, only outside archived communities.
    An unchanged text changes nothing."""
    check_edit_post(actor, post)
    text = _clean_body(body, limit=MAX_POST_LENGTH)
    if text == post.body:
        return post
    if not text and not post.shared_post_id and not post.images.exists():
        raise _invalid("body", "Write something or add an image.")
    prepared = prepare(author=actor, body=text)
    old_links = set(_links_in(post.body))
    now = timezone.now()
    with transaction.atomic():
        PostRevision.objects.create(
            post=post, body=post.body, edited_by=actor, created_at=post.edited_at or post.created_at
        )
        post.body = text
        post.body_html = prepared.html
        post.edited_at = now
        fields = ["body", "body_html", "edited_at"]
        if not post.link_url or post.link_url in old_links:
            # The link came from the text, so it follows the text.
            new_link = prepared.first_url or ""
            if len(new_link) > MAX_LINK_LENGTH:
                new_link = ""
            if new_link != post.link_url:
                post.link_url = new_link
                post.link_preview = _request_preview(new_link) if new_link else None
                fields += ["link_url", "link_preview"]
        post.save(update_fields=fields)
        _set_topics(post, prepared.topics)
        _sync_mentions(post=post, comment=None, user_ids=prepared.mentioned_user_ids, author_id=post.author_id)
        search_docs.post_changed(post)
        notify.on_post_saved(post.pk, created=False)
    return post


def _links_in(body: str) -> list[str]:
    return list(iter_urls(body))


def post_delete(*, actor: User, post: Post) -> None:
    """Soft-delete a post (the author, the profile's owner, or a moderator). It then
    vanishes from every selector; its topics and the shared original are recounted."""
    check_delete_post(actor, post)
    with transaction.atomic():
        post.deleted_at = timezone.now()
        post.deleted_by = actor
        post.pinned_at = None
        post.save(update_fields=["deleted_at", "deleted_by", "pinned_at"])
        _refresh_topic_counts(post.topics.values_list("pk", flat=True))
        if post.shared_post_id:
            refresh_engagement(post.shared_post_id)
        search_docs.post_changed(post)


def post_pin(*, actor: User, post: Post, pinned: bool) -> Post:
    """Pin a post to the top of its community (community moderators; at most three
    pinned at once: pinning a fourth is refused) or unpin it."""
    check_pin_post(actor, post)
    if pinned == (post.pinned_at is not None):
        return post
    with transaction.atomic():
        if pinned:
            count = Post.objects.filter(
                community=post.community, pinned_at__isnull=False, deleted_at__isnull=True
            ).count()
            if count >= MAX_PINNED:
                raise ValidationFailed(f"A community can have at most {MAX_PINNED} pinned posts. Unpin one first.")
            post.pinned_at = timezone.now()
        else:
            post.pinned_at = None
        post.save(update_fields=["pinned_at"])
    return post


def post_move(*, actor: User, post: Post, community: Community) -> Post:
    """Move a post (with its comments) into another community: a moderator of both
    (site admins and IC moderators for communities they can see), never into an
    archived community and never to a wider audience (public -> private -> secret
    only; see permissions.is_widening). The pin is dropped (it belonged to the old
    place); mentions of people who cannot read it there are removed; a moved share is
    recounted on its original. From commit on, search and every feed show it only
    where it now is; its author is notified (when someone else moved it) and the new
    community's open pages get a "new posts" event, and the old community's open
    pages drop its card. NotFound, PermissionDenied or ValidationFailed before any
    write."""
    check_move_post(actor, post, community)
    old_community_id = post.community_id
    with transaction.atomic():
        post.community = community
        post.pinned_at = None
        post.save(update_fields=["community", "pinned_at"])
        readers = readers_among(post=post, user_ids=Mention.objects.filter(post=post).values_list("user_id", flat=True))
        Mention.objects.filter(post=post).exclude(user_id__in=readers).delete()
        if post.shared_post_id:
            refresh_engagement(post.shared_post_id)
        search_docs.post_moved(post)
        notify.on_post_moved(post.pk, actor_id=actor.pk)
        live.post_moved(post=post, old_community_id=old_community_id)
    return post


def post_share(*, actor: User, post: Post, community: Community, body: str = "") -> Post:
    """Share a post the actor can see into a community they may post in, with an
    optional comment (`body`). Sharing a share quotes its original when the actor can
    see that. The share is a new post: people who cannot see the original see the
    share with a "not available" placeholder, never the original (no widening)."""
    check_view_post(actor, post)
    target = post
    if post.shared_post_id:
        original = visible_posts(actor).select_related("community").filter(pk=post.shared_post_id).first()
        if original is not None:
            target = original
    _check_target(actor=actor, community=community, profile_user=None)
    text = _clean_body(body, limit=MAX_POST_LENGTH)
    return _create(
        actor=actor, body=text, community=community, profile_user=None, images=(), link_url="", shared_post=target
    )


# --- comments ------------------------------------------------------------------------


def _comment_html(*, author: User, body: str) -> tuple[str, list[int]]:
    """Comments link mentions but not topics (topics belong to posts)."""
    resolved = resolve(author=author, parsed=parse(body))
    html = render(body, resolved=Resolved(people=resolved.people, communities=resolved.communities))
    return html, list(dict.fromkeys(resolved.people.values()))


def comment_create(
    *,
    actor: User,
    post: Post,
    body: str,
    parent: Comment | None = None,
    images: Sequence[ImageInput] = (),
) -> Comment:
    """Comment on a post the actor can see (not in an archived community), or reply to
    a comment: a reply to a reply attaches to the top-level comment (one level deep).
    Up to 10,000 characters; empty only with images (up to 4). Mentions are recorded
    for people who may read the post. Recounts the post's comments and hot score."""
    check_comment(actor, post)
    if parent is not None:
        if parent.post_id != post.pk or parent.deleted_at is not None:
            raise NotFound()
        if parent.parent_id is not None:
            top = Comment.objects.filter(pk=parent.parent_id, deleted_at__isnull=True).first()
            if top is None:
                raise NotFound()
            parent = top
    text = _clean_body(body, limit=MAX_COMMENT_LENGTH)
    prepared_images = _prepare_images(images, limit=MAX_COMMENT_IMAGES)
    if not text and not prepared_images:
        raise _invalid("body", "Write something or add an image.")
    html, mentioned = _comment_html(author=actor, body=text)
    now = timezone.now()
    with transaction.atomic():
        comment = Comment.objects.create(
            post=post, parent=parent, author=actor, body=text, body_html=html, created_at=now
        )
        _sync_mentions(post=post, comment=comment, user_ids=mentioned, author_id=actor.pk)
        notify.on_comment_saved(comment.pk, created=True)
        _store_images(actor=actor, images=prepared_images, comment=comment)
        if parent is not None:
            _refresh_replies(parent.pk)
        Post.objects.filter(pk=post.pk).update(last_activity_at=now)
        refresh_engagement(post.pk)
        search_docs.comment_changed(comment)
    return comment


def comment_add_images(*, actor: User, comment: Comment, images: Sequence[ImageInput]) -> list[Attachment]:
    """Attach more images to one's own comment (4 in all)."""
    check_edit_comment(actor, comment)
    existing = comment.images.count()
    prepared = _prepare_images(images, limit=MAX_COMMENT_IMAGES, existing=existing)
    if not prepared:
        raise _invalid("images", "Choose at least one image.")
    with transaction.atomic():
        _store_images(actor=actor, images=prepared, comment=comment, start=existing)
    return list(comment.images.order_by("position", "id"))


def comment_edit(*, actor: User, comment: Comment, body: str) -> Comment:
    """Replace the text of one's own comment; mentions are re-read."""
    check_edit_comment(actor, comment)
    text = _clean_body(body, limit=MAX_COMMENT_LENGTH)
    if text == comment.body:
        return comment
    if not text and not comment.images.exists():
        raise _invalid("body", "Write something or add an image.")
    html, mentioned = _comment_html(author=actor, body=text)
    with transaction.atomic():
        comment.body = text
        comment.body_html = html
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "body_html", "edited_at"])
        _sync_mentions(post=comment.post, comment=comment, user_ids=mentioned, author_id=comment.author_id)
        search_docs.comment_changed(comment)
        notify.on_comment_saved(comment.pk, created=False)
    return comment


def comment_delete(*, actor: User, comment: Comment) -> None:
    """Soft-delete a comment (its author or a moderator); its replies go with it.
    Recounts the post's comments and hot score."""
    check_delete_comment(actor, comment)
    with transaction.atomic():
        comment.deleted_at = timezone.now()
        comment.save(update_fields=["deleted_at"])
        if comment.parent_id:
            _refresh_replies(comment.parent_id)
        refresh_engagement(comment.post_id)
        search_docs.comment_changed(comment)


# --- seen by, topics ---------------------------------------------------------------------


def _not_seen(posts: QuerySet[Post], *, me: int, ids: list[int]) -> QuerySet[Post, int]:
    return (
        posts.filter(pk__any_of=ids)
        .exclude(author_id=me)
        .exclude(Exists(PostView.objects.filter(post_id=OuterRef("pk"), user_id=me)))
        .values_list("pk", flat=True)
    )


_NOT_SEEN = Prepared(
    "posts.not_seen", lambda *, me, ids: _not_seen(Post.objects.all(), me=me, ids=ids), ints=("me",), lists=("ids",)
)


def posts_mark_seen(*, viewer: AnyUser, post_ids: Iterable[int], verified: bool = False) -> None:
    """Record that the viewer saw these posts (those they may see and did not write;
    at most 200 per call). Repeats are ignored; no count is stored. One query, and a
    second (the insert) only when something is new. `verified`: the caller has just
    loaded these posts through visible_posts(viewer), so the oracle is not applied
    again."""
    if not is_signed_in(viewer):
        return
    ids = list(dict.fromkeys(int(pk) for pk in post_ids))[:MAX_SEEN_BATCH]
    if not ids:
        return
    viewer_id = int(viewer.pk or 0)
    # Only posts not seen before: a feed read that shows nothing new writes nothing
    # (on SQLite every write takes the database's one write lock).
    if verified:
        new = list(_NOT_SEEN(me=viewer_id, ids=ids))
    else:
        new = list(_not_seen(visible_posts(viewer), me=viewer_id, ids=ids))
    if new:
        PostView.objects.bulk_create([PostView(post_id=pk, user_id=viewer_id) for pk in new], ignore_conflicts=True)


def topic_follow(*, actor: User, topic: Topic, follow: bool) -> None:
    """Follow (posts with the topic reach the home feed) or unfollow a topic. Following
    needs a topic the actor can see (topic_get); unfollowing always works."""
    if not is_signed_in(actor):
        raise PermissionDenied("Sign in to follow topics.")
    if follow:
        topic_get(viewer=actor, slug=topic.slug)
        TopicFollow.objects.get_or_create(topic=topic, user=actor)
    else:
        TopicFollow.objects.filter(topic=topic, user=actor).delete()
