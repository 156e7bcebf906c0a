"""In-app notifications: who gets what, batching, preferences, and that nothing
about hidden content reaches anyone."""

from __future__ import annotations

from typing import Any

import pytest

from townhall.communities import members as community_members
from townhall.communities.services import community_join, community_update
from townhall.directory.follows import person_follow
from townhall.notifications import selectors, services
from townhall.notifications.kinds import Channel, Kind, Level
from townhall.notifications.models import Notification
from townhall.notifications.tests.conftest import World
from townhall.posts.services import comment_create, post_create, post_delete, post_edit
from townhall.reactions.services import reaction_set
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def texts(user: Any) -> list[str]:
    return [item.sentence for item in selectors.notification_page(viewer=user).items]


def test_mention_notifies_the_person_once_with_a_link(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post = post_create(actor=world.ana, community=world.public, body="Launch plan ready, @bo please review")
    assert texts(world.bo) == ["Ana Alves mentioned you in “Launch plan ready, @bo please review”"]
    item = selectors.notification_page(viewer=world.bo).items[0]
    assert item.url == f"/posts/{post.pk}/" and item.unread
    assert selectors.unread_count(user=world.bo) == 1
    assert selectors.unread_count(user=world.ana) == 0  # never about one's own act
    # Editing the post (mention kept) tells nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        post_edit(actor=world.ana, post=post, body="Launch plan ready, @bo please review today")
    assert Notification.objects.filter(recipient=world.bo).count() == 1


def test_replies_notify_post_author_and_parent_author(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post = post_create(actor=world.ana, community=world.public, body="Which colour?")
        top = comment_create(actor=world.bo, post=post, body="Blue")
        comment_create(actor=world.cy, post=post, parent=top, body="Green")
    assert texts(world.bo) == ["Cy Chen replied to your comment on “Which colour?”"]
    assert sorted(texts(world.ana)) == [
        "Bo Berg commented on your post “Which colour?”",
        "Cy Chen commented on your post “Which colour?”",
    ]


def test_reactions_batch_into_one_unread_notification(world: World, django_capture_on_commit_callbacks: Any) -> None:
    post = post_create(actor=world.ana, community=world.public, body="Ship it")
    extra = [UserFactory() for _ in range(11)]
    for person in extra:
        world.public.memberships.create(user=person)
    with django_capture_on_commit_callbacks(execute=True):
        for person in [world.bo, world.cy, *extra]:
            reaction_set(actor=person, target_type="post", target_id=post.pk, kind="like")
        reaction_set(actor=world.bo, target_type="post", target_id=post.pk, kind="love")  # a change, not a new act
    rows = Notification.objects.filter(recipient=world.ana)
    assert rows.count() == 1 and rows[0].actor_count == 13
    latest = extra[-1].display_name
    assert texts(world.ana) == [f"{latest} and 12 others reacted to your post “Ship it”"]
    # Once read, the next reaction starts a new notification.
    services.notifications_mark_all_read(actor=world.ana)
    with django_capture_on_commit_callbacks(execute=True):
        reaction_set(actor=world.outsider, target_type="post", target_id=post.pk, kind="like")
    assert texts(world.ana)[0] == "Olly Outside reacted to your post “Ship it”"
    assert selectors.unread_count(user=world.ana) == 1


def test_two_reactors_read_as_a_pair(world: World, django_capture_on_commit_callbacks: Any) -> None:
    post = post_create(actor=world.ana, community=world.public, body="Hi")
    with django_capture_on_commit_callbacks(execute=True):
        reaction_set(actor=world.bo, target_type="post", target_id=post.pk, kind="like")
        reaction_set(actor=world.cy, target_type="post", target_id=post.pk, kind="like")
    assert texts(world.ana) == ["Cy Chen and Bo Berg reacted to your post “Hi”"]


def test_follows_batch_and_link_the_latest_follower(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        person_follow(actor=world.bo, person=world.ana)
        person_follow(actor=world.cy, person=world.ana)
    item = selectors.notification_page(viewer=world.ana).items[0]
    assert item.sentence == "Cy Chen and Bo Berg started following you"
    assert item.url == f"/people/{world.cy.pk}/"


def test_join_request_reaches_admins_and_approval_the_person(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    private = CommunityFactory(name="Leads", slug="leads", visibility="private", admin=world.ana, members=[world.bo])
    with django_capture_on_commit_callbacks(execute=True):
        request = community_join(actor=world.cy, community=private, message="Me too")
    assert texts(world.ana) == ["Cy Chen asked to join Leads"]
    assert texts(world.bo) == []  # plain members are not told
    assert selectors.notification_page(viewer=world.ana).items[0].url == "/c/leads/requests"
    with django_capture_on_commit_callbacks(execute=True):
        community_members.request_approve(actor=world.ana, community=private, request_id=request.pk)
    assert texts(world.cy) == ["You're now a member of Leads"]


def test_invitation_to_a_secret_community_is_visible_to_the_invitee_only_while_open(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = community_members.community_invite(actor=world.ana, community=world.secret, user=world.cy)
    assert texts(world.cy) == ["Ana Alves invited you to join Board"]
    community_members.invitation_decline(actor=world.cy, invitation_id=invitation.pk)
    assert texts(world.cy) == [] and selectors.unread_count(user=world.cy) == 0


def test_all_posts_level_notifies_members_who_chose_it(world: World, django_capture_on_commit_callbacks: Any) -> None:
    services.preferences_update(actor=world.cy, levels={world.public.pk: Level.ALL})
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="Weekly update")
    assert texts(world.cy) == ["Ana Alves posted in Design"]
    assert texts(world.bo) == []  # highlights (the default): nothing per post


def test_levels_only_for_communities_one_belongs_to(world: World) -> None:
    with pytest.raises(services.ValidationFailed):
        services.preferences_update(actor=world.cy, levels={world.secret.pk: Level.ALL})


def test_in_app_off_keeps_the_centre_empty(world: World, django_capture_on_commit_callbacks: Any) -> None:
    services.preferences_update(actor=world.bo, channels={(Kind.MENTION, Channel.IN_APP): False})
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="Hey @bo")
    assert texts(world.bo) == [] and selectors.unread_count(user=world.bo) == 0


def test_digest_channel_refused_for_kinds_without_digest(world: World) -> None:
    with pytest.raises(services.ValidationFailed):
        services.preferences_update(actor=world.bo, channels={(Kind.REACTION, Channel.DIGEST): True})


def test_canary_secret_content_never_notifies_a_non_member(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    canary = "Zx9SecretCanary"
    with django_capture_on_commit_callbacks(execute=True):
        post = post_create(actor=world.ana, community=world.secret, body=f"{canary} @cy @bo")
    # Cy is not in the secret community: nothing, not even a count.
    assert not Notification.objects.filter(recipient=world.cy).exists()
    assert selectors.unread_count(user=world.cy) == 0
    # Even a domain app that asked for it is overruled by the oracle.
    services.notify(
        kind=Kind.MENTION, recipient_ids=[world.cy.pk], actor_id=world.ana.pk, target_type="post", target_id=post.pk
    )
    assert not Notification.objects.filter(recipient=world.cy).exists()
    assert texts(world.bo) == [f"Ana Alves mentioned you in “{canary} @cy @bo”"]


def test_centre_hides_notifications_whose_target_became_hidden(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    canary = "Kw4MovedCanary"
    with django_capture_on_commit_callbacks(execute=True):
        post = post_create(actor=world.ana, community=world.public, body=f"{canary} for @olly")
        doomed = post_create(actor=world.ana, community=world.public, body="Soon gone, @olly")
    assert selectors.unread_count(user=world.outsider) == 2
    # The community goes secret and Olly leaves; the other post is deleted.
    community_update(actor=world.ana, community=world.public, visibility="secret")
    world.public.memberships.filter(user=world.outsider).delete()
    post_delete(actor=world.ana, post=doomed)
    assert selectors.unread_count(user=world.outsider) == 0
    page = selectors.notification_page(viewer=world.outsider)
    assert page.items == []
    assert (
        selectors.notification_for(
            viewer=world.outsider, notification_id=Notification.objects.filter(recipient=world.outsider).first().pk
        )
        is None
    )  # type: ignore[union-attr]
    assert post.pk  # the row stays; it is just never shown


def test_mark_read_is_for_the_recipient_only(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="@bo look")
    row = Notification.objects.get(recipient=world.bo)
    with pytest.raises(services.NotFound):
        services.notification_mark_read(actor=world.cy, notification_id=row.pk)
    services.notification_mark_read(actor=world.bo, notification_id=row.pk)
    assert selectors.unread_count(user=world.bo) == 0


def test_unread_count_query_budget(
    world: World, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            post = post_create(actor=world.ana, community=world.public, body=f"Post {n} @bo")
            comment_create(actor=world.cy, post=post, body=f"@bo reply {n}")
    with django_assert_max_num_queries(3):  # the rows, then one per target type
        assert selectors.unread_count(user=world.bo) == 10


def test_notification_page_query_count_is_constant(
    world: World, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="@bo one")
    with CaptureQueriesContext(connection) as small:
        selectors.notification_page(viewer=world.bo)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(8):
            post = post_create(actor=world.cy, community=world.public, body=f"@bo more {n}")
            comment_create(actor=world.ana, post=post, body=f"@bo c {n}")
    with django_assert_max_num_queries(len(small.captured_queries) + 2):  # + the comment type's check and describe
        assert len(selectors.notification_page(viewer=world.bo).items) == 17
