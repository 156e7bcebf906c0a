"""What realtime knows about content, learnt by registration (it imports no domain app).

Domain apps register, in their AppConfig.ready() (see posts/live.py, feed/live.py):

- a **guard** per object kind: `guard(user_ids, object_id) -> the user ids that may see
  the object now`. Every event names the object it is about (`guard=("post", 12)`), and
  the stream asks the guard at delivery time, once per event for all the people
  connected to its channels: a post deleted, or a membership revoked after a person
  connected, stops delivery at once. An event whose kind has no guard reaches nobody.
- a **channel kind** per channel prefix: `authorize(viewer, arg) -> bool`, asked when
  a stream subscribes to `"<prefix>:<arg>"` (e.g. "community:42"). A channel the
  viewer may not read is refused (404 for a feed; silently dropped for posts on screen).
- a **feed** per feed name: `channels(viewer, arg) -> list of channels` for the "N new
  posts" bar (the home feed is many channels: the viewer's communities, people and
  topics). Unknown feed or one the viewer may not read: NotFound.

`user:<id>` channels (the person's own notifications) are built in: only that person
may subscribe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from townhall.core.errors import NotFound

Guard = Callable[[list[int], int], set[int]]
Authorize = Callable[[Any, str], bool]
FeedChannels = Callable[[Any, str], list[str]]
# Many channels of one kind at once (posts on screen): (viewer, args) -> allowed args.
AuthorizeMany = Callable[[Any, list[str]], set[str]]

_GUARDS: dict[str, Guard] = {}
_CHANNELS: dict[str, Authorize] = {}
_CHANNELS_MANY: dict[str, AuthorizeMany] = {}
_FEEDS: dict[str, FeedChannels] = {}


def register_guard(kind: str, guard: Guard) -> None:
    _GUARDS[kind] = guard


def register_channel(prefix: str, authorize: Authorize, *, many: AuthorizeMany | None = None) -> None:
    _CHANNELS[prefix] = authorize
    if many is not None:
        _CHANNELS_MANY[prefix] = many


def register_feed(name: str, channels: FeedChannels) -> None:
    _FEEDS[name] = channels


def allowed(kind: str | None, object_id: int | None, user_ids: Iterable[int]) -> set[int]:
    """The people among `user_ids` the guard lets see the object (everyone when the
    event names no object: only `user:` channels publish such events)."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    if kind is None or object_id is None:
        return set(ids)
    guard = _GUARDS.get(kind)
    if guard is None:
        return set()
    return guard(ids, object_id) & set(ids)


def authorize_channel(viewer: Any, channel: str) -> bool:
    prefix, _, arg = channel.partition(":")
    if not arg:
        return False
    if prefix == "user":
        return bool(viewer.is_authenticated and viewer.is_active and arg == str(viewer.pk))
    authorize = _CHANNELS.get(prefix)
    return authorize is not None and authorize(viewer, arg)


def authorize_many(viewer: Any, prefix: str, args: list[str]) -> set[str]:
    """The subset of `"<prefix>:<arg>"` channels the viewer may read (one query when
    the kind registered a batch check)."""
    many = _CHANNELS_MANY.get(prefix)
    if many is not None:
        return many(viewer, args)
    return {arg for arg in args if authorize_channel(viewer, f"{prefix}:{arg}")}


def feed_channels(viewer: Any, feed: str) -> list[str]:
    """The channels of a feed ("home", "community:42", "topic:design", ...)."""
    name, _, arg = feed.partition(":")
    resolve = _FEEDS.get(name)
    if resolve is None:
        raise NotFound()
    return resolve(viewer, arg)
