"""`/api/v1` operations for posts, comments, edit history, topics, "seen by" and
mention autocomplete. Reactions live under `/reactions/{post|comment}/{id}`.

Thin adapters: reads go through selectors, writes through services. A post, comment
or topic the caller may not see answers 404 with the same body as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Header, Path, Query, Router, Status, UploadedFile

from townhall.accounts.api_auth import current_user
from townhall.accounts.models import User
from townhall.accounts.schemas import Id, error_responses
from townhall.communities.models import Community
from townhall.communities.selectors import all_company, community_get
from townhall.core import idempotency
from townhall.core.errors import ValidationFailed
from townhall.core.markdown import render_markdown
from townhall.directory.selectors import user_for_viewer
from townhall.posts.models import Attachment, Comment, Post, Topic
from townhall.posts.permissions import (
    can_comment,
    can_delete_comment,
    can_delete_post,
    can_edit_comment,
    can_edit_post,
    can_pin_post,
    can_share_post,
)
from townhall.posts.schemas import (
    CommentCreateIn,
    CommentEditIn,
    CommentOut,
    CommentsPageOut,
    CommunityRefOut,
    ImageOut,
    LinkPreviewOut,
    MentionCandidateOut,
    MentionQueryIn,
    PageQueryIn,
    PersonRefOut,
    PostCreateIn,
    PostEditIn,
    PostMoveIn,
    PostOut,
    PostShareIn,
    RevisionOut,
    SeenIn,
    SharedPostOut,
    ThreadOut,
    TopicOut,
    TopicRefOut,
)
from townhall.posts.selectors import (
    comment_get,
    comments_page,
    mention_candidates,
    post_get,
    post_move_targets,
    post_revisions,
    seen_counts,
    topic_get,
)
from townhall.posts.services import (
    comment_add_images,
    comment_create,
    comment_delete,
    comment_edit,
    post_add_images,
    post_create,
    post_delete,
    post_edit,
    post_move,
    post_pin,
    post_share,
    posts_mark_seen,
    topic_follow,
)
from townhall.reactions.api import summary_out
from townhall.reactions.selectors import Summary, reaction_summaries

router = Router()

CURSOR_INVALID = "The cursor is not valid; start again from the first page."
T = TypeVar("T")

# Read by the operation itself (core/idempotency.py), so a malformed key is a 400 in
# the API's error shape; declared here so OpenAPI lists it.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        description=(
            "Optional, 1-100 printable ASCII characters (a UUID is a good choice). Retrying with the same key "
            "and body within 24 hours creates nothing and returns the first answer, with `Idempotent-Replayed: "
            "true`; the same key with another body answers 422; while the first request is still running, 409."
        ),
    ),
]


def _once(
    request: HttpRequest, viewer: User, key: str | None, status: int, build: Callable[[], Any]
) -> Status[Any] | HttpResponse:
    """Run a create once per Idempotency-Key `key` (idempotency.header_key, read
    before anything else so a malformed key is refused first; None: just run it)."""
    if key is None:
        return Status(status, build())
    return idempotency.run_once(
        user_id=viewer.pk,
        request=request,
        key=key,
        request_hash=idempotency.body_hash(request),
        produce=lambda: (idempotency.json_response(status, build()), True),
    )


# --- presenters ------------------------------------------------------------------------


def person_ref(user: User) -> PersonRefOut:
    try:
        avatar = user.profile.avatar
    except ObjectDoesNotExist:
        avatar = None
    return PersonRefOut(id=user.pk, display_name=user.display_name, avatar_url=avatar.url if avatar else None)


def community_ref(community: Community | None) -> CommunityRefOut | None:
    if community is None:
        return None
    return CommunityRefOut(
        id=community.pk,
        slug=community.slug,
        name=community.name,
        visibility=community.visibility,
        is_all_company=community.is_all_company,
    )


def images_out(images: Sequence[Attachment]) -> list[ImageOut]:
    return [ImageOut(id=a.pk, url=a.image.url, alt_text=a.alt_text, width=a.width, height=a.height) for a in images]


def _topics(post: Post) -> list[TopicRefOut]:
    return [TopicRefOut(slug=t.slug, name=t.name) for t in post.topics.all()]


def preview_out(post: Post) -> LinkPreviewOut | None:
    preview = post.link_preview
    if preview is None:
        return None
    return LinkPreviewOut(
        url=preview.url,
        status=preview.status,
        title=preview.title,
        description=preview.description,
        site_name=preview.site_name,
        image_url=preview.image.url if preview.image else None,
    )


def shared_post_out(original: Post) -> SharedPostOut:
    """The original inside a share (one the caller may see), with its images and topics."""
    return SharedPostOut(
        id=original.pk,
        author=person_ref(original.author),
        community=community_ref(original.community),
        profile_user=person_ref(original.profile_user) if original.profile_user else None,
        body=original.body,
        body_html=original.body_html,
        created_at=original.created_at,
        edited_at=original.edited_at,
        images=images_out(list(original.images.all())),
        topics=_topics(original),
        link_url=original.link_url,
    )


def post_fields(post: Post) -> dict[str, Any]:
    """The PostOut fields that come from the post row and its joined relations alone
    (shared by the post endpoints and the feed's hydrated cards)."""
    return dict(
        id=post.pk,
        kind=post.kind,
        author=person_ref(post.author),
        community=community_ref(post.community),
        profile_user=person_ref(post.profile_user) if post.profile_user else None,
        body=post.body,
        body_html=post.body_html,
        created_at=post.created_at,
        edited_at=post.edited_at,
        pinned=post.pinned_at is not None,
        urgent=post.urgent,
        link_url=post.link_url,
        link_preview=preview_out(post),
        comment_count=post.comment_count,
        reaction_count=post.reaction_count,
        share_count=post.share_count,
    )


def post_out(viewer: User, post: Post) -> PostOut:
    """The API view of a post from post_get (shared original attached)."""
    summary = reaction_summaries(viewer=viewer, target_type="post", target_ids=[post.pk]).get(post.pk, Summary())
    seen = seen_counts(viewer=viewer, post_ids=[post.pk]).get(post.pk) if post.author_id == viewer.pk else None
    original = getattr(post, "shared_original", None)
    return PostOut(
        **post_fields(post),
        images=images_out(list(post.images.all())),
        topics=_topics(post),
        shared_post=shared_post_out(original) if original is not None else None,
        shared_post_unavailable=bool(getattr(post, "shared_unavailable", False)),
        reactions=summary_out(summary),
        seen_count=seen,
        can_edit=can_edit_post(viewer, post),
        can_delete=can_delete_post(viewer, post),
        can_pin=can_pin_post(viewer, post),
        can_comment=can_comment(viewer, post),
        can_share=can_share_post(viewer, post),
    )


def _comment_fields(viewer: User, comment: Comment, summaries: dict[int, Summary]) -> dict[str, object]:
    return {
        "id": comment.pk,
        "post_id": comment.post_id,
        "parent_id": comment.parent_id,
        "author": person_ref(comment.author),
        "body": comment.body,
        "body_html": comment.body_html,
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "images": images_out(list(comment.images.all())),
        "reply_count": comment.reply_count,
        "reactions": summary_out(summaries.get(comment.pk, Summary())),
        "can_edit": can_edit_comment(viewer, comment),
        "can_delete": can_delete_comment(viewer, comment),
    }


def _comment_out(viewer: User, comment: Comment) -> CommentOut:
    summaries = reaction_summaries(viewer=viewer, target_type="comment", target_ids=[comment.pk])
    return CommentOut.model_validate(_comment_fields(viewer, comment, summaries))


def _paged(call: Callable[[], T], cursor: str | None) -> T:
    """Report a bad cursor on the `cursor` field, whatever part of it was wrong."""
    try:
        return call()
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, fields={"cursor": [exc.message]}) from exc
    except (TypeError, ValueError, OverflowError) as exc:
        if not cursor:
            raise
        raise ValidationFailed(CURSOR_INVALID, fields={"cursor": [CURSOR_INVALID]}) from exc


def _uploads(images: list[UploadedFile], alt_text: list[str]) -> list[tuple[UploadedFile, str]]:
    if len(alt_text) > len(images):
        message = "Send at most one alt_text per image."
        raise ValidationFailed(message, fields={"alt_text": [message]})
    return [(image, alt_text[index] if index < len(alt_text) else "") for index, image in enumerate(images)]


# --- posts -----------------------------------------------------------------------------


@router.post(
    "/posts",
    response={201: PostOut, **error_responses(400, 403, 404, 409, 422)},
    tags=["posts"],
    operation_id="post_create",
)
def posts_create(
    request: HttpRequest, payload: PostCreateIn, idempotency_key: IdempotencyKey = None
) -> Status[Any] | HttpResponse:
    """Publish a post: in a community (`community` slug), on a profile
    (`profile_user_id`), or in the company feed (neither). Markdown with @mentions
    and #topics; add images afterwards with `POST /posts/{id}/images`."""
    viewer = current_user(request)
    key = idempotency.header_key(request)  # a malformed key is refused before anything else
    if payload.community is not None and payload.profile_user_id is not None:
        message = "Give a community or a profile, not both."
        raise ValidationFailed(message, fields={"community": [message]})
    community: Community | None = None
    profile_user: User | None = None
    if payload.profile_user_id is not None:
        profile_user = user_for_viewer(viewer=viewer, user_id=payload.profile_user_id)
    elif payload.community is not None:
        community = community_get(viewer=viewer, slug=payload.community)
    else:
        community = all_company()

    def create() -> PostOut:
        post = post_create(
            actor=viewer,
            body=payload.body,
            community=community,
            profile_user=profile_user,
            link_url=payload.link_url,
            urgent=payload.urgent,
        )
        return post_out(viewer, post_get(viewer=viewer, post_id=post.pk))

    return _once(request, viewer, key, 201, create)


@router.post(
    "/posts/seen",
    response={204: None, **error_responses(400, 403, 422)},
    tags=["posts"],
    operation_id="posts_mark_seen",
)
def posts_seen(request: HttpRequest, payload: SeenIn) -> Status[None]:
    """Record that the caller has seen these posts (for the authors' "seen by"
    counts). Posts the caller may not see are ignored without an error."""
    posts_mark_seen(viewer=current_user(request), post_ids=payload.post_ids)
    return Status(204, None)


@router.get(
    "/posts/{post_id}", response={200: PostOut, **error_responses(404, 422)}, tags=["posts"], operation_id="post_get"
)
def posts_get(request: HttpRequest, post_id: Path[Id]) -> PostOut:
    """One post. A share whose original the caller may not see has `shared_post`
    null and `shared_post_unavailable` true."""
    viewer = current_user(request)
    return post_out(viewer, post_get(viewer=viewer, post_id=post_id))


@router.patch(
    "/posts/{post_id}",
    response={200: PostOut, **error_responses(400, 403, 404, 422)},
    tags=["posts"],
    operation_id="post_edit",
)
def posts_edit(request: HttpRequest, post_id: Path[Id], payload: PostEditIn) -> PostOut:
    """Change the text of one's own post; the previous text goes to its history."""
    viewer = current_user(request)
    post_edit(actor=viewer, post=post_get(viewer=viewer, post_id=post_id), body=payload.body)
    return post_out(viewer, post_get(viewer=viewer, post_id=post_id))


@router.delete(
    "/posts/{post_id}",
    response={204: None, **error_responses(403, 404, 422)},
    tags=["posts"],
    operation_id="post_delete",
)
def posts_delete(request: HttpRequest, post_id: Path[Id]) -> Status[None]:
    """Delete a post (its author, the profile's owner, or a moderator)."""
    viewer = current_user(request)
    post_delete(actor=viewer, post=post_get(viewer=viewer, post_id=post_id))
    return Status(204, None)


@router.post(
    "/posts/{post_id}/images",
    response={200: PostOut, **error_responses(400, 403, 404, 422)},
    tags=["posts"],
    operation_id="post_images_add",
)
def posts_images_add(
    request: HttpRequest,
    post_id: Path[Id],
    images: File[list[UploadedFile]],
    alt_text: Form[list[str]] = [],  # noqa: B006 - ninja reads the default, never mutates it
) -> PostOut:
    """Attach images to one's own post (multipart; up to 10 per post), each with an
    optional `alt_text` (repeat the field once per image, in order). Every image is
    re-encoded; one bad image rejects the whole request."""
    viewer = current_user(request)
    post_add_images(actor=viewer, post=post_get(viewer=viewer, post_id=post_id), images=_uploads(images, alt_text))
    return post_out(viewer, post_get(viewer=viewer, post_id=post_id))


@router.put(
    "/posts/{post_id}/pin",
    response={200: PostOut, **error_responses(403, 404, 422)},
    tags=["posts"],
    operation_id="post_pin",
)
def posts_pin(request: HttpRequest, post_id: Path[Id]) -> PostOut:
    """Pin a post to the top of its community (community admins; three at most)."""
    viewer = current_user(request)
    post_pin(actor=viewer, post=post_get(viewer=viewer, post_id=post_id), pinned=True)
    return post_out(viewer, post_get(viewer=viewer, post_id=post_id))


@router.delete(
    "/posts/{post_id}/pin",
    response={200: PostOut, **error_responses(403, 404, 422)},
    tags=["posts"],
    operation_id="post_unpin",
)
def posts_unpin(request: HttpRequest, post_id: Path[Id]) -> PostOut:
    """Unpin a post."""
    viewer = current_user(request)
    post_pin(actor=viewer, post=post_get(viewer=viewer, post_id=post_id), pinned=False)
    return post_out(viewer, post_get(viewer=viewer, post_id=post_id))


@router.post(
    "/posts/{post_id}/move",
    response={204: None, **error_responses(400, 403, 404, 422)},
    tags=["posts"],
    operation_id="post_move",
)
def posts_move(request: HttpRequest, post_id: Path[Id], payload: PostMoveIn) -> Status[None]:
    """Move a post, with its comments, into another community (moderators of both;
    never to a wider audience). 422 when the community is not one it can move to
    (hidden, archived, the same one, or less private). 204: a site moderator who does
    not belong to the target may no longer read the post, so nothing is returned."""
    viewer = current_user(request)
    post = post_get(viewer=viewer, post_id=post_id)
    target = next((c for c in post_move_targets(viewer=viewer, post=post) if c.slug == payload.community), None)
    if target is None:
        message = "Choose a community you run that is at least as private as this post's."
        raise ValidationFailed(message, fields={"community": [message]})
    post_move(actor=viewer, post=post, community=target)
    return Status(204, None)


@router.post(
    "/posts/{post_id}/shares",
    response={201: PostOut, **error_responses(400, 403, 404, 409, 422)},
    tags=["posts"],
    operation_id="post_share",
)
def posts_share(
    request: HttpRequest, post_id: Path[Id], payload: PostShareIn, idempotency_key: IdempotencyKey = None
) -> Status[Any] | HttpResponse:
    """Share a post into a community the caller may post in, with an optional
    comment. People who cannot see the original never see it through the share."""
    viewer = current_user(request)
    key = idempotency.header_key(request)
    original = post_get(viewer=viewer, post_id=post_id)
    community = community_get(viewer=viewer, slug=payload.community)

    def create() -> PostOut:
        share = post_share(actor=viewer, post=original, community=community, body=payload.body)
        return post_out(viewer, post_get(viewer=viewer, post_id=share.pk))

    return _once(request, viewer, key, 201, create)


@router.get(
    "/posts/{post_id}/revisions",
    response={200: list[RevisionOut], **error_responses(404, 422)},
    tags=["posts"],
    operation_id="post_revisions",
)
def posts_revisions(request: HttpRequest, post_id: Path[Id]) -> list[RevisionOut]:
    """Earlier versions of a post's text, newest first (the current text is the post's)."""
    viewer = current_user(request)
    revisions = post_revisions(viewer=viewer, post=post_get(viewer=viewer, post_id=post_id))
    return [
        RevisionOut(
            id=r.pk,
            body=r.body,
            body_html=render_markdown(r.body),
            created_at=r.created_at,
            edited_by=person_ref(r.edited_by) if r.edited_by else None,
        )
        for r in revisions
    ]


# --- comments --------------------------------------------------------------------------


@router.get(
    "/posts/{post_id}/comments",
    response={200: CommentsPageOut, **error_responses(404, 422)},
    tags=["comments"],
    operation_id="comments_list",
)
def comments_list(request: HttpRequest, post_id: Path[Id], page: Query[PageQueryIn]) -> CommentsPageOut:
    """Top-level comments, oldest first, each with its replies. Cursor-paginated."""
    viewer = current_user(request)
    post = post_get(viewer=viewer, post_id=post_id)
    found = _paged(lambda: comments_page(viewer=viewer, post=post, cursor=page.cursor, limit=page.limit), page.cursor)
    every = [c for thread in found.items for c in (thread, *thread.replies_list)]  # type: ignore[attr-defined]
    summaries = reaction_summaries(viewer=viewer, target_type="comment", target_ids=[c.pk for c in every])
    items = [
        ThreadOut.model_validate(
            {
                **_comment_fields(viewer, thread, summaries),
                "replies": [
                    CommentOut.model_validate(_comment_fields(viewer, reply, summaries))
                    for reply in thread.replies_list  # type: ignore[attr-defined]
                ],
            }
        )
        for thread in found.items
    ]
    return CommentsPageOut(items=items, next_cursor=found.next_cursor)


@router.post(
    "/posts/{post_id}/comments",
    response={201: CommentOut, **error_responses(400, 403, 404, 409, 422)},
    tags=["comments"],
    operation_id="comment_create",
)
def comments_create(
    request: HttpRequest, post_id: Path[Id], payload: CommentCreateIn, idempotency_key: IdempotencyKey = None
) -> Status[Any] | HttpResponse:
    """Comment on a post, or reply to a comment (`parent_id`). Add images afterwards
    with `POST /comments/{id}/images`."""
    viewer = current_user(request)
    key = idempotency.header_key(request)
    post = post_get(viewer=viewer, post_id=post_id)
    parent = comment_get(viewer=viewer, comment_id=payload.parent_id) if payload.parent_id else None

    def create() -> CommentOut:
        comment = comment_create(actor=viewer, post=post, body=payload.body, parent=parent)
        return _comment_out(viewer, comment_get(viewer=viewer, comment_id=comment.pk))

    return _once(request, viewer, key, 201, create)


@router.patch(
    "/comments/{comment_id}",
    response={200: CommentOut, **error_responses(400, 403, 404, 422)},
    tags=["comments"],
    operation_id="comment_edit",
)
def comments_edit(request: HttpRequest, comment_id: Path[Id], payload: CommentEditIn) -> CommentOut:
    """Change the text of one's own comment."""
    viewer = current_user(request)
    comment_edit(actor=viewer, comment=comment_get(viewer=viewer, comment_id=comment_id), body=payload.body)
    return _comment_out(viewer, comment_get(viewer=viewer, comment_id=comment_id))


@router.delete(
    "/comments/{comment_id}",
    response={204: None, **error_responses(403, 404, 422)},
    tags=["comments"],
    operation_id="comment_delete",
)
def comments_delete(request: HttpRequest, comment_id: Path[Id]) -> Status[None]:
    """Delete a comment (its author or a moderator); its replies go with it."""
    viewer = current_user(request)
    comment_delete(actor=viewer, comment=comment_get(viewer=viewer, comment_id=comment_id))
    return Status(204, None)


@router.post(
    "/comments/{comment_id}/images",
    response={200: CommentOut, **error_responses(400, 403, 404, 422)},
    tags=["comments"],
    operation_id="comment_images_add",
)
def comments_images_add(
    request: HttpRequest,
    comment_id: Path[Id],
    images: File[list[UploadedFile]],
    alt_text: Form[list[str]] = [],  # noqa: B006 - ninja reads the default, never mutates it
) -> CommentOut:
    """Attach images to one's own comment (multipart; up to 4 per comment)."""
    viewer = current_user(request)
    comment = comment_get(viewer=viewer, comment_id=comment_id)
    comment_add_images(actor=viewer, comment=comment, images=_uploads(images, alt_text))
    return _comment_out(viewer, comment_get(viewer=viewer, comment_id=comment_id))


# --- topics and mentions ---------------------------------------------------------------

TopicSlug = Path[str]


def _topic_out(topic: Topic) -> TopicOut:
    return TopicOut(
        slug=topic.slug,
        name=topic.name,
        post_count=topic.visible_post_count,  # type: ignore[attr-defined]
        following=topic.is_followed,  # type: ignore[attr-defined]
    )


@router.get(
    "/topics/{slug}", response={200: TopicOut, **error_responses(404, 422)}, tags=["topics"], operation_id="topic_get"
)
def topics_get(request: HttpRequest, slug: TopicSlug) -> TopicOut:
    """A topic the caller can see posts of (or follows)."""
    return _topic_out(topic_get(viewer=current_user(request), slug=slug[:200]))


@router.put(
    "/topics/{slug}/follow",
    response={200: TopicOut, **error_responses(403, 404, 422)},
    tags=["topics"],
    operation_id="topic_follow",
)
def topics_follow(request: HttpRequest, slug: TopicSlug) -> TopicOut:
    """Follow a topic: its posts reach the caller's home feed."""
    viewer = current_user(request)
    topic_follow(actor=viewer, topic=topic_get(viewer=viewer, slug=slug[:200]), follow=True)
    return _topic_out(topic_get(viewer=viewer, slug=slug[:200]))


@router.delete(
    "/topics/{slug}/follow",
    response={204: None, **error_responses(403, 404, 422)},
    tags=["topics"],
    operation_id="topic_unfollow",
)
def topics_unfollow(request: HttpRequest, slug: TopicSlug) -> Status[None]:
    """Stop following a topic."""
    viewer = current_user(request)
    topic_follow(actor=viewer, topic=topic_get(viewer=viewer, slug=slug[:200]), follow=False)
    return Status(204, None)


@router.get(
    "/mentions",
    response={200: list[MentionCandidateOut], **error_responses(422)},
    tags=["posts"],
    operation_id="mention_candidates",
)
def mentions_list(request: HttpRequest, query: Query[MentionQueryIn]) -> list[MentionCandidateOut]:
    """@-autocomplete: people (by name or handle) and, after `c/`, communities the
    caller may read."""
    found = mention_candidates(viewer=current_user(request), prefix=query.q, limit=query.limit)
    return [MentionCandidateOut(kind=c.kind, id=c.id, handle=c.handle, label=c.label, detail=c.detail) for c in found]
