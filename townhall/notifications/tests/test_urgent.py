"""Urgent announcements: only admins and IC moderators mark them, they reach every
member of the community, and their email goes out through quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.test import Client

from townhall.accounts.models import Role, User
from townhall.core.errors import PermissionDenied, ValidationFailed
from townhall.directory.models import Profile
from townhall.notifications.delivery import deliver_notification
from townhall.notifications.kinds import Channel, Kind
from townhall.notifications.models import Notification, Preference
from townhall.notifications.tests.conftest import Sink, World
from townhall.posts.models import Post
from townhall.posts.services import post_create
from townhall.testing.factories import TEST_PASSWORD


def _comms(world: World) -> User:
    User.objects.filter(pk=world.ana.pk).update(role=Role.IC_MODERATOR)
    world.ana.refresh_from_db()
    return world.ana


@pytest.mark.django_db
def test_urgent_reaches_every_member_and_emails_through_quiet_hours(
    world: World, smtp: Sink, django_capture_on_commit_callbacks: Any
) -> None:
    ana = _comms(world)
    Profile.objects.filter(user=world.bo).update(
        timezone="America/New_York", working_hours_start=time(9, 0), working_hours_end=time(17, 0)
    )
    Preference.objects.create(user=world.bo, kind=Kind.COMMUNITY_POST, channel=Channel.EMAIL, enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        post = post_create(actor=ana, community=world.public, body="The office is closed today", urgent=True)
    assert post.urgent
    told = set(Notification.objects.filter(kind=Kind.COMMUNITY_POST).values_list("recipient_id", flat=True))
    assert told == {world.bo.pk, world.cy.pk, world.outsider.pk}  # every member but the author, no level chosen
    assert all(Notification.objects.filter(kind=Kind.COMMUNITY_POST).values_list("urgent", flat=True))
    row = Notification.objects.get(recipient=world.bo, kind=Kind.COMMUNITY_POST)
    three_am = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 03:00 in New York
    assert deliver_notification(notification_id=row.pk, now=three_am) == "sent"
    assert [m["To"] for m in smtp.messages] == ["bo@example.com"]


@pytest.mark.django_db
def test_an_ordinary_post_tells_only_those_who_asked(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="Weekly notes")
    assert not Notification.objects.filter(kind=Kind.COMMUNITY_POST).exists()


@pytest.mark.django_db
def test_only_admins_and_ic_moderators_mark_urgent_and_only_in_communities(world: World) -> None:
    with pytest.raises(PermissionDenied):
        post_create(actor=world.bo, community=world.public, body="Everyone look!", urgent=True)
    ana = _comms(world)
    with pytest.raises(ValidationFailed) as caught:
        post_create(actor=ana, profile_user=ana, body="On my profile", urgent=True)
    assert "urgent" in caught.value.fields
    assert not Post.objects.exists()


@pytest.mark.django_db
def test_composer_offers_urgent_only_to_the_comms_team(world: World, smtp: Sink) -> None:
    member = Client()
    member.login(email=world.bo.email, password=TEST_PASSWORD)
    assert b'name="urgent"' not in member.get("/c/design/").content
    # A hand-made form field changes nothing for a member: the field is not offered.
    member.post("/posts/new", {"destination": "community:design", "body": "sneaky", "urgent": "on"})
    assert not Post.objects.filter(urgent=True).exists()
    ana = _comms(world)
    comms = Client()
    comms.login(email=ana.email, password=TEST_PASSWORD)
    page = comms.get("/c/design/").content.decode()
    assert 'name="urgent"' in page and "Urgent: notify every member now" in page
    response = comms.post("/posts/new", {"destination": "community:design", "body": "Fire drill at 3", "urgent": "on"})
    assert response.status_code == 302
    post = Post.objects.get(body="Fire drill at 3")
    assert post.urgent
    assert "badge-urgent" in comms.get(f"/posts/{post.pk}/").content.decode()


@pytest.mark.django_db
def test_api_marks_urgent_for_the_comms_team_only(world: World) -> None:
    member = Client()
    member.login(email=world.bo.email, password=TEST_PASSWORD)
    denied = member.post(
        "/api/v1/posts", {"body": "x", "community": "design", "urgent": True}, content_type="application/json"
    )
    assert denied.status_code == 403
    ana = _comms(world)
    comms = Client()
    comms.login(email=ana.email, password=TEST_PASSWORD)
    made = comms.post(
        "/api/v1/posts", {"body": "Now", "community": "design", "urgent": True}, content_type="application/json"
    )
    assert made.status_code == 201 and made.json()["urgent"] is True
