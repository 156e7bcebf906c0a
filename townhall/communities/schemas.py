"""API shapes for communities, their members, join requests and invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from ninja import Field, Schema
from pydantic import StrictBool

from townhall.accounts.schemas import Id, InputSchema
from townhall.communities.models import Kind, Visibility
from townhall.communities.services import DESCRIPTION_MAX, MESSAGE_MAX, NAME_MAX

Slug = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[-a-zA-Z0-9_]+$")]
ChoosableKind = Literal["team", "project", "interest", "event", "learning"]
# A Literal, not the Kind enum: OpenAPI names enum components after the class, and
# notifications.kinds.Kind would take the same component name "Kind" (schemathesis
# found community answers validated against the notification kinds).
CommunityKind = Literal["team", "project", "interest", "event", "learning", "department"]
assert set(get_args(CommunityKind)) == set(Kind.values)  # nosec B101 - import-time guard


class ViewerOut(Schema):
    """What the caller is and may do here."""

    is_member: bool
    is_admin: bool = Field(description="The caller is one of the community's admins.")
    is_muted: bool = Field(description="Its posts are kept out of the caller's home feed.")
    can_read: bool = Field(description="The caller may read its posts.")
    can_post: bool
    can_join: bool = Field(description="POST …/join makes the caller a member at once.")
    can_request: bool = Field(description="POST …/join files a join request for the admins.")
    has_pending_request: bool
    invitation_pending: bool = Field(description="The caller is invited; POST …/join accepts.")
    can_leave: bool
    can_moderate: bool = Field(description="The caller may change settings and manage members.")
    can_invite: bool


class CommunitySummaryOut(Schema):
    id: int
    slug: str
    name: str
    kind: CommunityKind
    visibility: Visibility


class CommunityOut(CommunitySummaryOut):
    description: str
    cover_url: str | None
    is_all_company: bool
    is_department: bool = Field(description="Membership follows the directory's departments.")
    member_count: int
    archived: bool = Field(description="Read-only: no posts, comments, reactions or joins.")
    created_at: datetime
    viewer: ViewerOut


class CommunityPageOut(Schema):
    items: list[CommunityOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class CommunityQueryIn(InputSchema):
    q: str = Field(default="", max_length=200, description="Words matched against the name and description.")
    kind: CommunityKind | None = None
    mine: bool = Field(default=False, description="Only communities the caller belongs to.")
    cursor: str | None = Field(default=None, max_length=4096)
    limit: int = Field(default=24, ge=1, le=100)


class CommunityCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=NAME_MAX, examples=["Design guild"])
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    kind: ChoosableKind = "interest"
    visibility: Visibility = Visibility.PUBLIC


class CommunityPatchIn(InputSchema):
    """Only the fields sent change. The slug never changes. The kind and visibility of
    All company and of department communities are fixed."""

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    kind: ChoosableKind | None = None
    visibility: Visibility | None = None


class JoinIn(InputSchema):
    message: str = Field(default="", max_length=MESSAGE_MAX, description="For a private community's admins.")


class JoinOut(Schema):
    status: Literal["joined", "requested"] = Field(
        description="`joined`: the caller is a member now; `requested`: a join request waits for an admin."
    )
    community: CommunityOut


class MuteIn(InputSchema):
    muted: StrictBool  # JSON true/false only


class PersonRefOut(Schema):
    id: int
    display_name: str
    avatar_url: str | None


class MemberOut(Schema):
    user: PersonRefOut
    role: Literal["member", "admin"]
    synced: bool = Field(description="The directory keeps this membership (All company, own department).")
    is_active: bool = Field(description="False only for deactivated people, whom only site admins see.")
    joined_at: datetime


class MemberPageOut(Schema):
    items: list[MemberOut]
    next_cursor: str | None


class JoinRequestOut(Schema):
    id: int
    user: PersonRefOut
    message: str
    created_at: datetime


class InviteIn(InputSchema):
    user_id: Id


class InvitationOut(Schema):
    id: int
    community: CommunitySummaryOut
    user: PersonRefOut
    invited_by: PersonRefOut | None
    created_at: datetime
