"""The event stream end to end (AsyncClient reading the real view, the real hub and the
database broker): channels, visibility at delivery, Last-Event-ID replay."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from townhall.communities.models import Membership
from townhall.posts.services import comment_create, post_create
from townhall.reactions.services import reaction_set
from townhall.realtime.publish import publish
from townhall.realtime.tests.streams import async_client, connect
from townhall.testing.aio import run_async
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_stream_refuses_signed_out_and_unreadable_feeds():
    reader = UserFactory()
    secret = CommunityFactory(visibility="secret")

    async def scenario() -> None:
        from django.test import AsyncClient

        assert (await AsyncClient().get("/events/stream")).status_code == 401
        client = await async_client(reader)
        assert (await client.get(f"/events/stream?feed=community:{secret.pk}")).status_code == 404
        assert (await client.get("/events/stream?feed=community:987654")).status_code == 404
        assert (await client.get("/events/stream?feed=nonsense")).status_code == 404

    run_async(scenario())


def test_stream_under_wsgi_answers_204(member_client):
    # EventSource stops reconnecting on 204: a WSGI server never holds a thread per stream.
    assert member_client.get("/events/stream?feed=home").status_code == 204


def test_stream_delivers_new_posts_of_the_feed_viewed():
    author, reader = UserFactory(), UserFactory()
    design = CommunityFactory(members=[author, reader])
    other = CommunityFactory(members=[author])

    async def scenario() -> None:
        stream = await connect(reader, f"?feed=community:{design.pk}")
        await sync_to_async(post_create)(actor=author, body="elsewhere", community=other)
        post = await sync_to_async(post_create)(actor=author, body="hello", community=design)
        [event] = await stream.read()
        assert event.event == "post.created"
        assert event.data == {"post_id": post.pk}
        assert event.id is not None
        await stream.nothing()
        await stream.close()

    run_async(scenario())


def test_home_feed_hears_member_communities_and_followed_topics_not_secret_ones():
    author, reader = UserFactory(), UserFactory()
    mine = CommunityFactory(members=[author, reader])
    secret = CommunityFactory(visibility="secret", members=[author])

    async def scenario() -> None:
        stream = await connect(reader, "?feed=home")
        await sync_to_async(post_create)(actor=author, body="Qz7SecretCanary #launch", community=secret)
        post = await sync_to_async(post_create)(actor=author, body="hello", community=mine)
        [event] = await stream.read()
        assert event.data == {"post_id": post.pk}
        await stream.close()

    run_async(scenario())


def test_non_member_never_receives_an_event_about_a_secret_post_even_on_its_channel():
    author, outsider = UserFactory(), UserFactory()
    secret = CommunityFactory(visibility="secret", members=[author])
    public = CommunityFactory(members=[author, outsider])
    hidden = PostFactory(author=author, community=secret)

    async def scenario() -> None:
        # The outsider names the secret post and the secret community's channel: the
        # post is dropped from the subscription, and the guard withholds the event.
        stream = await connect(outsider, f"?feed=community:{public.pk}&posts={hidden.pk}")
        await sync_to_async(publish)(
            channel=[f"community:{public.pk}", f"post:{hidden.pk}"],
            event="post.created",
            data={"post_id": hidden.pk},
            guard=("post", hidden.pk),
        )
        await sync_to_async(comment_create)(actor=author, post=hidden, body="Qz7SecretCanary")
        visible = await sync_to_async(post_create)(actor=author, body="public", community=public)
        [event] = await stream.read()
        assert event.data == {"post_id": visible.pk}
        assert "Qz7SecretCanary" not in str(stream.events)
        await stream.close()

    run_async(scenario())


def test_membership_revoked_after_connecting_stops_delivery():
    author, reader = UserFactory(), UserFactory()
    private = CommunityFactory(visibility="private", members=[author, reader])

    async def scenario() -> None:
        stream = await connect(reader, f"?feed=community:{private.pk}")
        first = await sync_to_async(post_create)(actor=author, body="one", community=private)
        [event] = await stream.read()
        assert event.data == {"post_id": first.pk}
        await sync_to_async(Membership.objects.filter(community=private, user=reader).delete)()
        await sync_to_async(post_create)(actor=author, body="Kw4PrivateCanary", community=private)
        await stream.nothing()
        await stream.close()

    run_async(scenario())


def test_counts_of_posts_on_screen_arrive_for_visible_posts_only():
    author, reader = UserFactory(), UserFactory()
    public = CommunityFactory(members=[author, reader])
    secret = CommunityFactory(visibility="secret", members=[author])
    seen = PostFactory(author=author, community=public)
    hidden = PostFactory(author=author, community=secret)

    async def scenario() -> None:
        stream = await connect(reader, f"?posts={seen.pk},{hidden.pk},x,")
        await sync_to_async(reaction_set)(actor=author, target_type="post", target_id=hidden.pk, kind="like")
        await sync_to_async(reaction_set)(actor=author, target_type="post", target_id=seen.pk, kind="love")
        [event] = await stream.read()
        assert event.event == "post.counts"
        assert event.data == {"post_id": seen.pk, "comments": 0, "shares": 0, "reactions": {"love": 1}}
        await sync_to_async(comment_create)(actor=author, post=seen, body="nice")
        [event] = await stream.read()
        assert event.data["comments"] == 1
        await stream.close()

    run_async(scenario())


def test_notification_channel_is_the_persons_own():
    me, other = UserFactory(), UserFactory()

    async def scenario() -> None:
        mine = await connect(me)
        theirs = await connect(other)
        await sync_to_async(publish)(channel=f"user:{me.pk}", event="notifications", data={"unread": 2})
        [event] = await mine.read()
        assert (event.event, event.data) == ("notifications", {"unread": 2})
        await theirs.nothing(within=0.5)
        await mine.close()
        await theirs.close()

    run_async(scenario())


def test_last_event_id_replays_what_was_missed_once_then_goes_live():
    author, reader = UserFactory(), UserFactory()
    design = CommunityFactory(members=[author, reader])
    secret = CommunityFactory(visibility="secret", members=[author])

    async def scenario() -> None:
        stream = await connect(reader, f"?feed=community:{design.pk}")
        first = await sync_to_async(post_create)(actor=author, body="one", community=design)
        [seen] = await stream.read()
        await stream.close()
        # Disconnected: two posts here, one in a secret community, one elsewhere.
        second = await sync_to_async(post_create)(actor=author, body="two", community=design)
        await sync_to_async(post_create)(actor=author, body="Qz7SecretCanary", community=secret)
        third = await sync_to_async(post_create)(actor=author, body="three", community=design)

        again = await connect(reader, f"?feed=community:{design.pk}", **{"Last-Event-ID": seen.id or ""})
        replayed = await again.read(count=2)
        assert [e.data["post_id"] for e in replayed] == [second.pk, third.pk]
        fourth = await sync_to_async(post_create)(actor=author, body="four", community=design)
        [live] = await again.read()
        assert live.data["post_id"] == fourth.pk
        await again.nothing(within=0.5)
        ids = [e.id for e in again.events]
        assert len(ids) == len(set(ids))
        assert first.pk not in [e.data["post_id"] for e in again.events]
        await again.close()

        # `last=` (a reconnect with a new list of posts) works like the header.
        third_again = await connect(reader, f"?feed=community:{design.pk}&last={replayed[0].id}")
        [only] = await third_again.read()
        assert only.data["post_id"] == third.pk
        await third_again.close()

    run_async(scenario())


def test_a_garbled_last_event_id_is_ignored():
    reader = UserFactory()

    async def scenario() -> None:
        stream = await connect(reader, "", **{"Last-Event-ID": "<script>"})
        await stream.nothing(within=0.3)
        await stream.close()

    run_async(scenario())


def test_heartbeats_keep_the_stream_alive_and_old_streams_end(monkeypatch):
    from townhall.realtime import hub, views

    monkeypatch.setattr(hub, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.setattr(views, "MAX_AGE_SECONDS", 0.35)
    reader = UserFactory()

    async def scenario() -> None:
        stream = await connect(reader)
        chunks = []
        async for chunk in stream._it:  # ends by itself once the stream is old enough
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
        assert ": ping\n\n" in chunks
        assert len(chunks) <= 6

    run_async(asyncio.wait_for(scenario(), 5))


def test_a_last_event_id_from_beyond_the_log_does_not_hold_back_new_events():
    author, reader = UserFactory(), UserFactory()
    design = CommunityFactory(members=[author, reader])

    async def scenario() -> None:
        stream = await connect(reader, f"?feed=community:{design.pk}", **{"Last-Event-ID": "999999"})
        [resync] = await stream.read()
        assert resync.event == "resync"
        post = await sync_to_async(post_create)(actor=author, body="fresh", community=design)
        [event] = await stream.read()
        assert event.data == {"post_id": post.pk}
        await stream.close()

    run_async(scenario())


def test_one_person_may_hold_only_so_many_streams(monkeypatch):
    from townhall.realtime import hub

    monkeypatch.setattr(hub, "MAX_STREAMS_PER_PERSON", 2)
    reader = UserFactory()

    async def scenario() -> None:
        first, second = await connect(reader), await connect(reader)
        refused = await (await async_client(reader)).get("/events/stream")
        assert refused.status_code == 429
        await first.close()
        third = await connect(reader)  # a closed stream frees its place
        await second.close()
        await third.close()

    run_async(scenario())


def test_a_first_connection_replays_what_happened_since_the_page_was_made():
    import time

    author, reader = UserFactory(), UserFactory()
    design = CommunityFactory(members=[author, reader])
    made = time.time() - 1

    async def scenario() -> None:
        # Posted while the page was on its way to the browser, before it connected.
        early = await sync_to_async(post_create)(actor=author, body="early", community=design)
        stream = await connect(reader, f"?feed=community:{design.pk}&since={made}")
        [replayed] = await stream.read()
        assert replayed.data == {"post_id": early.pk}
        late = await sync_to_async(post_create)(actor=author, body="late", community=design)
        [live] = await stream.read()
        assert live.data == {"post_id": late.pk}
        await stream.nothing(within=0.3)
        await stream.close()
        # Too old a render time (or garbage) is ignored: no replay.
        for since in (made - 3600, "x"):
            quiet = await connect(reader, f"?feed=community:{design.pk}&since={since}")
            await quiet.nothing(within=0.3)
            await quiet.close()

    run_async(scenario())
