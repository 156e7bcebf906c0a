"""A post moved out of a community, seen from the streams of that community's open
pages: `post.removed` reaches whoever may read the old community at delivery (even
when the post went where they cannot follow), never someone who may not."""

from __future__ import annotations

import json
import time

import pytest
from asgiref.sync import sync_to_async

from townhall.communities.models import Membership
from townhall.posts.services import post_create, post_move
from townhall.realtime.tests.streams import connect
from townhall.testing.aio import run_async
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_post_move_removes_the_card_from_the_old_communitys_streams_only_for_its_readers():
    owner, author, reader, leaver = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    vault = CommunityFactory(visibility="private", admin=owner, members=[author, reader, leaver])
    attic = CommunityFactory(visibility="secret", admin=owner)  # none of them may follow the post there
    post = post_create(actor=author, body="Quarterly numbers are in", community=vault)

    async def scenario() -> None:
        stream = await connect(reader, f"?feed=community:{vault.pk}&posts={post.pk}")
        left = await connect(leaver, f"?feed=community:{vault.pk}&posts={post.pk}")
        # The leaver's membership ends while their page is open: the guard is asked at
        # delivery, so they hear nothing more from the vault.
        await sync_to_async(Membership.objects.filter(community=vault, user=leaver).delete)()
        await sync_to_async(post_move)(actor=owner, post=post, community=attic)
        [event] = await stream.read()
        assert event.event == "post.removed"
        # Exactly the post's id: nothing about the community it went to (comparing the
        # whole payload, since the new community's id may equal the post's as a number).
        assert event.data == {"post_id": post.pk}
        assert attic.slug not in json.dumps(event.data)
        assert event.id is not None
        await stream.nothing()  # the removal only
        await left.nothing()
        await stream.close()
        await left.close()

    run_async(scenario())


def test_post_move_is_not_a_removal_for_the_new_community_or_other_feeds():
    owner, author, reader = UserFactory(), UserFactory(), UserFactory()
    square = CommunityFactory(admin=owner, members=[author, reader])
    plaza = CommunityFactory(admin=owner, members=[reader])
    post = post_create(actor=author, body="Moving on", community=square)

    async def scenario() -> None:
        there = await connect(reader, f"?feed=community:{plaza.pk}")
        profile = await connect(reader, f"?feed=profile:{author.pk}")
        await sync_to_async(post_move)(actor=owner, post=post, community=plaza)
        [event] = await there.read()
        assert (event.event, event.data) == ("post.created", {"post_id": post.pk})
        await there.nothing()
        await profile.nothing()
        await there.close()
        await profile.close()

    run_async(scenario())


def test_a_page_made_before_the_move_replays_the_removal():
    owner, author, reader = UserFactory(), UserFactory(), UserFactory()
    square = CommunityFactory(admin=owner, members=[author, reader])
    plaza = CommunityFactory(admin=owner)
    post = post_create(actor=author, body="Moving on", community=square)
    time.sleep(0.05)
    rendered = time.time()  # the page shows the post; then it moves before the stream connects
    post_move(actor=owner, post=post, community=plaza)

    async def scenario() -> None:
        stream = await connect(reader, f"?feed=community:{square.pk}&since={rendered}")
        [event] = await stream.read()
        assert (event.event, event.data) == ("post.removed", {"post_id": post.pk})
        await stream.close()

    run_async(scenario())
