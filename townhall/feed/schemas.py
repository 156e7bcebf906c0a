"""API shapes for feeds and following people. Posts use the posts app's PostOut, so
a post looks the same whichever endpoint returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from townhall.accounts.schemas import InputSchema
from townhall.core.pagination import MAX_LIMIT
from townhall.posts.schemas import PersonRefOut, PostOut

Slug = Annotated[str, Field(min_length=1, max_length=200, examples=["design"])]


class FeedQueryIn(InputSchema):
    order: Literal["latest", "top"] = Field(
        default="latest", description="`latest`: newest first. `top`: engagement with time decay (see docs/feeds.md)."
    )
    cursor: str | None = Field(default=None, max_length=512, description="`next_cursor` of the previous page.")
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)


class FeedPageOut(Schema):
    items: list[PostOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class FollowingQueryIn(InputSchema):
    cursor: str | None = Field(default=None, max_length=512)
    limit: int = Field(default=24, ge=1, le=MAX_LIMIT)


class FollowOut(Schema):
    person: PersonRefOut
    followed_at: datetime


class FollowingPageOut(Schema):
    items: list[FollowOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class FollowStateOut(Schema):
    person: PersonRefOut
    following: bool
