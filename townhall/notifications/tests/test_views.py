"""The notification centre, the header badge and the settings page (plain POST and
htmx)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from townhall.notifications.kinds import Channel, Kind, Level
from townhall.notifications.models import CommunityLevel, Notification, PersonSettings, Preference
from townhall.notifications.tests.conftest import World
from townhall.posts.services import post_create
from townhall.testing.clients import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def mentioned(world: World, django_capture_on_commit_callbacks: Any) -> Notification:
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="Review this, @bo")
    return Notification.objects.get(recipient=world.bo)


def test_header_badge_shows_the_unread_count_with_a_label(world: World, mentioned: Notification) -> None:
    page = signed_in(world.bo).get("/")
    html = page.content.decode()
    assert 'aria-label="Notifications, 1 unread"' in html
    assert 'class="notif-count" data-unread="1">1</span>' in html
    quiet = signed_in(world.cy).get("/").content.decode()
    assert 'aria-label="Notifications"' in quiet and "notif-count" not in quiet


def test_centre_lists_and_opening_marks_read(world: World, mentioned: Notification) -> None:
    client = signed_in(world.bo)
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert "Ana Alves mentioned you in “Review this, @bo”" in page.content.decode()
    opened = client.get(f"/notifications/{mentioned.pk}/open")
    assert opened.status_code == 302 and opened["Location"] == f"/posts/{mentioned.target_id}/"
    mentioned.refresh_from_db()
    assert mentioned.read_at is not None
    # Someone else's notification answers like a missing one.
    assert signed_in(world.cy).get(f"/notifications/{mentioned.pk}/open").status_code == 404


def test_mark_read_and_mark_all_read_plain_and_htmx(world: World, mentioned: Notification) -> None:
    client = signed_in(world.bo)
    swapped = client.post(f"/notifications/{mentioned.pk}/read", HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200 and "notif-unread" not in swapped.content.decode()
    Notification.objects.filter(pk=mentioned.pk).update(read_at=None)
    done = client.post("/notifications/read-all")
    assert done.status_code == 302 and done["Location"] == "/notifications/"
    assert not Notification.objects.filter(recipient=world.bo, read_at__isnull=True).exists()
    assert signed_in(world.cy).post(f"/notifications/{mentioned.pk}/read").status_code == 404


def test_badge_fragment(world: World, mentioned: Notification) -> None:
    html = signed_in(world.bo).get("/notifications/badge").content.decode()
    assert 'id="notif-bell"' in html and ">1</span>" in html


def test_preferences_page_saves_the_whole_form(world: World) -> None:
    client = signed_in(world.bo)
    page = client.get("/notifications/settings")
    html = page.content.decode()
    assert page.status_code == 200 and 'name="mention:email" checked' in html and "Design" in html
    form = {"mention:in_app": "on", "reply_post:email": "on", "digest": "daily", f"level:{world.public.pk}": "all"}
    saved = client.post("/notifications/settings", form)
    assert saved.status_code == 302
    assert Preference.objects.get(user=world.bo, kind=Kind.MENTION, channel=Channel.EMAIL).enabled is False
    assert Preference.objects.get(user=world.bo, kind=Kind.REPLY_POST, channel=Channel.EMAIL).enabled is True
    assert PersonSettings.objects.get(user=world.bo).digest == "daily"
    assert CommunityLevel.objects.get(user=world.bo, community_id=world.public.pk).level == Level.ALL
    htmx = client.post("/notifications/settings", {**form, "digest": "weekly"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and 'id="notif-prefs"' in htmx.content.decode()
    assert PersonSettings.objects.get(user=world.bo).digest == "weekly"


def test_preferences_refuse_a_community_one_is_not_in(world: World) -> None:
    client = signed_in(world.cy)
    # Cy is not in the secret community: the field is simply not on Cy's form.
    client.post("/notifications/settings", {"digest": "daily", f"level:{world.secret.pk}": "all"})
    assert not CommunityLevel.objects.filter(user=world.cy).exists()
    bad = client.post("/notifications/settings", {"digest": "hourly"})
    assert bad.status_code == 400 and "Choose daily, weekly or never." in bad.content.decode()


def test_pages_need_sign_in(client: Client) -> None:
    assert client.get("/notifications/").status_code == 302
    assert client.get("/notifications/settings").status_code == 302
