"""Following people (directory/follows.py)."""

from __future__ import annotations

import pytest

from townhall.accounts.models import User
from townhall.core.errors import NotFound, ValidationFailed
from townhall.directory.follows import (
    can_follow,
    followee_ids,
    following_list,
    is_following,
    person_follow,
    person_unfollow,
)
from townhall.directory.models import Follow
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_person_follow_is_idempotent_and_listed(member: User) -> None:
    other = UserFactory(full_name="Olga Other")

    person_follow(actor=member, person=other)
    person_follow(actor=member, person=other)

    assert Follow.objects.filter(follower=member, followee=other).count() == 1
    assert is_following(viewer=member, person=other)
    assert list(followee_ids(viewer=member)) == [other.pk]
    page = following_list(viewer=member)
    assert [f.followee.display_name for f in page.items] == ["Olga Other"]


def test_person_unfollow_removes_and_is_idempotent(member: User) -> None:
    other = UserFactory()
    person_follow(actor=member, person=other)

    person_unfollow(actor=member, person_id=other.pk)
    person_unfollow(actor=member, person_id=other.pk)

    assert not is_following(viewer=member, person=other)


def test_person_follow_refuses_oneself(member: User) -> None:
    with pytest.raises(ValidationFailed):
        person_follow(actor=member, person=member)
    assert not can_follow(member, member)


def test_person_follow_hidden_person_answers_not_found(member: User, guest: User) -> None:
    gone = UserFactory(is_active=False)

    with pytest.raises(NotFound):
        person_follow(actor=member, person=gone)
    # Guests see no colleagues, so they can follow no one.
    with pytest.raises(NotFound):
        person_follow(actor=guest, person=member)
    assert not can_follow(guest, member)


def test_followee_ids_leave_out_deactivated_people(member: User) -> None:
    stays, leaves = UserFactory(), UserFactory()
    person_follow(actor=member, person=stays)
    person_follow(actor=member, person=leaves)
    User.objects.filter(pk=leaves.pk).update(is_active=False)

    assert list(followee_ids(viewer=member)) == [stays.pk]
    assert [f.followee_id for f in following_list(viewer=member).items] == [stays.pk]
    person_unfollow(actor=member, person_id=leaves.pk)  # still possible
    assert not Follow.objects.filter(followee=leaves).exists()


def test_following_list_pages_without_repeats(member: User, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    people = [UserFactory() for _ in range(5)]
    for person in people:
        person_follow(actor=member, person=person)

    seen: list[int] = []
    cursor = None
    while True:
        with django_assert_num_queries(1):
            page = following_list(viewer=member, cursor=cursor, limit=2)
            seen += [f.followee.profile.user_id for f in page.items]
        cursor = page.next_cursor
        if not cursor:
            break

    assert sorted(seen) == sorted(p.pk for p in people)
    assert len(seen) == len(set(seen))
