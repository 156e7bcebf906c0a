from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from townhall.accounts.models import User
from townhall.directory.services import ProfileChanges, profile_update
from townhall.media.tests.test_images import jpeg_with_exif
from townhall.testing.clients import signed_in
from townhall.testing.factories import UserFactory

HOME = reverse("feed:home")
JOINERS = reverse("feed:home_joiners")


def joiner(full_name: str, *, days_ago: int, active: bool = True) -> User:
    user = UserFactory(full_name=full_name)
    start = timezone.localdate() - timedelta(days=days_ago)
    profile_update(actor=user, person=user, changes=ProfileChanges(title="New Hire", start_date=start))
    if not active:
        User.objects.filter(pk=user.pk).update(is_active=False)
    return user


def complete_profile(user: User) -> None:
    boss = UserFactory()
    changes = ProfileChanges(title="Engineer", department="R&D", location="Oulu", manager_id=boss.pk, bio="Hi!")
    photo = SimpleUploadedFile("me.jpg", jpeg_with_exif((64, 64)), "image/jpeg")
    profile_update(actor=user, person=user, changes=changes, avatar=photo)


def text(response: Any) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_home_greets_the_person_by_display_name(member: User) -> None:
    profile_update(actor=member, person=member, changes=ProfileChanges(preferred_name="Sunny & Co"))

    body = text(signed_in(member).get(HOME))

    assert re.search(r"<h1 id=\"welcome-heading\">Good (morning|afternoon|evening), Sunny &amp; Co</h1>", body)


@pytest.mark.django_db
def test_home_lists_what_the_profile_still_misses_with_a_link_to_edit(member: User, member_client: Client) -> None:
    profile_update(actor=member, person=member, changes=ProfileChanges(title="Engineer"))

    body = text(member_client.get(HOME))

    assert "Complete your profile" in body
    assert "1 of 6 done" in body
    for missing in ("Department", "Location", "Manager", "Bio", "Photo"):
        assert f"<li>{missing}</li>" in body
    assert "<li>Job title</li>" not in body
    assert f'href="{reverse("directory:edit", args=[member.pk])}"' in body


@pytest.mark.django_db
def test_home_hides_the_profile_card_once_complete(member: User, member_client: Client) -> None:
    complete_profile(member)

    body = text(member_client.get(HOME))

    assert "Complete your profile" not in body
    assert "Shortcuts" in body


@pytest.mark.django_db
def test_home_shows_recent_active_joiners_newest_first(member_client: Client) -> None:
    joiner("Older Joiner", days_ago=20)
    joiner("Newest Joiner", days_ago=1)
    joiner("Long Ago", days_ago=400)
    joiner("Gone Joiner", days_ago=2, active=False)

    home = text(member_client.get(HOME))
    fragment = text(member_client.get(JOINERS, HTTP_HX_REQUEST="true"))
    body = text(member_client.get(JOINERS))
    section = body[body.index('id="newcomers-heading"') :]

    # The home page loads the card after the feed (htmx), with a plain link as fallback.
    assert f'hx-get="{JOINERS}" hx-trigger="load"' in home and f'href="{JOINERS}"' in home
    assert "<html" not in fragment and "Newest Joiner" in fragment

    assert section.index("Newest Joiner") < section.index("Older Joiner")
    assert "Long Ago" not in body
    assert "Gone Joiner" not in body
    assert "Joined " in section


@pytest.mark.django_db
def test_home_without_joiners_says_so(member_client: Client) -> None:
    body = text(member_client.get(JOINERS))

    assert "No one has joined in the last three months." in body
    assert f'href="{reverse("directory:list")}"' in body


@pytest.mark.django_db
def test_home_links_to_the_directory_and_own_org_chart(member: User, member_client: Client) -> None:
    body = text(member_client.get(HOME))

    assert f'<a href="{reverse("directory:list")}"><strong>People directory</strong>' in body
    assert f'href="{reverse("directory:profile", args=[member.pk])}#org-chart"' in body


@pytest.mark.django_db
def test_home_guest_sees_no_colleagues_and_no_directory_shortcut(guest: User) -> None:
    joiner("Secret Joiner", days_ago=3)

    response = signed_in(guest).get(HOME)

    body = text(response) + text(signed_in(guest).get(JOINERS))
    assert response.status_code == 200
    assert "Secret Joiner" not in body
    assert "People directory" not in body
    assert f'href="{reverse("directory:list")}"' not in body


@pytest.mark.django_db
def test_home_requires_sign_in(client: Client) -> None:
    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:signin"))


@pytest.mark.django_db
def test_home_query_count_does_not_grow_with_joiners(member_client: Client) -> None:
    member_client.get(HOME)  # the first request of a session also creates the organisation row

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert member_client.get(HOME).status_code == 200
        return len(captured)

    joiner("Joiner One", days_ago=1)
    few = count()
    for index in range(7):
        joiner(f"Joiner {index}", days_ago=index + 2)
    many = count()

    assert few == many
    # Session, user, organisation; the profile with skills and interests; joiners;
    # the composer's places; the (empty) feed's sources and arms; the viewer's avatar.
    assert many <= 16, many
