"""Communities and conversation on top of the demo people: the network a newcomer
sees on first `make run`, and (at any size) the benchmark dataset.

`load_content` reads the people already in the database and writes, in bulk:
All company, one department community per department (membership follows the
directory), other communities of every kind and visibility (one archived),
memberships (each person in 5-60 communities, Zipf-skewed sizes), follows of people
and topics, posts over the last `plan.days` days in Markdown with #topics and
@mentions, threaded comments, reactions of all six kinds, edited posts with their
revisions, pinned posts and shares. Counters (member_count, post_count,
comment_count, reaction_count, share_count, reply_count) and `hot_score` are filled
exactly as the services would leave them. Deterministic for a seed and a `now`.
"""

from __future__ import annotations

import time
from bisect import bisect
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from random import Random
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from townhall.accounts.models import Role, User
from townhall.communities.models import Community, Membership
from townhall.communities.selectors import all_company
from townhall.demo import phrases
from townhall.demo.bulk import Writer, next_id, reset_sequences
from townhall.directory.hooks import run_bulk_directory_change
from townhall.directory.models import Follow
from townhall.posts.models import Comment, Mention, Post, PostRevision, Topic, TopicFollow
from townhall.reactions.models import Reaction

HOUR = 3600.0
DAY = 86400.0
KINDS = ("like", "love", "celebrate", "insightful", "curious", "funny")
KIND_CUM = list(accumulate((50, 15, 12, 12, 6, 5)))
SHARE_NOTES = ("Worth a read 👇", "Sharing with this group.", "This is relevant for us.", "FYI", "Great news!")


@dataclass(frozen=True)
class Plan:
    communities: int  # in all, including All company and the department communities
    posts: int
    comments: int
    reactions: int
    days: int
    topics: int = 50
    # None composes (and renders) every body; n reuses n composed bodies (large datasets).
    text_pool: int | None = None
    chunk: int = 20_000  # posts per transaction


DEMO_PLAN = Plan(communities=31, posts=400, comments=1_200, reactions=2_600, days=60)


@dataclass
class ContentResult:
    communities: int = 0
    memberships: int = 0
    follows: int = 0
    topics: int = 0
    posts: int = 0
    comments: int = 0
    reactions: int = 0
    rows: int = 0
    seconds: float = 0.0


@dataclass
class _Person:
    id: int
    handle: str
    department_id: int | None
    admin: bool


@dataclass
class _Community:
    id: int
    slug: str
    visibility: str
    archived_at: float | None
    created_at: float
    members: list[int] = field(default_factory=list)  # indexes into people
    member_cum: list[float] = field(default_factory=list)
    activity: float = 1.0


@dataclass
class _Rendered:
    body: str
    html: str
    topic_ids: tuple[int, ...]
    mention_ids: tuple[int, ...]
    link_url: str


def _render_markdown() -> Callable[[str], str]:
    from townhall.core.markdown import render_markdown

    return render_markdown


class _Renderer:
    """Body -> HTML with mentions and topics as links, through posts.text when it is
    there (the same rendering the services produce), else plain Markdown."""

    def __init__(self, people_by_handle: dict[str, int], topic_ids: dict[str, int]) -> None:
        self.people_by_handle = people_by_handle
        self.topic_ids = topic_ids
        try:
            from townhall.posts import text as post_text
        except ImportError:  # pragma: no cover - posts.text ships with the posts app
            post_text = None  # type: ignore[assignment]
        self.post_text = post_text
        self.markdown = _render_markdown()

    def __call__(self, text: phrases.Text) -> _Rendered:
        from townhall.core.markdown import analyse

        topic_slugs = [_topic_slug(t) for t in text.topics]
        people = {h: self.people_by_handle[h] for h in text.mentions if h in self.people_by_handle}
        if self.post_text is not None:
            resolved = self.post_text.Resolved(people=people, topics={s: s for s in topic_slugs})
            html = self.post_text.render(text.body, resolved=resolved)
        else:
            html = self.markdown(text.body)
        url = next((u for u in analyse(text.body).link_urls if u.startswith(("http://", "https://"))), "")
        return _Rendered(
            body=text.body,
            html=html,
            topic_ids=tuple(dict.fromkeys(self.topic_ids[s] for s in topic_slugs)),
            mention_ids=tuple(dict.fromkeys(people.values())),
            link_url=url,
        )


def _topic_slug(name: str) -> str:
    try:
        from townhall.posts.text import topic_slug
    except ImportError:  # pragma: no cover
        return name.lower()
    return topic_slug(name)


def _hot_score() -> Callable[[float, int, int, int], float]:
    from townhall.posts.ranking import hot_score

    def score(ts: float, reactions: int, comments: int, shares: int) -> float:
        return hot_score(datetime.fromtimestamp(ts, UTC), reactions, comments, shares)

    return score


def _zipf_weights(n: int, exponent: float, rng: Random) -> list[float]:
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    return [1.0 / r**exponent for r in ranks]


def _sample_weighted(rng: Random, population: list[int], cum: list[float], k: int) -> list[int]:
    """Up to k distinct items drawn by weight (a few rounds of choices, then dedupe)."""
    k = min(k, len(population))
    chosen: dict[int, None] = {}
    for _ in range(6):
        if len(chosen) >= k:
            break
        for item in rng.choices(population, cum_weights=cum, k=(k - len(chosen)) * 2):
            chosen[item] = None
            if len(chosen) >= k:
                break
    return list(chosen)


class _Loader:
    def __init__(self, plan: Plan, seed: int, now: datetime, progress: Callable[[str], None] | None) -> None:
        self.plan = plan
        self.rng = Random(seed)
        self.w = Writer()
        self.now = now.timestamp()
        self.start = self.now - plan.days * DAY
        self.progress = progress or (lambda message: None)
        self.result = ContentResult()
        self.score = _hot_score()

    def ts(self, seconds: float) -> str:
        return self.w.ts(seconds)

    # --- People, topics and communities --------------------------------------------

    def people(self) -> None:
        rows = (
            User.objects.filter(is_active=True)
            .order_by("id")
            .values_list("id", "email", "role", "profile__department_id")
        )
        self.persons = [
            _Person(pk, email.split("@")[0].lower(), dept, role == Role.ADMIN) for pk, email, role, dept in rows
        ]
        if not self.persons:
            raise ValueError("Load the people first (directory.demo.build_demo).")
        self.person_weights = _zipf_weights(len(self.persons), 0.9, self.rng)
        self.person_cum = list(accumulate(self.person_weights))
        self.everyone = list(range(len(self.persons)))
        self.handles = [p.handle for p in self.persons]
        self.by_handle = {p.handle: p.id for p in self.persons}

    def topics(self) -> None:
        names = phrases.topic_names(self.plan.topics)
        existing = dict(Topic.objects.values_list("slug", "id"))
        new_id = next_id(Topic)
        rows = []
        for name in names:
            slug = _topic_slug(name)
            if slug not in existing:
                existing[slug] = new_id
                rows.append((new_id, name, slug, self.ts(self.start - 30 * DAY), 0))
                new_id += 1
        self.w.insert(Topic._meta.db_table, ("id", "name", "slug", "created_at", "post_count"), rows)
        self.topic_ids = existing
        self.topic_names = names
        self.topic_weights = [1.0 / (i + 1) ** 0.8 for i in range(len(names))]
        self.topic_posts: dict[int, int] = {}
        self.result.topics = len(names)

    def communities(self) -> None:
        """All company and the department communities come from the communities
        app's directory sync (the hook bulk writers call); the rest are written here."""
        rng = self.rng
        run_bulk_directory_change()
        if not Community.objects.filter(is_all_company=True).exists():
            all_company()
        index_of = {p.id: i for i, p in enumerate(self.persons)}
        self.comms: list[_Community] = []
        special = Community.objects.filter(
            Q(is_all_company=True) | Q(department__isnull=False), deleted_at__isnull=True
        )
        for pk, slug, visibility in special.order_by("-is_all_company", "name").values_list("id", "slug", "visibility"):
            self.comms.append(_Community(pk, slug, visibility, None, self.start - 400 * DAY))
        Community.objects.filter(pk__in=[c.id for c in self.comms]).update(
            created_at=datetime.fromtimestamp(self.start - 400 * DAY, UTC)
        )
        self.all_company = self.comms[0]
        by_id = {c.id: c for c in self.comms}
        for community_id, user_id in (
            Membership.objects.filter(community_id__in=by_id).order_by("id").values_list("community_id", "user_id")
        ):
            if user_id in index_of:
                by_id[community_id].members.append(index_of[user_id])
        self.special = len(self.comms)
        creator = next((p.id for p in self.persons if p.admin), self.persons[0].id)
        new_id = next_id(Community)
        taken = set(Community.objects.values_list("slug", flat=True))
        rows = []
        others = max(0, self.plan.communities - len(self.comms))
        for name, kind, visibility, description, archived in phrases.community_names(others, rng):
            slug = slugify(name)[:110] or "community"
            base, n = slug, 1
            while slug in taken:
                n += 1
                slug = f"{base}-{n}"
            taken.add(slug)
            created = self.start - rng.uniform(30, 700) * DAY
            archived_at = self.now - rng.uniform(5, 20) * DAY if archived else None
            self.comms.append(_Community(new_id, slug, visibility, archived_at, created))
            rows.append(
                (new_id, name, slug, description, "", kind, visibility, False, None, creator,
                 self.ts(created), self.ts(archived_at) if archived_at else None, None, 0)
            )  # fmt: skip
            new_id += 1
        columns = ("id", "name", "slug", "description", "cover", "kind", "visibility", "is_all_company",
                   "department_id", "created_by_id", "created_at", "archived_at", "deleted_at", "member_count")  # fmt: skip
        self.w.insert(Community._meta.db_table, columns, rows)
        self.result.communities = len(self.comms)

    def memberships(self) -> None:
        rng = self.rng
        special = self.special
        open_comms = self.comms[special:]
        popularity = _zipf_weights(len(open_comms), 0.8, rng)
        # Secret and private communities stay smaller.
        popularity = [w * (0.15 if c.visibility == "secret" else 0.7 if c.visibility == "private" else 1.0)
                      for w, c in zip(popularity, open_comms, strict=True)]  # fmt: skip
        positions = list(range(len(open_comms)))
        cum = list(accumulate(popularity))
        seats: list[tuple[int, int]] = []  # (community index, person index)
        # 5-60 communities in all (All company and the department included), fewer
        # when the organisation has only a few communities.
        max_k = max(1, min(58, len(open_comms) // 3))
        min_k = min(3, max_k)
        if open_comms:
            for index in range(len(self.persons)):
                k = min_k + int((max_k - min_k) * rng.random() ** 2.5)
                for pos in _sample_weighted(rng, positions, cum, k):
                    seats.append((special + pos, index))
            sizes = Counter(s[0] for s in seats)
            for comm_index in range(special, len(self.comms)):  # nobody left alone in a community
                if sizes[comm_index] < 3:
                    for index in rng.sample(self.everyone, k=min(3, len(self.everyone))):
                        seats.append((comm_index, index))
        new_id = next_id(Membership)
        rows = []
        seen: set[tuple[int, int]] = set()
        for comm_index, person_index in seats:
            if (comm_index, person_index) in seen:
                continue
            seen.add((comm_index, person_index))
            community = self.comms[comm_index]
            admin = not community.members or rng.random() < 0.03
            community.members.append(person_index)
            muted = rng.random() < 0.03
            joined = min(self.now - HOUR, max(community.created_at, self.start) + rng.uniform(0, 20) * DAY)
            rows.append((new_id, community.id, self.persons[person_index].id, "admin" if admin else "member", False,
                         muted, self.ts(joined)))  # fmt: skip
            new_id += 1
        self.w.insert(
            Membership._meta.db_table, ("id", "community_id", "user_id", "role", "synced", "muted", "created_at"), rows
        )
        for community in self.comms:
            community.member_cum = list(accumulate(self.person_weights[i] for i in community.members))
            size = len(community.members)
            community.activity = (size**0.8) * rng.uniform(0.5, 1.5) if size else 0.0
        self.w.update(
            Community._meta.db_table, ("member_count",), [(len(c.members), c.id) for c in self.comms[special:]]
        )
        self.result.memberships = len(rows) + sum(len(c.members) for c in self.comms[:special])

    def follows(self) -> None:
        rng = self.rng
        rows, topic_rows = [], []
        new_id, topic_id = next_id(Follow), next_id(TopicFollow)
        topic_cum = list(accumulate(self.topic_weights))
        topic_list = [self.topic_ids[_topic_slug(n)] for n in self.topic_names]
        for index, person in enumerate(self.persons):
            k = int(30 * rng.random() ** 2)
            for other in _sample_weighted(rng, self.everyone, self.person_cum, k):
                if other != index:
                    rows.append(
                        (new_id, person.id, self.persons[other].id, self.ts(self.start - rng.uniform(1, 300) * DAY))
                    )
                    new_id += 1
            for topic in dict.fromkeys(rng.choices(topic_list, cum_weights=topic_cum, k=int(6 * rng.random() ** 2))):
                topic_rows.append((topic_id, topic, person.id, self.ts(self.start - rng.uniform(1, 300) * DAY)))
                topic_id += 1
        self.w.insert(Follow._meta.db_table, ("id", "follower_id", "followee_id", "created_at"), rows)
        self.w.insert(TopicFollow._meta.db_table, ("id", "topic_id", "user_id", "created_at"), topic_rows)
        self.result.follows = len(rows) + len(topic_rows)

    # --- Conversation --------------------------------------------------------------

    def texts(self) -> None:
        rng = self.rng
        render = _Renderer(self.by_handle, self.topic_ids)
        self.render = render
        pool = self.plan.text_pool
        if pool:
            self.post_pool = [render(self.compose_post()) for _ in range(pool)]
            self.comment_pool = [render(phrases.compose_comment(rng, handles=self.handles)) for _ in range(pool)]
            self.reply_pool = [
                render(phrases.compose_comment(rng, handles=self.handles, reply=True)) for _ in range(pool // 4)
            ]
        self.share_notes = [render(phrases.Text(note, (), ())) for note in SHARE_NOTES]

    def compose_post(self) -> phrases.Text:
        return phrases.compose_post(
            self.rng, handles=self.handles, topics=self.topic_names, topic_weights=self.topic_weights
        )

    def post_text(self) -> _Rendered:
        if self.plan.text_pool:
            return self.post_pool[self.rng.randrange(len(self.post_pool))]
        return self.render(self.compose_post())

    def comment_text(self, reply: bool) -> _Rendered:
        if self.plan.text_pool:
            pool = self.reply_pool if reply else self.comment_pool
            return pool[self.rng.randrange(len(pool))]
        return self.render(phrases.compose_comment(self.rng, handles=self.handles, reply=reply))

    def conversation(self) -> None:
        plan, rng = self.plan, self.rng
        times = sorted(rng.uniform(self.start, self.now - 120) for _ in range(plan.posts))
        # Where posts go: communities by activity; All company a steady 6 %, profiles 4 %.
        targets = [c for c in self.comms if c.members]
        activity = [c.activity for c in targets]
        total = sum(activity) or 1.0
        activity = [a / total * 0.90 for a in activity]
        activity[targets.index(self.all_company)] += 0.06
        self.target_comms = targets
        self.target_cum = list(accumulate(activity))
        self.target_cum.append(self.target_cum[-1] + 0.04)  # the last slot: a profile post
        self.mean_comments = plan.comments / max(1, plan.posts)
        self.mean_post_reactions = 0.75 * plan.reactions / max(1, plan.posts)
        self.mean_comment_reactions = 0.25 * plan.reactions / max(1, plan.comments)
        self.ids = {"post": next_id(Post), "comment": next_id(Comment), "reaction": next_id(Reaction),
                    "revision": next_id(PostRevision), "mention": next_id(Mention),
                    "topic_link": next_id(Post.topics.through)}  # fmt: skip
        self.shareable: deque[tuple[int, float, int, int]] = deque(maxlen=2000)
        self.shares: dict[int, list[float | int]] = {}  # original id -> [created, reactions, comments, shares]
        self.latest_in: dict[int, tuple[int, float]] = {}  # community id -> (post id, created) of its last live post
        for first in range(0, plan.posts, plan.chunk):
            with transaction.atomic():
                self.chunk(times[first : first + plan.chunk])
            self.progress(f"posts {min(first + plan.chunk, plan.posts):,}/{plan.posts:,}")
        with transaction.atomic():
            self.finish()

    def pick_target(self) -> _Community | None:
        """A community by activity, or None for a profile post."""
        slot = bisect(self.target_cum, self.rng.random() * self.target_cum[-1])
        return self.target_comms[slot] if slot < len(self.target_comms) else None

    def chunk(self, times: list[float]) -> None:
        rng, ts = self.rng, self.ts
        posts: list[tuple[Any, ...]] = []
        comments: list[list[Any]] = []
        reactions: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        mentions: list[tuple[Any, ...]] = []
        revisions: list[tuple[Any, ...]] = []
        for created in times:
            community = self.pick_target()
            if community is not None and community.archived_at and created > community.archived_at:
                community = self.all_company
            if community is None:
                author = bisect(self.person_cum, rng.random() * self.person_cum[-1])
                author = min(author, len(self.persons) - 1)
                profile_user = (
                    self.persons[author].id if rng.random() < 0.8 else self.persons[rng.randrange(len(self.persons))].id
                )
                audience, audience_cum = self.everyone, self.person_cum
            else:
                pos = min(
                    bisect(community.member_cum, rng.random() * community.member_cum[-1]), len(community.members) - 1
                )
                author = community.members[pos]
                profile_user = None
                open_ = community.visibility == "public"
                audience = self.everyone if open_ else community.members
                audience_cum = self.person_cum if open_ else community.member_cum
            author_id = self.persons[author].id
            post_id = self.ids["post"]
            self.ids["post"] += 1
            shared_post_id = None
            text = self.post_text()
            if community is not None and community.visibility == "public" and self.shareable and rng.random() < 0.015:
                original = self.shareable[rng.randrange(len(self.shareable))]
                if original[0] != post_id:
                    shared_post_id = original[0]
                    entry = self.shares.setdefault(original[0], [original[1], original[2], original[3], 0])
                    entry[3] = int(entry[3]) + 1
                    text = self.share_notes[rng.randrange(len(self.share_notes))]
            heat = rng.paretovariate(2.0) / 2.0
            n_comments = min(400, int(self.mean_comments * heat * rng.uniform(0.5, 1.5) + rng.random()))
            n_reactions = min(
                len(audience), 2000, int(self.mean_post_reactions * heat * rng.uniform(0.5, 1.5) + rng.random())
            )
            deleted = rng.random() < 0.003
            # Comments and replies, oldest first.
            live_comments = 0
            last_activity = created
            top_level: list[int] = []  # ids of the top-level comments so far
            moment = created
            for _ in range(n_comments):
                moment = min(self.now - 1, moment + rng.expovariate(1 / (3 * HOUR)))
                reply = bool(top_level) and rng.random() < 0.3
                comment_id = self.ids["comment"]
                self.ids["comment"] += 1
                pick = min(bisect(audience_cum, rng.random() * audience_cum[-1]), len(audience) - 1)
                commenter = self.persons[audience[pick]].id
                body = self.comment_text(reply)
                parent = top_level[rng.randrange(len(top_level))] if reply else None
                c_heat = rng.paretovariate(2.0) / 2.0
                c_reactions = min(len(audience), 300, int(self.mean_comment_reactions * c_heat + rng.random()))
                c_deleted = rng.random() < 0.005
                comments.append(
                    [comment_id, post_id, parent, commenter, body.body, body.html, ts(moment),
                     None, ts(moment + 60) if c_deleted else None, c_reactions, 0]
                )  # fmt: skip
                if parent is None:
                    top_level.append(comment_id)
                if not c_deleted:
                    live_comments += 1
                    last_activity = moment
                for user_id in body.mention_ids:
                    mentions.append((self.ids["mention"], post_id, comment_id, user_id, ts(moment)))
                    self.ids["mention"] += 1
                self.react("comment", comment_id, moment, c_reactions, audience, reactions)
            # reply_count on each top-level comment: its live replies
            by_id = {row[0]: row for row in comments[len(comments) - n_comments :]}
            for row in comments[len(comments) - n_comments :]:
                if row[2] is not None and row[8] is None:
                    by_id[row[2]][10] += 1
            self.react("post", post_id, created, n_reactions, audience, reactions)
            edited_at = None
            if not shared_post_id and rng.random() < 0.015:
                edited_at = min(self.now - 1, created + rng.uniform(300, 4 * HOUR))
                old = text.body.replace(" the ", " teh ", 1) if " the " in text.body else text.body + "\n\n(draft)"
                revisions.append((self.ids["revision"], post_id, old, author_id, ts(created)))
                self.ids["revision"] += 1
            for topic_id in text.topic_ids:
                links.append((self.ids["topic_link"], post_id, topic_id))
                self.ids["topic_link"] += 1
                if not deleted:
                    self.topic_posts[topic_id] = self.topic_posts.get(topic_id, 0) + 1
            for user_id in text.mention_ids:
                mentions.append((self.ids["mention"], post_id, None, user_id, ts(created)))
                self.ids["mention"] += 1
            posts.append(
                (post_id, "post", author_id, community.id if community else None, profile_user, text.body, text.html,
                 shared_post_id, text.link_url, None, ts(created), ts(edited_at) if edited_at else None,
                 ts(created + 600) if deleted else None, author_id if deleted else None, None,
                 live_comments, n_reactions, 0, self.score(created, n_reactions, live_comments, 0), ts(last_activity))
            )  # fmt: skip
            if not deleted and community is not None:
                self.latest_in[community.id] = (post_id, created)
                if community.visibility == "public" and not shared_post_id:
                    self.shareable.append((post_id, created, n_reactions, live_comments))
        w = self.w
        w.insert(Post._meta.db_table, POST_COLUMNS, posts)
        w.insert(Comment._meta.db_table, COMMENT_COLUMNS, [tuple(row) for row in comments])
        w.insert(
            Reaction._meta.db_table, ("id", "user_id", "target_type", "target_id", "kind", "created_at"), reactions
        )
        w.insert(Post.topics.through._meta.db_table, ("id", "post_id", "topic_id"), links)
        w.insert(Mention._meta.db_table, ("id", "post_id", "comment_id", "user_id", "created_at"), mentions)
        w.insert(PostRevision._meta.db_table, ("id", "post_id", "body", "edited_by_id", "created_at"), revisions)
        self.result.posts += len(posts)
        self.result.comments += len(comments)
        self.result.reactions += len(reactions)

    def react(
        self, target_type: str, target_id: int, created: float, n: int, audience: list[int], out: list[tuple[Any, ...]]
    ) -> None:
        if n <= 0:
            return
        rng, persons = self.rng, self.persons
        people = rng.sample(audience, n) if n < len(audience) else audience
        kinds = rng.choices(KINDS, cum_weights=KIND_CUM, k=n)
        rid = self.ids["reaction"]
        for index, kind in zip(sorted(people), kinds, strict=True):
            out.append((rid, persons[index].id, target_type, target_id, kind,
                        self.ts(min(self.now - 1, created + rng.expovariate(1 / (6 * HOUR))))))  # fmt: skip
            rid += 1
        self.ids["reaction"] = rid

    def finish(self) -> None:
        """Counters that span chunks: shares, pins, topic post counts."""
        rows = []
        for post_id, (created, reactions, comments, shares) in sorted(self.shares.items()):
            rows.append((int(shares), self.score(float(created), int(reactions), int(comments), int(shares)), post_id))
        self.w.update(Post._meta.db_table, ("share_count", "hot_score"), rows)
        pins = []
        self.featured = {c.id for c in self.comms[self.special : self.special + 3]}
        for community in self.comms:
            latest = self.latest_in.get(community.id)
            chosen = community is self.all_company or community.id in self.featured
            if latest and (chosen or self.rng.random() < 0.1) and latest[1] > self.now - 30 * DAY:
                pins.append((self.ts(min(self.now - 1, latest[1] + HOUR)), latest[0]))
        self.w.update(Post._meta.db_table, ("pinned_at",), pins)
        self.w.update(
            Topic._meta.db_table, ("post_count",), [(n, topic_id) for topic_id, n in sorted(self.topic_posts.items())]
        )


POST_COLUMNS = (
    "id", "kind", "author_id", "community_id", "profile_user_id", "body", "body_html", "shared_post_id", "link_url",
    "link_preview_id", "created_at", "edited_at", "deleted_at", "deleted_by_id", "pinned_at", "comment_count",
    "reaction_count", "share_count", "hot_score", "last_activity_at",
)  # fmt: skip
COMMENT_COLUMNS = (
    "id", "post_id", "parent_id", "author_id", "body", "body_html", "created_at", "edited_at", "deleted_at",
    "reaction_count", "reply_count",
)  # fmt: skip


def load_content(
    *,
    plan: Plan = DEMO_PLAN,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ContentResult:
    """Write communities and conversation for the people already in the database.

    Precondition: people exist and no communities or posts were generated before
    (ids continue from the highest existing ones, so a second run adds a second
    network rather than failing). Writes below the ORM: no services run, so no
    notifications, link-preview fetches or real-time events are produced.
    """
    started = time.perf_counter()
    loader = _Loader(plan, seed, now or timezone.now(), progress)
    loader.w.begin_load()
    try:
        with transaction.atomic():
            loader.people()
            loader.topics()
            loader.communities()
            loader.memberships()
            loader.follows()
            loader.texts()
        loader.progress(f"{loader.result.communities} communities, {loader.result.memberships:,} memberships")
        loader.conversation()
        reset_sequences([Topic, Community, Membership, Follow, TopicFollow, Post, Comment, Reaction, PostRevision,
                         Mention, Post.topics.through])  # fmt: skip
    finally:
        loader.w.end_load()
    result = loader.result
    result.rows = loader.w.rows
    result.seconds = time.perf_counter() - started
    return result
