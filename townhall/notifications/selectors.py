"""Reads of notifications and preferences, always for one person.

Every read re-checks each notification's target through the registry (the domain's
visibility oracle): content that became hidden, or was deleted, disappears from the
list and from the unread count, and its title or snippet is never shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from townhall.core.pagination import Page, paginate
from townhall.core.prepared import Prepared
from townhall.notifications import registry
from townhall.notifications.kinds import (
    DEFAULT_DIGEST,
    DEFAULT_LEVEL,
    RULES,
    Channel,
    Kind,
    Level,
    actors_phrase,
    channels_for,
    sentence,
)
from townhall.notifications.models import CommunityLevel, Notification, PersonSettings, Preference

# The badge says "99+" past this; counting further would cost a query per page view.
COUNT_CAP = 99


def _signed_in(person: Any) -> bool:
    return bool(person is not None and person.is_authenticated and person.is_active)


def _visible_pairs(viewer: Any, pairs: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """The (type, id) pairs the viewer may see now: one query per target type."""
    by_type: dict[str, list[int]] = defaultdict(list)
    for target_type, target_id in pairs:
        by_type[target_type].append(target_id)
    visible: set[tuple[str, int]] = set()
    for target_type, ids in by_type.items():
        target = registry.get(target_type)
        if target is None:
            continue  # an unknown type answers like hidden content
        visible |= {(target_type, pk) for pk in target.visible_ids(viewer, sorted(set(ids)))}
    return visible


def _inbox(user: Any) -> Any:
    return Notification.objects.filter(recipient_id=user.pk, in_app=True)


_UNREAD = Prepared(
    "notifications.unread",
    lambda *, me: (
        Notification.objects.filter(recipient_id=me, in_app=True, read_at__isnull=True)
        .order_by("-updated_at", "-id")
        .values_list("target_type", "target_id")[: COUNT_CAP * 2]
    ),
    ints=("me",),
)


def unread_count(*, user: Any) -> int:
    """How many unread notifications `user` may see (capped at COUNT_CAP + 1, shown as
    "99+"). For the header badge and the realtime badge push: 0 for anonymous or
    deactivated people. One query, plus one per target type among the unread."""
    if not _signed_in(user):
        return 0
    rows = list(_UNREAD(me=int(user.pk)))
    if not rows:
        return 0
    visible = _visible_pairs(user, rows)
    return min(sum(1 for row in rows if row in visible), COUNT_CAP + 1)


def badge_label(count: int) -> str:
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


@dataclass(frozen=True)
class Item:
    notification: Notification
    sentence: str
    url: str
    snippet: str
    unread: bool
    actor: Any  # the latest actor (for the avatar), or None


def _names(actor_ids: set[int]) -> dict[int, Any]:
    if not actor_ids:
        return {}
    users = get_user_model().objects.filter(pk__in=actor_ids).select_related("profile")
    return {user.pk: user for user in users}


def describe(viewer: Any, notifications: Sequence[Notification]) -> list[Item]:
    """Ready-to-show items for the notifications whose targets the viewer may see, in
    the given order; the others are left out. One query per target type (check and
    describe) plus one for the actors."""
    visible = _visible_pairs(viewer, [(n.target_type, n.target_id) for n in notifications])
    by_type: dict[str, list[int]] = defaultdict(list)
    for target_type, target_id in visible:
        by_type[target_type].append(target_id)
    described: dict[tuple[str, int], registry.Described] = {}
    for target_type, ids in by_type.items():
        target = registry.get(target_type)
        if target is None:
            continue
        for pk, description in target.describe(viewer, sorted(ids)).items():
            described[(target_type, pk)] = description
    actors = _names(
        {pk for n in notifications for pk in (n.actor_ids or [])[:2]}
        | {n.actor_id for n in notifications if n.actor_id}
    )
    items: list[Item] = []
    for n in notifications:
        info = described.get((n.target_type, n.target_id))
        if info is None:
            continue
        names = [actors[pk].display_name for pk in (n.actor_ids or [])[:2] if pk in actors]
        text = sentence(
            n.kind, n.target_type, actors=actors_phrase(names, n.actor_count), title=info.title, place=info.place
        )
        items.append(
            Item(
                notification=n,
                sentence=text,
                url=info.url,
                snippet=info.snippet,
                unread=n.read_at is None,
                actor=actors.get(n.actor_id) if n.actor_id else None,
            )
        )
    return items


@dataclass(frozen=True)
class ItemPage:
    items: list[Item]
    next_cursor: str | None


def notification_page(
    *, viewer: Any, cursor: str | None = None, limit: int = 30, unread_only: bool = False
) -> ItemPage:
    """The viewer's notifications, most recently active first, cursor-paginated
    (ValidationFailed for a bad cursor). Items whose target the viewer may no longer
    see are left out, so a page may hold fewer than `limit` items while
    `next_cursor` still leads on."""
    if not _signed_in(viewer):
        return ItemPage(items=[], next_cursor=None)
    rows = _inbox(viewer)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    page: Page[Notification] = paginate(rows, order=("-updated_at", "-id"), cursor=cursor, limit=limit)
    return ItemPage(items=describe(viewer, page.items), next_cursor=page.next_cursor)


def notification_for(*, viewer: Any, notification_id: int) -> Item | None:
    """One of the viewer's own notifications whose target they may still see."""
    if not _signed_in(viewer):
        return None
    row = _inbox(viewer).filter(pk=notification_id).first()
    if row is None:
        return None
    items = describe(viewer, [row])
    return items[0] if items else None


# --- preferences ------------------------------------------------------------------


def enabled_among(*, user_ids: Iterable[int], kind: str, channel: str) -> set[int]:
    """Those of `user_ids` who want `kind` on `channel` (their choice, else the
    default). One query."""
    ids = set(user_ids)
    if not ids:
        return set()
    rule = RULES.get(kind)
    if rule is None or channel not in channels_for(kind):
        return set()
    chosen = dict(
        Preference.objects.filter(user_id__in=ids, kind=kind, channel=channel).values_list("user_id", "enabled")
    )
    return {uid for uid in ids if chosen.get(uid, rule.default(channel))}


def wants(*, user_id: int, kind: str, channel: str) -> bool:
    return user_id in enabled_among(user_ids=[user_id], kind=kind, channel=channel)


def digest_frequency(*, user_id: int) -> str:
    found = PersonSettings.objects.filter(user_id=user_id).values_list("digest", flat=True).first()
    return found or DEFAULT_DIGEST


def people_at_level(*, community_id: int, level: str, user_ids: Iterable[int] | None = None) -> set[int]:
    """Who chose `level` for a community (only explicit choices: the default is
    highlights). For domain apps computing "new post" recipients."""
    rows = CommunityLevel.objects.filter(community_id=community_id, level=level)
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    return set(rows.values_list("user_id", flat=True))


def silenced_community_ids(*, user_id: int) -> frozenset[int]:
    return frozenset(
        CommunityLevel.objects.filter(user_id=user_id, level=Level.NONE).values_list("community_id", flat=True)
    )


@dataclass(frozen=True)
class Cell:
    channel: str
    label: str
    enabled: bool
    available: bool


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    cells: list[Cell]


@dataclass(frozen=True)
class CommunityRow:
    community_id: int
    name: str
    level: str


@dataclass(frozen=True)
class Preferences:
    kinds: list[KindRow]
    digest: str
    communities: list[CommunityRow]


def preferences(*, user: Any) -> Preferences:
    """Everything the settings page and the API show: each kind x channel (with
    defaults filled in), the digest frequency, and a level per community the person
    belongs to. Three queries plus the communities provider's."""
    chosen = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user_id=user.pk).values_list(
            "kind", "channel", "enabled"
        )
    }
    rows = []
    for kind in Kind:
        available = channels_for(kind)
        cells = [
            Cell(
                channel=channel,
                label=str(Channel(channel).label),
                enabled=chosen.get((kind.value, channel), RULES[kind].default(channel))
                if channel in available
                else False,
                available=channel in available,
            )
            for channel in Channel.values
        ]
        rows.append(KindRow(kind=kind.value, label=str(kind.label), cells=cells))
    levels = dict(CommunityLevel.objects.filter(user_id=user.pk).values_list("community_id", "level"))
    communities = [
        CommunityRow(community_id=cid, name=name, level=levels.get(cid, DEFAULT_LEVEL))
        for cid, name in registry.communities_of(user)
    ]
    return Preferences(kinds=rows, digest=digest_frequency(user_id=user.pk), communities=communities)
