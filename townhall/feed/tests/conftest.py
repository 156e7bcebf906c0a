"""People, places and posts for the feed tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from townhall.accounts.models import User
from townhall.communities.models import Community, Membership
from townhall.communities.selectors import all_company
from townhall.posts.models import Post
from townhall.posts.ranking import hot_score
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory


@dataclass
class Town:
    me: User  # member of design, hr and noise (muted); follows `friend`
    friend: User  # followed by me; member of design and skunk
    stranger: User  # nobody follows them; member of skunk
    admin: User  # community admin of design
    company: Community
    design: Community  # public, me + friend + admin
    hr: Community  # private, me
    noise: Community  # public, me (muted)
    skunk: Community  # secret, friend + stranger (not me)
    elsewhere: Community  # public, stranger only


@pytest.fixture
def town(db: Any) -> Town:  # type: ignore[misc]
    from townhall.directory.follows import person_follow

    me = UserFactory(email="me@example.com", full_name="Mia Me")
    friend = UserFactory(email="friend@example.com", full_name="Fred Friend")
    stranger = UserFactory(email="stranger@example.com", full_name="Sid Stranger")
    admin = UserFactory(email="boss@example.com", full_name="Ana Admin")
    design = CommunityFactory(name="Design", slug="design", admin=admin, members=[me, friend])
    hr = CommunityFactory(name="HR", slug="hr", visibility="private", members=[me])
    noise = CommunityFactory(name="Noise", slug="noise", members=[me])
    Membership.objects.filter(community=noise, user=me).update(muted=True)
    skunk = CommunityFactory(name="Skunk works", slug="skunk", visibility="secret", members=[friend, stranger])
    elsewhere = CommunityFactory(name="Elsewhere", slug="elsewhere", members=[stranger])
    person_follow(actor=me, person=friend)
    return Town(me, friend, stranger, admin, all_company(), design, hr, noise, skunk, elsewhere)


_clock = {"n": 0}


def make_post(
    author: User, community: Community | None = None, *, minutes_ago: float | None = None, **fields: Any
) -> Post:
    """A post written straight to the table, `minutes_ago` old (each call a bit newer
    than the last by default), with its hot score as the services would set it."""
    if minutes_ago is None:
        _clock["n"] += 1
        minutes_ago = 10_000 - _clock["n"]
    created = timezone.now() - timedelta(minutes=minutes_ago)
    reactions = fields.pop("reactions", 0)
    fields.setdefault("profile_user", None)
    return PostFactory(
        author=author,
        community=community,
        created_at=created,
        reaction_count=reactions,
        hot_score=hot_score(created, reactions, 0, 0),
        **fields,
    )
