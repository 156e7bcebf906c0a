"""The feeds' channels for the "N new posts" bar (registered with realtime in
FeedConfig.ready()). posts/live.py publishes `post.created` on the channels of each
place a post shows up in; a feed listens to the channels of the places it shows.

`home`: the communities the viewer belongs to (not muted) and may read, the people and
topics they follow, and their own profile (home_sources). `community:<id or slug>`,
`topic:<slug>`, `profile:<user id>`: that one place, when the viewer may read it
(NotFound otherwise, like the page). A membership that ends while the stream is open
stops delivery anyway: every event passes the post guard when it is delivered.
"""

from __future__ import annotations

from townhall.accounts.permissions import AnyUser
from townhall.communities.models import Community
from townhall.communities.permissions import can_read_community
from townhall.core.errors import NotFound
from townhall.directory.selectors import person_get
from townhall.feed.selectors import home_sources
from townhall.posts.models import Topic
from townhall.posts.selectors import topic_get
from townhall.realtime import registry


def _id(arg: str) -> int:
    if not arg.isdigit() or len(arg) > 18:
        raise NotFound()
    return int(arg)


def home(viewer: AnyUser, _arg: str) -> list[str]:
    sources = home_sources(viewer=viewer)
    slugs = Topic.objects.filter(pk__in=sources.topic_ids).values_list("slug", flat=True)
    return [
        *(f"community:{pk}" for pk in sources.community_ids),
        *(f"profile:{pk}" for pk in {*sources.person_ids, viewer.pk}),
        *(f"topic:{slug}" for slug in slugs),
    ]


def community(viewer: AnyUser, arg: str) -> list[str]:
    # By id (what pages use) or by slug (for people and scripts).
    communities = Community.objects.all()
    if arg.isdigit() and len(arg) < 19:
        found = communities.filter(pk=int(arg)).first()
    else:
        found = communities.filter(slug=arg[:100]).first()
    if found is None or not can_read_community(viewer, found):
        raise NotFound()
    return [f"community:{found.pk}"]


def topic(viewer: AnyUser, arg: str) -> list[str]:
    return [f"topic:{topic_get(viewer=viewer, slug=arg).slug}"]


def profile(viewer: AnyUser, arg: str) -> list[str]:
    return [f"profile:{person_get(viewer=viewer, user_id=_id(arg)).user_id}"]


def register() -> None:
    registry.register_feed("home", home)
    registry.register_feed("community", community)
    registry.register_feed("topic", topic)
    registry.register_feed("profile", profile)
