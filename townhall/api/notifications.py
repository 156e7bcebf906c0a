"""`/api/v1/notifications`: the caller's notifications and notification settings.

It lives in the api package rather than in notifications/api.py because the
notifications app is a platform app below accounts, and the API's auth and error
shapes come from accounts (import-linter keeps platform apps from importing it).
Like the web pages it is a thin adapter over notifications' selectors and services.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import StrictBool

from townhall.accounts.api_auth import current_user
from townhall.accounts.schemas import Id, InputSchema, error_responses
from townhall.core.errors import ValidationFailed
from townhall.notifications import selectors, services
from townhall.notifications.kinds import Channel, DigestFrequency, Kind, Level

router = Router(tags=["notifications"])


class ActorOut(Schema):
    id: int
    display_name: str


class NotificationOut(Schema):
    id: int
    kind: Kind
    text: str = Field(description="The sentence to show, e.g. “Ana and 12 others reacted to your post …”.")
    url: str = Field(description="Site-relative link to the thing.")
    snippet: str
    unread: bool
    urgent: bool
    actor: ActorOut | None = Field(description="The latest actor.")
    actor_count: int = Field(description="How many people the notification is about (batched reactions).")
    created_at: datetime
    updated_at: datetime


class NotificationsPageOut(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class NotificationsQueryIn(InputSchema):
    cursor: str | None = Field(default=None, max_length=512)
    limit: int = Field(default=24, ge=1, le=100)
    unread: bool = Field(default=False, description="Only unread notifications.")


class UnreadCountOut(Schema):
    count: int = Field(description=f"Unread notifications the caller may see, capped at {selectors.COUNT_CAP + 1}.")


class MarkedOut(Schema):
    changed: int


class KindChannelsOut(Schema):
    kind: Kind
    label: str
    in_app: bool
    email: bool
    digest: bool | None = Field(description="null when this kind never goes into the digest.")


class CommunityLevelOut(Schema):
    community_id: int
    name: str
    level: Level


class PreferencesOut(Schema):
    kinds: list[KindChannelsOut]
    digest: DigestFrequency
    communities: list[CommunityLevelOut]


class ChannelIn(InputSchema):
    kind: Kind
    channel: Channel
    enabled: StrictBool  # JSON true/false only, never 0 or "yes"


class CommunityLevelIn(InputSchema):
    community_id: Id
    level: Level


class PreferencesIn(InputSchema):
    channels: list[ChannelIn] = Field(default_factory=list, max_length=100)
    digest: DigestFrequency | None = None
    communities: list[CommunityLevelIn] = Field(default_factory=list, max_length=1000)


def _item_out(item: selectors.Item) -> NotificationOut:
    n = item.notification
    actor = ActorOut(id=item.actor.pk, display_name=item.actor.display_name) if item.actor else None
    return NotificationOut(
        id=n.pk,
        kind=Kind(n.kind),
        text=item.sentence,
        url=item.url,
        snippet=item.snippet,
        unread=item.unread,
        urgent=n.urgent,
        actor=actor,
        actor_count=n.actor_count,
        created_at=n.created_at,
        updated_at=n.updated_at,
    )


def _preferences_out(prefs: selectors.Preferences) -> PreferencesOut:
    kinds = []
    for row in prefs.kinds:
        cells = {cell.channel: cell for cell in row.cells}
        kinds.append(
            KindChannelsOut(
                kind=Kind(row.kind),
                label=row.label,
                in_app=cells[Channel.IN_APP].enabled,
                email=cells[Channel.EMAIL].enabled,
                digest=cells[Channel.DIGEST].enabled if cells[Channel.DIGEST].available else None,
            )
        )
    return PreferencesOut(
        kinds=kinds,
        digest=DigestFrequency(prefs.digest),
        communities=[
            CommunityLevelOut(community_id=c.community_id, name=c.name, level=Level(c.level)) for c in prefs.communities
        ],
    )


@router.get(
    "/notifications",
    response={200: NotificationsPageOut, **error_responses(422)},
    operation_id="notifications_list",
)
def notifications_list(request: HttpRequest, filters: Query[NotificationsQueryIn]) -> NotificationsPageOut:
    """The caller's notifications, most recently active first, cursor-paginated. Those
    about something the caller can no longer see are left out (a page may be short)."""
    viewer = current_user(request)
    try:
        page = selectors.notification_page(
            viewer=viewer, cursor=filters.cursor, limit=filters.limit, unread_only=filters.unread
        )
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, fields={"cursor": [exc.message]}) from exc
    return NotificationsPageOut(
        items=[_item_out(item) for item in page.items],
        next_cursor=page.next_cursor,
        unread_count=selectors.unread_count(user=viewer),
    )


@router.get(
    "/notifications/unread-count",
    response={200: UnreadCountOut, **error_responses()},
    operation_id="notifications_unread_count",
)
def notifications_unread_count(request: HttpRequest) -> UnreadCountOut:
    """The number on the badge."""
    return UnreadCountOut(count=selectors.unread_count(user=current_user(request)))


@router.post(
    "/notifications/{notification_id}/read",
    response={204: None, **error_responses(403, 404, 422)},
    operation_id="notification_mark_read",
)
def notification_mark_read(request: HttpRequest, notification_id: Path[Id]) -> Status[None]:
    """Mark one of the caller's notifications read (idempotent); 404 for anyone else's."""
    services.notification_mark_read(actor=current_user(request), notification_id=notification_id)
    return Status(204, None)


@router.post(
    "/notifications/read-all",
    response={200: MarkedOut, **error_responses(403)},
    operation_id="notifications_mark_all_read",
)
def notifications_mark_all_read(request: HttpRequest) -> MarkedOut:
    """Mark every unread notification of the caller read."""
    return MarkedOut(changed=services.notifications_mark_all_read(actor=current_user(request)))


@router.get(
    "/notifications/preferences",
    response={200: PreferencesOut, **error_responses()},
    operation_id="notification_preferences_get",
)
def notification_preferences_get(request: HttpRequest) -> PreferencesOut:
    """Each kind's channels (defaults filled in), the digest frequency and a level per
    community the caller belongs to."""
    return _preferences_out(selectors.preferences(user=current_user(request)))


@router.put(
    "/notifications/preferences",
    response={200: PreferencesOut, **error_responses(400, 403, 422)},
    operation_id="notification_preferences_put",
)
def notification_preferences_put(request: HttpRequest, payload: PreferencesIn) -> PreferencesOut:
    """Change what is given; the rest stays. 422 for a channel a kind does not have
    (digest for reactions, say) or a community the caller does not belong to."""
    viewer = current_user(request)
    services.preferences_update(
        actor=viewer,
        channels={(c.kind.value, c.channel.value): c.enabled for c in payload.channels},
        digest=payload.digest.value if payload.digest else None,
        levels={c.community_id: c.level.value for c in payload.communities},
    )
    return _preferences_out(selectors.preferences(user=viewer))
