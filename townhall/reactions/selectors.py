"""Reads of reactions, always for a viewer and only on targets they may see."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from townhall.accounts.permissions import AnyUser, is_signed_in
from townhall.core.errors import NotFound
from townhall.core.pagination import MAX_LIMIT, Page, cut, paginate
from townhall.core.prepared import Prepared
from townhall.reactions import registry
from townhall.reactions.models import Reaction, ReactionKind
from townhall.reactions.permissions import check_see_target


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)  # kind -> number, kinds with none left out
    total: int = 0
    mine: str | None = None  # the viewer's own reaction


_COUNTS = Prepared(
    "reactions.counts",
    lambda *, me, ids, shape: (
        Reaction.objects.filter(target_type=shape, target_id__any_of=ids)
        .values("target_id", "kind")
        .annotate(n=Count("id"), mine=Count("id", filter=Q(user_id=me)))
        .order_by()
    ),
    ints=("me",),
    lists=("ids",),
)


def reaction_summaries(
    *, viewer: AnyUser, target_type: str, target_ids: Iterable[int], verified: Collection[int] = ()
) -> dict[int, Summary]:
    """Counts per kind, total and the viewer's own reaction for each target the viewer
    may see (hidden targets are left out). Two queries whatever the number of targets
    (visibility, then one grouped count). NotFound for an unknown type.

    `verified`: ids the caller has itself just read through the type's visibility rule
    for this viewer (a feed page's posts); only the other ids are checked again, so a
    page whose targets are all verified costs one query."""
    target = registry.get(target_type)
    ids = list(dict.fromkeys(target_ids))
    if not ids or not is_signed_in(viewer):
        return {}
    known = set(verified)
    unchecked = [target_id for target_id in ids if target_id not in known]
    visible = known | (target.visible_ids(viewer, unchecked) if unchecked else set())
    summaries = {target_id: Summary() for target_id in ids if target_id in visible}
    if not summaries:
        return {}
    for row in _COUNTS(me=int(viewer.pk or 0), ids=list(summaries), shape=target_type):
        summary = summaries[row["target_id"]]
        summary.counts[row["kind"]] = row["n"]
        summary.total += row["n"]
        if row["mine"]:
            summary.mine = row["kind"]
    order = {kind: index for index, kind in enumerate(ReactionKind.values)}
    for summary in summaries.values():
        summary.counts = dict(sorted(summary.counts.items(), key=lambda item: (-item[1], order.get(item[0], 99))))
    return summaries


def reaction_summary(*, viewer: AnyUser, target_type: str, target_id: int) -> Summary:
    """One target's summary; NotFound when the viewer may not see it."""
    check_see_target(viewer, target_type, target_id)
    return reaction_summaries(viewer=viewer, target_type=target_type, target_ids=[target_id]).get(target_id, Summary())


_REACTOR_ORDER = ("-created_at", "-id")


def _reactions_of(target_type: str, target_id: int) -> QuerySet[Reaction]:
    return Reaction.objects.filter(target_type=target_type, target_id=target_id).select_related("user", "user__profile")


_FIRST_REACTORS = Prepared(
    "reactions.first_reactors",
    lambda *, target, shape: _reactions_of(shape[0], target).order_by(*_REACTOR_ORDER)[: shape[1] + 1],
    ints=("target",),
)


def reactors(
    *,
    viewer: AnyUser,
    target_type: str,
    target_id: int,
    kind: str | None = None,
    cursor: str | None = None,
    limit: int = 24,
    verified: bool = False,
) -> Page[Reaction]:
    """Who reacted to a target the viewer may see (optionally one kind), newest first,
    with each person and profile loaded. Two queries per page (visibility, the page).
    NotFound for a hidden or missing target; ValidationFailed for a bad cursor or limit.

    `verified`: the caller has itself just read the target through its type's
    visibility rule for this viewer (the post page's post), so it is not checked again
    (one query)."""
    if not verified:
        check_see_target(viewer, target_type, target_id)
    elif not is_signed_in(viewer):
        raise NotFound()
    if kind is None and not cursor and 1 <= limit <= MAX_LIMIT:
        first = _FIRST_REACTORS(target=int(target_id), shape=(target_type, limit))
        return cut(list(first), order=_REACTOR_ORDER, limit=limit)
    rows = _reactions_of(target_type, target_id)
    if kind is not None:
        rows = rows.filter(kind=kind)
    return paginate(rows, order=_REACTOR_ORDER, cursor=cursor, limit=limit)
