"""API shapes for posts, comments, revisions, topics and mention autocomplete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema

from townhall.accounts.schemas import Id, InputSchema
from townhall.posts.services import MAX_COMMENT_LENGTH, MAX_LINK_LENGTH, MAX_POST_LENGTH, MAX_SEEN_BATCH
from townhall.reactions.schemas import ReactionSummaryOut

Slug = Annotated[str, Field(min_length=1, max_length=120, examples=["design"])]


class PersonRefOut(Schema):
    id: int
    display_name: str
    avatar_url: str | None


class CommunityRefOut(Schema):
    id: int
    slug: str
    name: str
    visibility: str
    is_all_company: bool


class ImageOut(Schema):
    id: int
    url: str
    alt_text: str
    width: int
    height: int


class TopicRefOut(Schema):
    slug: str
    name: str


class LinkPreviewOut(Schema):
    url: str
    status: str = Field(description="`pending` until the worker has fetched it, then `ready` or `failed`.")
    title: str
    description: str
    site_name: str
    image_url: str | None


class SharedPostOut(Schema):
    """The original a share quotes, shown only to callers who may see it."""

    id: int
    author: PersonRefOut
    community: CommunityRefOut | None
    profile_user: PersonRefOut | None
    body: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    images: list[ImageOut]
    topics: list[TopicRefOut]
    link_url: str


class PostOut(Schema):
    id: int
    kind: str
    author: PersonRefOut
    community: CommunityRefOut | None = Field(description="Where it was posted; null for a post on a profile.")
    profile_user: PersonRefOut | None = Field(description="Whose profile it is on, for profile posts.")
    body: str = Field(description="The Markdown as written.")
    body_html: str = Field(description="Rendered and sanitised HTML, safe to insert as is.")
    created_at: datetime
    edited_at: datetime | None
    pinned: bool
    urgent: bool
    images: list[ImageOut]
    topics: list[TopicRefOut]
    link_url: str
    link_preview: LinkPreviewOut | None
    shared_post: SharedPostOut | None = Field(description="The quoted original, when the caller may see it.")
    shared_post_unavailable: bool = Field(
        description="True for a share whose original the caller may not see (show 'not available to you')."
    )
    comment_count: int
    reaction_count: int
    share_count: int
    reactions: ReactionSummaryOut
    seen_count: int | None = Field(description="How many people have seen it; only for the author, else null.")
    can_edit: bool
    can_delete: bool
    can_pin: bool
    can_comment: bool
    can_share: bool


class PostCreateIn(InputSchema):
    """Where to post: `community` (a slug), or `profile_user_id`, or neither for the
    company feed."""

    body: str = Field(default="", max_length=MAX_POST_LENGTH, description="Markdown; may be empty only with images.")
    community: Slug | None = None
    profile_user_id: Id | None = None
    link_url: str | None = Field(
        default=None, max_length=MAX_LINK_LENGTH, description="Link to preview; defaults to the first link in the body."
    )
    urgent: bool = Field(
        default=False,
        description="Notify every member of the community now, by email even outside working hours "
        "(administrators and IC moderators; community posts only).",
    )


class PostEditIn(InputSchema):
    body: str = Field(max_length=MAX_POST_LENGTH)


class PostMoveIn(InputSchema):
    community: Slug = Field(
        description="Slug of the community to move the post into: one the caller runs, open, and at least as "
        "private as the post's community now (public -> private -> secret, never back)."
    )


class PostShareIn(InputSchema):
    community: Slug = Field(description="Slug of the community to share into (one the caller may post in).")
    body: str = Field(default="", max_length=MAX_POST_LENGTH, description="An optional comment.")


class RevisionOut(Schema):
    id: int
    body: str
    body_html: str
    created_at: datetime = Field(description="When this text was written.")
    edited_by: PersonRefOut | None


class CommentOut(Schema):
    id: int
    post_id: int
    parent_id: int | None
    author: PersonRefOut
    body: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    images: list[ImageOut]
    reply_count: int
    reactions: ReactionSummaryOut
    can_edit: bool
    can_delete: bool


class ThreadOut(CommentOut):
    """A top-level comment with its replies (one level deep)."""

    replies: list[CommentOut]


class CommentsPageOut(Schema):
    items: list[ThreadOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class PageQueryIn(InputSchema):
    cursor: str | None = Field(default=None, max_length=512)
    limit: int = Field(default=24, ge=1, le=100)


class CommentCreateIn(InputSchema):
    body: str = Field(max_length=MAX_COMMENT_LENGTH)
    parent_id: Id | None = Field(
        default=None, description="Reply to this comment (a reply to a reply joins its thread)."
    )


class CommentEditIn(InputSchema):
    body: str = Field(max_length=MAX_COMMENT_LENGTH)


class SeenIn(InputSchema):
    post_ids: list[Id] = Field(max_length=MAX_SEEN_BATCH)


class TopicOut(Schema):
    slug: str
    name: str
    post_count: int = Field(description="Posts with this topic that the caller may see.")
    following: bool


class MentionQueryIn(InputSchema):
    q: str = Field(max_length=100, description="What follows the `@`; `c/` looks for communities only.")
    limit: int = Field(default=8, ge=1, le=20)


class MentionCandidateOut(Schema):
    kind: str = Field(description="`person` or `community`.")
    id: int
    handle: str = Field(description="What to insert after `@`.")
    label: str
    detail: str
