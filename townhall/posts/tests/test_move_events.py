"""What a move tells people: the author (when someone else moved their post, and only
if they may read it in its new place) and the open pages of the new community."""

from __future__ import annotations

import pytest

from townhall.communities import services as communities
from townhall.notifications.delivery import deliver_notification
from townhall.notifications.models import Notification
from townhall.notifications.selectors import describe, unread_count
from townhall.notifications.tests.conftest import Sink, parts, smtp  # noqa: F401 (the fixture)
from townhall.posts import services as posts
from townhall.realtime.models import Event
from townhall.testing.communities_factories import MembershipFactory
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(django_capture_on_commit_callbacks):
    owner = UserFactory(full_name="Olga Owner", email="olga@example.com")
    author = UserFactory(full_name="Ada Author", email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        square = communities.community_create(actor=owner, name="Square")
        vault = communities.community_create(actor=owner, name="Vault", visibility="private")
        attic = communities.community_create(actor=owner, name="Attic", visibility="secret")
    MembershipFactory(community=square, user=author)
    MembershipFactory(community=vault, user=author)
    with django_capture_on_commit_callbacks(execute=True):
        post = posts.post_create(actor=author, community=square, body="Quarterly numbers are in")
    return {"owner": owner, "author": author, "square": square, "vault": vault, "attic": attic, "post": post}


def _moved(person):
    return list(Notification.objects.filter(recipient=person, kind="post_moved"))


def test_the_author_hears_when_a_moderator_moves_their_post(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        posts.post_move(actor=place["owner"], post=place["post"], community=place["vault"])
    assert _moved(place["author"]) == []  # nothing before commit
    for callback in callbacks:
        callback()
    [row] = _moved(place["author"])
    assert (row.actor_id, row.target_type, row.target_id) == (place["owner"].pk, "post", place["post"].pk)
    [item] = describe(place["author"], [row])
    assert item.sentence == "Olga Owner moved your post “Quarterly numbers are in” to Vault"
    assert item.url == f"/posts/{place['post'].pk}/"
    assert unread_count(user=place["author"]) == 1
    assert _moved(place["owner"]) == []


def test_each_move_is_its_own_notification(place, django_capture_on_commit_callbacks):
    MembershipFactory(community=place["attic"], user=place["author"])
    with django_capture_on_commit_callbacks(execute=True):
        posts.post_move(actor=place["owner"], post=place["post"], community=place["vault"])
    with django_capture_on_commit_callbacks(execute=True):
        posts.post_move(actor=place["owner"], post=place["post"], community=place["attic"])
    rows = _moved(place["author"])
    assert len(rows) == 2
    assert {item.sentence.rsplit(" ", 1)[1] for item in describe(place["author"], rows)} == {"Attic"}


def test_no_notification_for_moving_ones_own_post(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        own = posts.post_create(actor=place["owner"], community=place["square"], body="Mine")
        posts.post_move(actor=place["owner"], post=own, community=place["vault"])
    assert not Notification.objects.filter(kind="post_moved").exists()


def test_an_author_who_cannot_read_it_there_is_not_told(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        posts.post_move(actor=place["owner"], post=place["post"], community=place["attic"])  # secret, not a member
    assert _moved(place["author"]) == []
    # Told in the vault, then moved where they cannot follow: the centre drops it.
    with django_capture_on_commit_callbacks(execute=True):
        other = posts.post_create(actor=place["author"], community=place["square"], body="Second")
        posts.post_move(actor=place["owner"], post=other, community=place["vault"])
    [row] = _moved(place["author"])
    assert describe(place["author"], [row])
    with django_capture_on_commit_callbacks(execute=True):
        posts.post_move(actor=place["owner"], post=other, community=place["attic"])
    assert len(_moved(place["author"])) == 1  # no second one
    assert describe(place["author"], _moved(place["author"])) == []
    assert unread_count(user=place["author"]) == 0


def test_the_new_community_gets_a_new_post_event_guarded_by_the_post(place, django_capture_on_commit_callbacks):
    before = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        posts.post_move(actor=place["owner"], post=place["post"], community=place["vault"])
    assert Event.objects.count() == before  # nothing leaves before commit
    for callback in callbacks:
        callback()
    [event] = Event.objects.filter(pk__gt=0, event="post.created").order_by("-id")[:1]
    assert event.channels == [f"community:{place['vault'].pk}"]
    assert event.data == {"post_id": place["post"].pk}
    assert (event.guard_kind, event.guard_id) == ("post", place["post"].pk)
    assert Event.objects.filter(event="post.created").count() == 2  # the post's creation, the move


@pytest.mark.django_db(transaction=True)
def test_the_move_email_reaches_the_author(place, smtp: Sink):  # noqa: F811 (the fixture)
    posts.post_move(actor=place["owner"], post=place["post"], community=place["vault"])
    [row] = _moved(place["author"])
    assert deliver_notification(notification_id=row.pk) == "sent"
    [message] = smtp.to("ada@example.com")
    assert message["Subject"].strip() == "Olga Owner moved your post “Quarterly numbers are in” to Vault"
    assert f"https://townhall.example.org/posts/{place['post'].pk}/" in parts(message)["text/plain"]
