"""API shapes for reactions (on any registered target type)."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from townhall.accounts.schemas import InputSchema
from townhall.reactions.models import ReactionKind


class ReactionSummaryOut(Schema):
    counts: dict[str, int] = Field(description="Reactions per kind, most frequent first; kinds with none left out.")
    total: int
    mine: ReactionKind | None = Field(description="The caller's own reaction, if any.")


class ReactionIn(InputSchema):
    kind: ReactionKind = Field(description="Replaces the caller's previous reaction on the target, if any.")


class ReactorPersonOut(Schema):
    id: int
    display_name: str
    avatar_url: str | None


class ReactorOut(Schema):
    person: ReactorPersonOut
    kind: ReactionKind
    created_at: datetime


class ReactorsPageOut(Schema):
    items: list[ReactorOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ReactorsQueryIn(InputSchema):
    kind: ReactionKind | None = Field(default=None, description="Only people who reacted with this kind.")
    cursor: str | None = Field(default=None, max_length=512)
    limit: int = Field(default=24, ge=1, le=100)
