"""`/api/v1/reactions/{target_type}/{target_id}`: react, un-react, counts and who reacted.

`target_type` is `post` or `comment` (content apps register more). A target the
caller may not see, or an unknown type, answers 404 exactly like a missing id.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Path, Query, Router

from townhall.accounts.api_auth import current_user
from townhall.accounts.models import User
from townhall.accounts.schemas import Id, error_responses
from townhall.core.errors import ValidationFailed
from townhall.reactions.models import Reaction, ReactionKind
from townhall.reactions.schemas import (
    ReactionIn,
    ReactionSummaryOut,
    ReactorOut,
    ReactorPersonOut,
    ReactorsPageOut,
    ReactorsQueryIn,
)
from townhall.reactions.selectors import Summary, reaction_summary, reactors
from townhall.reactions.services import reaction_set

router = Router(tags=["reactions"])

TargetType = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[a-z_]+$", examples=["post", "comment"])]
CURSOR_INVALID = "The cursor is not valid; start again from the first page."


def summary_out(summary: Summary) -> ReactionSummaryOut:
    mine = ReactionKind(summary.mine) if summary.mine else None
    return ReactionSummaryOut(counts=summary.counts, total=summary.total, mine=mine)


def _summary(viewer: User, target_type: str, target_id: int) -> ReactionSummaryOut:
    return summary_out(reaction_summary(viewer=viewer, target_type=target_type, target_id=target_id))


@router.get(
    "/reactions/{target_type}/{target_id}",
    response={200: ReactionSummaryOut, **error_responses(404, 422)},
    operation_id="reactions_get",
)
def reactions_get(request: HttpRequest, target_type: Path[TargetType], target_id: Path[Id]) -> ReactionSummaryOut:
    """Reaction counts per kind on a post or comment, and the caller's own reaction."""
    return _summary(current_user(request), target_type, target_id)


@router.put(
    "/reactions/{target_type}/{target_id}",
    response={200: ReactionSummaryOut, **error_responses(400, 403, 404, 422)},
    operation_id="reaction_set",
)
def reactions_put(
    request: HttpRequest, target_type: Path[TargetType], target_id: Path[Id], payload: ReactionIn
) -> ReactionSummaryOut:
    """Set the caller's reaction (one per person per target; a new kind replaces the
    old). 403 in an archived community."""
    viewer = current_user(request)
    reaction_set(actor=viewer, target_type=target_type, target_id=target_id, kind=payload.kind.value)
    return _summary(viewer, target_type, target_id)


@router.delete(
    "/reactions/{target_type}/{target_id}",
    response={200: ReactionSummaryOut, **error_responses(403, 404, 422)},
    operation_id="reaction_remove",
)
def reactions_delete(request: HttpRequest, target_type: Path[TargetType], target_id: Path[Id]) -> ReactionSummaryOut:
    """Remove the caller's reaction, if any."""
    viewer = current_user(request)
    reaction_set(actor=viewer, target_type=target_type, target_id=target_id, kind=None)
    return _summary(viewer, target_type, target_id)


def _reactor_out(reaction: Reaction) -> ReactorOut:
    user = reaction.user
    profile = getattr(user, "profile", None)
    avatar = profile.avatar.url if profile is not None and profile.avatar else None
    return ReactorOut(
        person=ReactorPersonOut(id=user.pk, display_name=user.display_name, avatar_url=avatar),
        kind=reaction.kind,  # type: ignore[arg-type]
        created_at=reaction.created_at,
    )


@router.get(
    "/reactions/{target_type}/{target_id}/people",
    response={200: ReactorsPageOut, **error_responses(404, 422)},
    operation_id="reactors_list",
)
def reactors_list(
    request: HttpRequest, target_type: Path[TargetType], target_id: Path[Id], filters: Query[ReactorsQueryIn]
) -> ReactorsPageOut:
    """Who reacted, newest first, optionally only one kind. Cursor-paginated."""
    try:
        page = reactors(
            viewer=current_user(request),
            target_type=target_type,
            target_id=target_id,
            kind=filters.kind.value if filters.kind else None,
            cursor=filters.cursor,
            limit=filters.limit,
        )
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, fields={"cursor": [exc.message]}) from exc
    except (TypeError, ValueError, OverflowError) as exc:
        if not filters.cursor:
            raise
        raise ValidationFailed(CURSOR_INVALID, fields={"cursor": [CURSOR_INVALID]}) from exc
    return ReactorsPageOut(items=[_reactor_out(r) for r in page.items], next_cursor=page.next_cursor)
