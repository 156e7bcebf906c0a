"""Who hears about follows, how notifications may show a person, and the working
hours that decide when email may go out (quiet hours)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from townhall.accounts.models import User
from townhall.directory.models import Profile
from townhall.directory.permissions import can_view_person
from townhall.notifications import registry
from townhall.notifications.kinds import Kind
from townhall.notifications.services import notify_after_commit


def on_followed(*, follower_id: int, followee_id: int) -> None:
    """Tell the followee (batched: "Ana and 3 others started following you"); the
    link goes to the latest follower's profile."""
    notify_after_commit(
        kind=Kind.FOLLOW,
        recipient_ids=[followee_id],
        actor_id=follower_id,
        target_type="person",
        target_id=follower_id,
        group_key=f"follow:{followee_id}",
    )


def _visible_people(viewer: Any, ids: list[int]) -> set[int]:
    return {person.pk for person in User.objects.filter(pk__in=ids) if can_view_person(viewer, person)}


def _describe_people(viewer: Any, ids: list[int]) -> dict[int, registry.Described]:
    return {
        person.pk: registry.Described(url=f"/people/{person.pk}/", title=person.display_name)
        for person in User.objects.filter(pk__in=ids)
    }


def working_hours(user_ids: Iterable[int]) -> dict[int, registry.WorkingHours]:
    rows = Profile.objects.filter(user_id__in=list(user_ids)).values_list(
        "user_id", "timezone", "working_hours_start", "working_hours_end"
    )
    return {uid: registry.WorkingHours(timezone=tz or "UTC", start=start, end=end) for uid, tz, start, end in rows}


def register() -> None:
    registry.register(registry.TargetType(name="person", visible_ids=_visible_people, describe=_describe_people))
    registry.register_working_hours(working_hours)
