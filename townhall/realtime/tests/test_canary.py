"""The SSE leg of the canary test: whatever happens in a secret or private community
(posts, comments, reactions, on any channel a stream can name), nothing about it
reaches a stream of someone who may not read it, whatever their role; a member of the
private community gets its events (so the silence of the others means something)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from townhall.communities.models import Membership
from townhall.posts.services import comment_create, post_create
from townhall.reactions.services import reaction_set
from townhall.realtime.publish import publish
from townhall.realtime.tests.streams import connect
from townhall.testing.aio import run_async
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_no_stream_of_a_non_reader_hears_of_secret_or_private_content():
    author = UserFactory()
    insider = UserFactory()  # a member of the private community, not of the secret one
    outsiders = {
        "member": UserFactory(),
        "guest": UserFactory(role="guest"),
        "admin": UserFactory(role="admin"),
        "ic_moderator": UserFactory(role="ic_moderator"),
        "former_member": UserFactory(),
    }
    public = CommunityFactory(members=[author, insider, *outsiders.values()])
    private = CommunityFactory(visibility="private", members=[author, insider, outsiders["former_member"]])
    secret = CommunityFactory(visibility="secret", members=[author])
    Membership.objects.filter(community=private, user=outsiders["former_member"]).delete()
    hidden = {
        "secret": PostFactory(author=author, community=secret, body="Qz7SecretCanary"),
        "private": PostFactory(author=author, community=private, body="Kw4PrivateCanary"),
    }
    on_screen = ",".join(str(p.pk) for p in hidden.values())

    async def scenario() -> None:
        streams = {}
        for role, person in {**outsiders, "insider": insider}.items():
            # Everything a stream can ask for: home, the hidden posts by id, and the
            # public community (which a hidden event is also published on below).
            streams[role] = [
                await connect(person, f"?feed=home&posts={on_screen}"),
                await connect(person, f"?feed=community:{public.pk}&posts={on_screen}"),
            ]
        for name, community in (("secret", secret), ("private", private)):
            post = hidden[name]
            await sync_to_async(comment_create)(actor=author, post=post, body=f"{name} comment")
            await sync_to_async(reaction_set)(actor=author, target_type="post", target_id=post.pk, kind="like")
            new = await sync_to_async(post_create)(actor=author, body=f"{name} news #falcon", community=community)
            hidden[f"{name}-new"] = new
            # A careless publisher putting hidden content on a public channel.
            await sync_to_async(publish)(
                channel=[f"community:{public.pk}", f"post:{post.pk}"],
                event="post.created",
                data={"post_id": post.pk},
                guard=("post", post.pk),
            )
        visible = await sync_to_async(post_create)(actor=author, body="public news", community=public)

        hidden_ids = {p.pk for p in hidden.values()}
        private_ids = {hidden["private"].pk, hidden["private-new"].pk}
        for role, pair in streams.items():
            for stream in pair:
                # Read until the public post arrives: everything published before it has
                # been delivered (or withheld) by then.
                while not any(e.data.get("post_id") == visible.pk for e in stream.events):
                    await stream.read()
                heard = {e.data.get("post_id") for e in stream.events}
                if role == "insider":
                    assert heard & private_ids, "the private community's member hears its events"
                    assert not heard & (hidden_ids - private_ids), role
                else:
                    assert not heard & hidden_ids, f"{role} heard of {heard & hidden_ids}"
                assert "Canary" not in str(stream.events)
                await stream.close()

    run_async(scenario())
