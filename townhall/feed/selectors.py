"""Feeds: which posts a viewer sees where, in which order, and everything a card needs.

Every feed starts from `posts.selectors.visible_posts(viewer)` (the oracle) and is
keyset-paginated with `core.pagination`: nothing is ever filtered after a page is cut.

Orders: "latest" is (created_at, id) newest first; "top" is (hot_score, id), the
engagement-with-time-decay score kept on each post (posts/ranking.py, docs/feeds.md).

The home feed unions several sources (my communities, people I follow, topics I
follow, my own posts). One big OR would make the database collect and sort every
post of every source before it can return twenty; instead each source is its own
"arm" that reads only its first `limit + 1` posts after the cursor through an index,
all arms travel in one UNION ALL statement, and Python merges them. The first
`limit + 1` posts of the union are always among the arms' first `limit + 1`, so the
page and its cursor are exactly those of the full union.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, can_browse_directory, is_signed_in
from townhall.communities.models import Community, Membership
from townhall.communities.permissions import Seat, can_post_in, known_seats, remember_all_seats, remember_seat
from townhall.communities.selectors import (
    all_company,
    member_community_ids,
    readable_community_ids,
)
from townhall.core.errors import ValidationFailed
from townhall.core.pagination import MAX_LIMIT, Page, _after, _typed, cut, encode_cursor, paginate
from townhall.core.prepared import Prepared
from townhall.directory.follows import followee_ids
from townhall.media.models import LinkPreview
from townhall.posts.models import Attachment, Comment, Post, Topic
from townhall.posts.permissions import (
    can_comment,
    can_delete_comment,
    can_delete_post,
    can_edit_comment,
    can_edit_post,
    can_pin_post,
    can_post_on_profile,
    can_react,
    can_share_post,
)
from townhall.posts.ranking import DECAY_SECONDS, EPOCH
from townhall.posts.selectors import (
    attach_shared,
    followed_topic_ids,
    latest_comments,
    live_posts_by_ids,
    load_details,
    seen_counts,
    visible_posts,
    with_details,
    with_joins,
)
from townhall.posts.text import topic_slug
from townhall.reactions.models import EMOJI, ReactionKind
from townhall.reactions.selectors import reaction_summaries

Order = Literal["latest", "top"]
ORDERS: dict[str, tuple[str, str]] = {"latest": ("-created_at", "-id"), "top": ("-hot_score", "-id")}
DEFAULT_LIMIT = 20
MAX_PINNED = 5
PREVIEW_COMMENTS = 2
# SQLite allows 500 terms in one compound SELECT; communities (or people) past this
# count share one IN-list arm (correct, only slower for people in hundreds of places).
MAX_EACH = 200
# Top assumes no post has more than 10**6 weighted engagements (reactions + 2 x
# comments + 3 x shares): a post that hot is at most 6 x 12.5 hours older than its
# score suggests, which bounds how far back the second round looks.
MAX_ENGAGEMENT_LOG = 6


def order_fields(order: str) -> tuple[str, str]:
    """The ordering for `order`; ValidationFailed for anything but latest/top."""
    try:
        return ORDERS[order]
    except KeyError as exc:
        raise ValidationFailed("order must be “latest” or “top”.", fields={"order": ["Choose latest or top."]}) from exc


CURSOR_INVALID = "The cursor is not valid; start again from the first page."


def _after_cursor(fields: tuple[str, str], cursor: str | None) -> Q:
    """The keyset condition "after this cursor" for `fields`.

    core.pagination writes Top's cursors with a float (hot_score) in them but its
    decoder only accepts text and integers, so feeds decode cursors here (same format,
    finite floats allowed) and hand paginate() an already-filtered queryset.
    """
    if not cursor:
        return Q()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(CURSOR_INVALID) from exc
    if not isinstance(values, list) or len(values) != len(fields):
        raise ValidationFailed(CURSOR_INVALID)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationFailed(CURSOR_INVALID)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationFailed(CURSOR_INVALID)
    return _after(fields, _typed(Post, fields, values))


def _page(posts: QuerySet[Post], *, fields: tuple[str, str], cursor: str | None, limit: int) -> Page[Post]:
    """paginate() after our own cursor decoding (see _after_cursor)."""
    _check_limit(limit)
    return paginate(posts.filter(_after_cursor(fields, cursor)), order=fields, cursor=None, limit=limit)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", fields={"limit": ["Out of range."]})


def _cards_base(viewer: AnyUser) -> QuerySet[Post]:
    return with_details(visible_posts(viewer))


# --- merged feeds (home, profile) ------------------------------------------------

# Stands in for one arm's value while its SQL is compiled once and reused per value.
_SENTINEL = -7_315_906_127


@dataclass(frozen=True)
class Arms:
    """The sources of a merged feed, read in two rounds.

    First round: `readable_communities` are communities the oracle's own
    readable_community_ids(viewer) has just confirmed, so their arms skip the
    per-arm visibility subquery (0.3 ms each, the bulk of a home page's time for
    someone in 50 communities) and only leave deleted posts out; `each` is (lookup,
    values) pairs, one oracle-restricted arm per value whose posts an index gives in
    feed order (a person, in Latest); `whole` is conditions read as one arm each.

    Second round, above the bar the first round set (the `limit + 1`-th best
    candidate: anything below it cannot reach the page): `late_each` (people in Top:
    no index gives a person's posts by score, but a score above the bar means a
    post recent enough for the (author, created_at) index to find quickly) and
    `topic_ids` (posts with a followed topic: no index gives a topic's posts in feed
    order, and sorting a popular topic's tens of thousands of posts costs hundreds of
    milliseconds; above the bar the database walks only the newest or hottest posts).
    Without a bar (too few candidates) these arms are read whole.
    """

    readable_communities: list[int] = field(default_factory=list)
    each: list[tuple[str, list[int]]] = field(default_factory=list)
    whole: list[Where] = field(default_factory=list)
    # Conditions that only select posts the viewer may see whatever they are (their
    # own profile, communities the oracle just confirmed): read without the oracle.
    confirmed: list[Where] = field(default_factory=list)
    late_each: list[tuple[str, list[int]]] = field(default_factory=list)
    topic_ids: list[int] = field(default_factory=list)
    # Left out of every arm but readable_communities (muted communities, for the home feed).
    muted_communities: list[int] = field(default_factory=list)


def _sort_value(value: Any) -> Any:
    """Raw SQLite rows give naive UTC datetimes (or text); make them comparable with
    what the ORM returns."""
    if isinstance(value, str):
        value = parse_datetime(value) or value
    if isinstance(value, datetime) and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


def _oldest_for_score(score: float) -> datetime:
    """The oldest creation time a post can have and still score `score` in Top,
    given engagement of at most 10**MAX_ENGAGEMENT_LOG (see posts/ranking.py)."""
    seconds = EPOCH + (score - MAX_ENGAGEMENT_LOG) * DECAY_SECONDS
    return datetime.fromtimestamp(max(0.0, min(seconds, 32_503_680_000.0)), tz=UTC)


@dataclass(frozen=True)
class Where:
    """An arm's condition: `lookup` (a column, or `<column>__any_of` for a list)
    equals `value`; only posts on a profile when `on_profile`."""

    lookup: str
    value: int | list[int]
    on_profile: bool = False

    def q(self) -> Q:
        condition = Q(**{self.lookup: self.value})
        return condition & Q(community__isnull=True) if self.on_profile else condition


def _prepared_arm(*, viewer: AnyUser, value: Any, muted: list[int], shape: tuple[Any, ...]) -> QuerySet[Any]:
    lookup, on_profile, live, fields, limit = shape
    condition = Where(lookup, value, on_profile).q() & ~Q(community_id__any_of=muted)
    return _arm(viewer, condition, after=Q(), fields=fields, limit=limit, base=_live_posts() if live else None)


# A first page's arms (no cursor), compiled once per shape (core/prepared.py). The
# muted communities are always left out: arms over communities the viewer reads are
# given no muted one anyway.
_ARM_ONE = Prepared("feed.arm", _prepared_arm, ints=("value",), lists=("muted",), viewer=True)
_ARM_ANY = Prepared("feed.arm_any", _prepared_arm, lists=("value", "muted"), viewer=True)


class _Union:
    """Arms gathered into one UNION ALL statement (same-shaped SQL compiled once)."""

    def __init__(self, viewer: AnyUser, *, after: Q, fields: tuple[str, str], limit: int, muted: list[int]) -> None:
        self.viewer, self.fields, self.limit = viewer, fields, limit
        self.after = after
        self.muted = muted
        self.unless = ~Q(community_id__in=muted) if muted else Q()
        self.parts: list[str] = []
        self.params: list[Any] = []

    def _sql(self, condition: Where | Q, *, live: bool, unless: bool, extra: Q | None = None) -> tuple[str, list[Any]]:
        if isinstance(condition, Where) and extra is None and not self.after:
            prepared = _ARM_ANY if isinstance(condition.value, list) else _ARM_ONE
            shape = (condition.lookup, condition.on_profile, live, self.fields, self.limit)
            return _compiled(prepared(viewer=self.viewer, value=condition.value, muted=self.muted, shape=shape))
        where = condition.q() if isinstance(condition, Where) else condition
        where &= extra or Q()
        if unless:
            where &= self.unless
        base = _live_posts() if live else None
        return _compiled(_arm(self.viewer, where, after=self.after, fields=self.fields, limit=self.limit, base=base))

    def add(self, condition: Where | Q, *, live: bool = False) -> None:
        """One arm: `condition` over what the viewer may see (over live posts when
        `live`: only for conditions the oracle has confirmed)."""
        sql, params = self._sql(condition, live=live, unless=True)
        self.parts.append(sql)
        self.params.extend(params)

    def add_each(self, lookup: str, values: list[int], extra: Q | None = None, *, live: bool = False) -> None:
        """One arm per value of `lookup` (one LATERAL arm over them on PostgreSQL)."""
        if not values:
            return
        sql, template = self._sql(Where(lookup, _SENTINEL), live=live, unless=not live, extra=extra)
        slot = template.index(_SENTINEL)
        if connection.vendor == "postgresql" and len(values) > 1:
            # One LATERAL arm over all the values: PostgreSQL plans one subquery
            # instead of one per value (planning a 30-arm union took 4-5 ms).
            inner = _placeholder_to(sql, slot, "each_value.v")
            self.parts.append(
                f"SELECT arm.* FROM unnest(%s::bigint[]) AS each_value(v) CROSS JOIN LATERAL ({inner}) arm"  # noqa: S608 - ORM-compiled; values are parameters  # nosec B608 - compiled or fixed SQL text; values are parameters
            )
            self.params.extend([list(values), *template[:slot], *template[slot + 1 :]])
            return
        for value in values:
            self.parts.append(sql)
            self.params.extend([*template[:slot], value, *template[slot + 1 :]])

    def read(self, into: dict[int, Any]) -> None:
        """Run the arms; keep the best `limit + 1` distinct posts of their union.
        The database dedupes, sorts and cuts (UNION, ORDER BY, LIMIT), so only a
        page's worth of rows comes back however many arms there are."""
        if not self.parts:
            return
        union = " UNION ".join(f"SELECT * FROM ({sql}) arm{n}" for n, sql in enumerate(self.parts))  # noqa: S608  # nosec B608 - compiled or fixed SQL text; values are parameters
        best = f"SELECT * FROM ({union}) arms ORDER BY 2 DESC, 1 DESC LIMIT {int(self.limit) + 1}"  # noqa: S608 - ORM-compiled; values are parameters  # nosec B608 - compiled or fixed SQL text; values are parameters
        with connection.cursor() as db:
            db.execute(best, self.params)
            for post_id, value in db.fetchall():
                into[post_id] = _sort_value(value)


_PLACEHOLDER = re.compile(r"%%|%s")


def _placeholder_to(sql: str, slot: int, text: str) -> str:
    """`sql` with its `slot`-th parameter placeholder (0-based) replaced by `text`."""
    seen = -1

    def swap(match: re.Match[str]) -> str:
        nonlocal seen
        if match.group() == "%%":
            return "%%"
        seen += 1
        return text if seen == slot else "%s"

    return _PLACEHOLDER.sub(swap, sql)


def _arm(
    viewer: AnyUser, condition: Q, *, after: Q, fields: tuple[str, str], limit: int, base: QuerySet[Post] | None = None
) -> QuerySet[Any]:
    key = fields[0].lstrip("-")
    posts = visible_posts(viewer) if base is None else base
    return posts.filter(condition).filter(after).order_by(*fields).values_list("id", key)[: limit + 1]


def _live_posts() -> QuerySet[Post]:
    """Posts not deleted, with no viewer rule: only for arms over communities already
    checked against the oracle's readable_community_ids (see Arms.readable_communities).
    The page itself is always loaded through visible_posts."""
    return Post.objects.filter(deleted_at__isnull=True)


def _compiled(queryset: QuerySet[Any]) -> tuple[str, list[Any]]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, list(params)


def _merged_page(*, viewer: AnyUser, arms: Arms, order: str, cursor: str | None, limit: int) -> Page[Post]:
    """One page of the posts any arm yields, each once, in `order`.

    Each arm is the oracle's query plus one index-friendly condition, reading its
    first `limit + 1` (id, sort key) after the cursor; the first `limit + 1` of the
    union are always among them. Arms go to the database as one UNION ALL per round
    (see Arms); `paginate` then loads the winners through the oracle again and cuts
    the page, so the page and its cursor are exactly those of the whole union.
    Two queries, three with a second round. ValidationFailed for a bad order, cursor
    or limit.
    """
    fields = order_fields(order)
    _check_limit(limit)
    after = Q()
    if cursor:
        after = _after_cursor(fields, cursor)
    if not is_signed_in(viewer):
        return _page(visible_posts(viewer).none(), fields=fields, cursor=cursor, limit=limit)
    key = fields[0].lstrip("-")
    best: dict[int, Any] = {}
    muted = arms.muted_communities
    first = _Union(viewer, after=after, fields=fields, limit=limit, muted=muted)
    first.add_each("community_id", arms.readable_communities, live=True)
    for lookup, values in arms.each:
        first.add_each(lookup, values)
    for condition in arms.whole:
        first.add(condition)
    for condition in arms.confirmed:
        first.add(condition, live=True)
    first.read(best)

    if arms.late_each or arms.topic_ids:
        ranked = sorted(best.values(), reverse=True)
        bar = ranked[limit] if len(ranked) > limit else None
        second = _Union(viewer, after=after, fields=fields, limit=limit, muted=muted)
        above = Q(**{f"{key}__gte": bar}) if bar is not None else Q()
        recent = above
        if bar is not None and key == "hot_score":
            recent &= Q(created_at__gte=_oldest_for_score(bar))
        for lookup, values in arms.late_each:
            second.add_each(lookup, values, recent)
        if arms.topic_ids:
            tagged = Post.topics.through.objects.filter(topic_id__in=arms.topic_ids)
            if bar is not None:
                second.add(Q(Exists(tagged.filter(post_id=OuterRef("pk")))) & recent)
            else:
                second.add(Q(pk__in=tagged.values("post_id")))
        second.read(best)

    winners = sorted(best.items(), key=lambda item: (item[1], item[0]), reverse=True)[: limit + 1]
    # Every arm read through the oracle (or through communities it had just confirmed),
    # so the page is loaded by id; a post deleted since is left out.
    page = winners[:limit]
    by_id = {post.pk: post for post in live_posts_by_ids([post_id for post_id, _ in page])}
    items = [by_id[post_id] for post_id, _ in page if post_id in by_id]
    next_cursor = None
    if len(winners) > limit:
        last_id, last_value = page[-1]
        last = by_id.get(last_id)
        next_cursor = encode_cursor([getattr(last, key) if last is not None else last_value, last_id])
    return Page(items=items, next_cursor=next_cursor)


@dataclass(frozen=True)
class HomeSources:
    community_ids: list[int]  # readable by the viewer (the oracle's readable_community_ids)
    muted_ids: list[int]
    person_ids: list[int]
    topic_ids: list[int]


def home_sources(*, viewer: AnyUser) -> HomeSources:
    """What feeds the viewer's home: communities they belong to, have not muted and
    may read; the muted ones (left out even when a followed person or topic would
    bring their posts); active people and topics they follow. One query (three
    selects in a UNION ALL: each round trip costs more than these tiny reads)."""
    if not is_signed_in(viewer):
        return HomeSources([], [], [], [])
    found: dict[int, list[int]] = {1: [], 2: [], 3: [], 4: []}
    for kind, pk, muted, readable_now in _HOME_SOURCES(viewer=viewer):
        if kind == 1:
            if muted:
                found[4].append(pk)
            elif readable_now:
                found[1].append(pk)
        else:
            found[kind].append(pk)
    return HomeSources(sorted(found[1]), sorted(found[4]), sorted(found[2]), sorted(found[3]))


def _home_sources(*, viewer: AnyUser) -> QuerySet[Any]:
    readable = readable_community_ids(viewer).filter(id=OuterRef("community_id"))
    seats = (
        member_community_ids(viewer)
        .annotate(kind=Value(1), flag_a=F("muted"), flag_b=Exists(readable))
        .values_list("kind", "community_id", "flag_a", "flag_b")
    )
    people = (
        followee_ids(viewer=viewer)
        .annotate(kind=Value(2), flag_a=Value(False), flag_b=Value(False))
        .values_list("kind", "followee_id", "flag_a", "flag_b")
    )
    topics = (
        followed_topic_ids(viewer=viewer)
        .annotate(kind=Value(3), flag_a=Value(False), flag_b=Value(False))
        .values_list("kind", "topic_id", "flag_a", "flag_b")
    )
    return seats.union(people, topics, all=True)


_HOME_SOURCES = Prepared("feed.home_sources", _home_sources, viewer=True)


def _split(lookup: str, ids: list[int]) -> tuple[list[int], list[Where]]:
    """At most MAX_EACH arms of one kind; the rest share one arm over a list."""
    rest = [Where(f"{lookup}__any_of", ids[MAX_EACH:])] if len(ids) > MAX_EACH else []
    return ids[:MAX_EACH], rest


def home_feed(
    *, viewer: AnyUser, order: str = "latest", cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Post]:
    """The viewer's home feed: posts in communities they belong to, by people they
    follow, with topics they follow, their own posts and posts on their profile;
    never posts in a community they muted; each post once, and only what the oracle
    lets them see.

    Seven or eight queries whatever the limit (four small ones for the sources, one
    or two rounds of arms, the page, its images and topics). ValidationFailed for a
    bad order, cursor or limit.
    """
    if not is_signed_in(viewer):
        return _merged_page(viewer=viewer, arms=Arms(), order=order, cursor=cursor, limit=limit)
    assert viewer.pk is not None  # signed in
    sources = home_sources(viewer=viewer)
    communities, more_communities = _split("community_id", sources.community_ids)
    people, more_people = _split("author_id", sorted({*sources.person_ids, viewer.pk}))
    # Posts on one's own profile are always one's to see, and more_communities are
    # among those the oracle has just confirmed: neither arm needs the oracle.
    confirmed = [Where("profile_user_id", viewer.pk, on_profile=True), *more_communities]
    if order_fields(order)[0] == "-hot_score":
        # People's posts by score: only above the communities' bar (see Arms).
        arms = Arms(
            readable_communities=communities, whole=more_people, confirmed=confirmed, late_each=[("author_id", people)]
        )
    else:
        arms = Arms(
            readable_communities=communities, each=[("author_id", people)], whole=more_people, confirmed=confirmed
        )
    arms.topic_ids.extend(sources.topic_ids)
    arms.muted_communities.extend(sources.muted_ids)
    return _merged_page(viewer=viewer, arms=arms, order=order, cursor=cursor, limit=limit)


def profile_feed(
    *, viewer: AnyUser, person: User, order: str = "latest", cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Post]:
    """Posts on `person`'s profile and posts they wrote anywhere, as far as the viewer
    may see them. Two or three queries."""
    if order_fields(order)[0] == "-hot_score":
        arms = Arms(whole=[Where("profile_user_id", person.pk)], late_each=[("author_id", [person.pk])])
    else:
        arms = Arms(whole=[Where("profile_user_id", person.pk), Where("author_id", person.pk)])
    return _merged_page(viewer=viewer, arms=arms, order=order, cursor=cursor, limit=limit)


# --- single-source feeds ---------------------------------------------------------


def _community_posts(viewer: AnyUser, community: int) -> QuerySet[Post]:
    return with_joins(visible_posts(viewer)).filter(community_id=community)


_COMMUNITY_FIRST = Prepared(
    "feed.community_first_page",
    lambda *, viewer, community, shape: (
        _community_posts(viewer, community).filter(pinned_at__isnull=True).order_by(*ORDERS[shape[0]])[: shape[1] + 1]
    ),
    ints=("community",),
    viewer=True,
)
_COMMUNITY_PINNED = Prepared(
    "feed.community_pinned",
    lambda *, viewer, community: (
        _community_posts(viewer, community).filter(pinned_at__isnull=False).order_by("-pinned_at", "-id")[:MAX_PINNED]
    ),
    ints=("community",),
    viewer=True,
)


def community_feed(
    *,
    viewer: AnyUser,
    community: Community,
    order: str = "latest",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Post]:
    """Posts in `community` the viewer may read (none if they may not). Pinned posts
    (at most MAX_PINNED, latest pin first) lead the first page on top of `limit` and
    never appear in the stream below. Two queries on the first page, one after, and
    two for the images and topics of all the posts read."""
    fields = order_fields(order)
    if cursor:
        posts = with_joins(visible_posts(viewer)).filter(community_id=community.pk, pinned_at__isnull=True)
        page = _page(posts, fields=fields, cursor=cursor, limit=limit)
        pinned: list[Post] = []
    else:
        _check_limit(limit)
        first = _COMMUNITY_FIRST(viewer=viewer, community=community.pk, shape=(order, limit))
        page = cut(list(first), order=fields, limit=limit)
        pinned = list(_COMMUNITY_PINNED(viewer=viewer, community=community.pk))
    items = pinned + page.items
    load_details(items)
    return Page(items=items, next_cursor=page.next_cursor)


def company_feed(
    *, viewer: AnyUser, order: str = "latest", cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Post]:
    """The All-company community's feed (see community_feed)."""
    return community_feed(viewer=viewer, community=all_company(), order=order, cursor=cursor, limit=limit)


def topic_feed(
    *, viewer: AnyUser, topic: Topic, order: str = "latest", cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Post]:
    """Posts tagged with `topic` that the viewer may see. One query."""
    fields = order_fields(order)
    return _page(_cards_base(viewer).filter(topics__id=topic.pk), fields=fields, cursor=cursor, limit=limit)


# --- cards -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReactionOption:
    kind: str
    label: str
    emoji: str
    count: int
    mine: bool


@dataclass
class PostCard:
    """Everything `posts/_post.html` renders for one post, for one viewer."""

    post: Post
    images: list[Attachment] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    reactions: list[ReactionOption] = field(default_factory=list)
    reaction_total: int = 0
    my_reaction: str | None = None
    comments: list[Comment] = field(default_factory=list)  # the latest top-level comments
    comment_cards: list[CommentCard] = field(default_factory=list)  # the same, with reactions and flags
    seen_count: int | None = None  # only for the author
    shared: Post | None = None  # the original, when the viewer may see it
    shared_images: list[Attachment] = field(default_factory=list)
    shared_unavailable: bool = False  # a share whose original is hidden or deleted
    pinned: bool = False
    link_preview: LinkPreview | None = None  # only once fetched, and only http(s)
    can_edit: bool = False
    can_delete: bool = False
    can_pin: bool = False
    can_comment: bool = False
    can_share: bool = False
    can_react: bool = False

    @property
    def id(self) -> int:
        return self.post.pk

    @property
    def more_comments(self) -> int:
        return max(0, self.post.comment_count - len(self.comments))

    @property
    def reacted(self) -> list[ReactionOption]:
        return [option for option in self.reactions if option.count]


def reaction_options(counts: dict[str, int], mine: str | None) -> list[ReactionOption]:
    return [
        ReactionOption(
            kind=kind.value,
            label=str(kind.label),
            emoji=EMOJI[kind.value],
            count=counts.get(kind.value, 0),
            mine=mine == kind.value,
        )
        for kind in ReactionKind
    ]


def _share_community(posts: Iterable[Post]) -> None:
    """One Community instance per id, so the oracle's per-instance seat cache is
    filled once per community instead of once per post."""
    seen: dict[int, Community] = {}
    for post in posts:
        if post.community_id is not None and post.community is not None:
            post.community = seen.setdefault(post.community_id, post.community)


_SEATS_IN = Prepared(
    "feed.seats_in",
    lambda *, me, ids: Membership.objects.filter(user_id=me, community_id__any_of=ids).values_list(
        "community_id", "role", "synced", "muted"
    ),
    ints=("me",),
    lists=("ids",),
)


def _prime_seats(viewer: AnyUser, posts: Sequence[Post]) -> None:
    """Tell the community oracle the viewer's seats in the page's communities (one
    query) so can_* checks on the cards cost none."""
    communities = {p.community_id: p.community for p in posts if p.community_id is not None and p.community is not None}
    if not communities or not is_signed_in(viewer) or viewer.pk is None:
        return
    known = known_seats(viewer)
    if known is not None and all(c.deleted_at is None for c in communities.values()):
        seats = known  # every seat in a live community, read earlier in this request
    else:
        rows = _SEATS_IN(me=int(viewer.pk), ids=list(communities))
        seats = {community_id: Seat(role, synced, muted) for community_id, role, synced, muted in rows}
    for community_id, community in communities.items():
        remember_seat(community, viewer, seats.get(community_id))  # type: ignore[arg-type]


def hydrate(*, viewer: AnyUser, posts: Sequence[Post]) -> list[PostCard]:
    """Ready-to-render cards for `posts`, in the same order. Precondition: `posts` were
    loaded through the oracle for this viewer (visible_posts, post_get: every caller),
    with posts.selectors.POST_RELATED, ideally through with_details as every feed here
    does; their reactions and comments are therefore not checked again. The cards
    hold images, topics, reaction counts and the viewer's reaction, the latest
    comments, the shared original when the viewer may see it, "seen by" for the
    author and the can_* flags.

    A constant number of queries whatever len(posts): shared originals (three, only
    when there are shares), reactions, comments (two), seen counts and the viewer's
    seats; images and topics come prefetched (two more if not).
    """
    posts = list(posts)
    if not posts:
        return []
    ids = [p.pk for p in posts]
    load_details(posts)
    if any(not hasattr(p, "shared_original") for p in posts):
        attach_shared(viewer=viewer, posts=posts)
    originals: list[Post] = [p.shared_original for p in posts if p.shared_original is not None]  # type: ignore[attr-defined]

    every = posts + originals
    _share_community(every)
    _prime_seats(viewer, every)

    # `posts` come from the oracle (this function's precondition): not checked again.
    summaries = reaction_summaries(viewer=viewer, target_type="post", target_ids=ids, verified=ids)
    comments = latest_comments(viewer=viewer, posts=posts, per_post=PREVIEW_COMMENTS, verified=True)
    viewer_id = viewer.pk if is_signed_in(viewer) else None
    own = [p.pk for p in posts if p.author_id == viewer_id]
    seen = seen_counts(viewer=viewer, post_ids=own) if own else {}

    cards: list[PostCard] = []
    for post in posts:
        summary = summaries.get(post.pk)
        counts = dict(summary.counts) if summary else {}
        mine = summary.mine if summary else None
        original: Post | None = post.shared_original  # type: ignore[attr-defined]
        cards.append(
            PostCard(
                post=post,
                images=list(post.images.all()),
                topics=list(post.topics.all()),
                reactions=reaction_options(counts, mine),
                reaction_total=summary.total if summary else 0,
                my_reaction=mine,
                comments=comments.get(post.pk, []),
                seen_count=seen.get(post.pk, 0) if post.author_id == viewer_id else None,
                shared=original,
                shared_images=list(original.images.all()) if original else [],
                shared_unavailable=bool(post.shared_unavailable),  # type: ignore[attr-defined]
                pinned=post.pinned_at is not None and post.community_id is not None,
                can_edit=can_edit_post(viewer, post),
                can_delete=can_delete_post(viewer, post),
                can_pin=can_pin_post(viewer, post),
                can_comment=can_comment(viewer, post),
                can_share=can_share_post(viewer, post) and can_browse_directory(viewer),
                can_react=can_react(viewer, post),
                link_preview=_ready_preview(post),
            )
        )
    preview_comment_cards(viewer=viewer, cards=cards)
    return cards


def _ready_preview(post: Post) -> LinkPreview | None:
    preview = post.link_preview if post.link_preview_id else None
    if preview is None or preview.status != LinkPreview.Status.READY:
        return None
    if not preview.url.lower().startswith(("http://", "https://")) or not (preview.title or preview.description):
        return None
    return preview


# --- comments on the detail page ------------------------------------------------------


@dataclass
class CommentCard:
    """Everything `posts/_comment.html` renders for one comment, for one viewer."""

    comment: Comment
    reactions: list[ReactionOption] = field(default_factory=list)
    reaction_total: int = 0
    my_reaction: str | None = None
    replies: list[CommentCard] = field(default_factory=list)
    can_edit: bool = False
    can_delete: bool = False
    can_reply: bool = False
    can_react: bool = False

    @property
    def id(self) -> int:
        return self.comment.pk

    @property
    def my_option(self) -> ReactionOption | None:
        return next((option for option in self.reactions if option.mine), None)

    @property
    def reacted(self) -> list[ReactionOption]:
        return [option for option in self.reactions if option.count]


def comment_cards(*, viewer: AnyUser, post: Post, comments: Sequence[Comment]) -> list[CommentCard]:
    """Cards for top-level `comments` of `post` (as from posts.selectors.comments_page,
    each with `replies_list`) and their replies: reaction counts, the viewer's
    reaction and the can_* flags. Two queries whatever the number of comments."""
    everything = list(comments) + [reply for c in comments for reply in getattr(c, "replies_list", [])]
    for comment in everything:
        comment.post = post  # the flags read the post; it is loaded already
    summaries = reaction_summaries(viewer=viewer, target_type="comment", target_ids=[c.pk for c in everything])
    commenting = can_comment(viewer, post)

    def card(comment: Comment, *, top: bool) -> CommentCard:
        summary = summaries.get(comment.pk)
        mine = summary.mine if summary else None
        return CommentCard(
            comment=comment,
            reactions=reaction_options(dict(summary.counts) if summary else {}, mine),
            reaction_total=summary.total if summary else 0,
            my_reaction=mine,
            replies=[card(reply, top=False) for reply in getattr(comment, "replies_list", [])] if top else [],
            can_edit=can_edit_comment(viewer, comment),
            can_delete=can_delete_comment(viewer, comment),
            can_reply=commenting,
            can_react=commenting,
        )

    return [card(comment, top=True) for comment in comments]


def preview_comment_cards(*, viewer: AnyUser, cards: Sequence[PostCard]) -> None:
    """Turn each card's preview comments (from posts.selectors.latest_comments, all
    visible to the viewer) into CommentCards (one more query)."""
    everything = [comment for card in cards for comment in card.comments]
    comment_ids = [c.pk for c in everything]
    summaries = reaction_summaries(viewer=viewer, target_type="comment", target_ids=comment_ids, verified=comment_ids)
    for post_card in cards:
        built: list[CommentCard] = []
        for comment in post_card.comments:
            comment.post = post_card.post
            summary = summaries.get(comment.pk)
            mine = summary.mine if summary else None
            built.append(
                CommentCard(
                    comment=comment,
                    reactions=reaction_options(dict(summary.counts) if summary else {}, mine),
                    reaction_total=summary.total if summary else 0,
                    my_reaction=mine,
                    can_edit=can_edit_comment(viewer, comment),
                    can_delete=can_delete_comment(viewer, comment),
                    can_reply=post_card.can_comment,
                    can_react=post_card.can_react,
                )
            )
        post_card.comment_cards = built


# --- composer and autocomplete -------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    value: str  # "company", "community:<slug>" or "profile:<user id>"
    label: str


COMPANY = "company"


_MY_SEATS = Prepared(
    "feed.my_seats",
    lambda *, me: (
        Membership.objects.filter(user_id=me, community__deleted_at__isnull=True)
        .select_related("community")
        .order_by("community__name", "community_id")
    ),
    ints=("me",),
)


def post_destinations(*, viewer: AnyUser) -> list[Destination]:
    """Where the viewer may post from the home composer: the company feed, each
    community they belong to and may post in (by name), their own profile. One query:
    their seats, which also tell the community oracle what it needs (no query per
    community)."""
    if not is_signed_in(viewer) or not isinstance(viewer, User):
        return []
    seats = _MY_SEATS(me=int(viewer.pk))
    company: list[Destination] = []
    choices: list[Destination] = []
    every: dict[int, Seat] = {}
    for seat in seats:
        community = seat.community
        every[community.pk] = Seat(seat.role, seat.synced, seat.muted)
        remember_seat(community, viewer, every[community.pk])
        if community.archived_at is not None or not can_post_in(viewer, community):
            continue
        if community.is_all_company:
            company = [Destination(COMPANY, f"Company feed ({community.name})")]
        else:
            choices.append(Destination(f"community:{community.slug}", community.name))
    # Every seat in a live community, archived ones included: the cards of the feed
    # rendered next need no query for the viewer's seats (_prime_seats).
    remember_all_seats(viewer, every)
    if can_post_on_profile(viewer, viewer):
        choices.append(Destination(f"profile:{viewer.pk}", "My profile"))
    return company + choices


@dataclass(frozen=True)
class TopicSuggestion:
    slug: str
    name: str


def topic_suggestions(*, viewer: AnyUser, prefix: str, limit: int = 8) -> list[TopicSuggestion]:
    """Topics starting with `prefix` that the viewer has a reason to know (a post they
    may see carries it, or they follow it), for #-autocomplete. One query; a topic
    used only where the viewer cannot read stays unknown, as with topic_get."""
    slug = topic_slug(prefix.strip().lstrip("#"))
    if not slug or not is_signed_in(viewer):
        return []
    seen = visible_posts(viewer).filter(topics=OuterRef("pk"))
    rows = (
        Topic.objects.filter(slug__startswith=slug)
        .filter(Q(Exists(seen)) | Q(pk__in=followed_topic_ids(viewer=viewer)))
        .order_by("slug")[:limit]
    )
    return [TopicSuggestion(slug=topic.slug, name=topic.name) for topic in rows]
