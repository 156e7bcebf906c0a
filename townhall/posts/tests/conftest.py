"""Shared people and places for the posts tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from townhall.accounts.models import User
from townhall.communities.models import Community
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory


@dataclass
class World:
    author: User  # member of every community below (admin of none)
    admin: User  # community admin of every community below
    outsider: User  # member of nothing
    guest: User  # a guest, member of `public` only
    site_admin: User
    ic_moderator: User
    inactive: User  # was a member of every community, now deactivated
    public: Community
    private: Community
    secret: Community
    archived: Community


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    author = UserFactory(email="author@example.com", full_name="Ada Author")
    admin = UserFactory(email="admin.person@example.com", full_name="Adele Admin")
    outsider = UserFactory(email="outsider@example.com", full_name="Otto Outsider")
    guest = UserFactory(email="guest@partner.example", full_name="Gus Guest", role="guest")
    site_admin = UserFactory(email="root@example.com", full_name="Sam Site", role="admin")
    ic_moderator = UserFactory(email="ic@example.com", full_name="Ivy Comms", role="ic_moderator")
    inactive = UserFactory(email="gone@example.com", full_name="Gone Person")
    public = CommunityFactory(
        name="Public", slug="public", visibility="public", admin=admin, members=[author, guest, inactive]
    )
    private = CommunityFactory(
        name="Private", slug="private", visibility="private", admin=admin, members=[author, inactive]
    )
    secret = CommunityFactory(
        name="Secret", slug="secret", visibility="secret", admin=admin, members=[author, inactive]
    )
    archived = CommunityFactory(name="Archived", slug="archived", visibility="public", admin=admin, members=[author])
    from django.utils import timezone

    Community.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    archived.refresh_from_db()
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    inactive.refresh_from_db()
    return World(author, admin, outsider, guest, site_admin, ic_moderator, inactive, public, private, secret, archived)
