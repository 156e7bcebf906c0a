"""Notifications in real browsers: a mention written in one browser reaches a second
signed-in browser (badge after reload, item in the centre, opening it marks it read);
the settings page works at phone width. Live updates without a reload belong to the
realtime tests."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from townhall.communities.services import community_create, community_join
from townhall.notifications.models import Preference
from townhall.posts.services import comment_create, post_create
from townhall.reactions.services import reaction_set
from townhall.testing.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(db):
    ana = UserFactory(email="ana@acme.example", full_name="Ana Alves")
    bo = UserFactory(email="bo@acme.example", full_name="Bo Berg")
    cy = UserFactory(email="cy@acme.example", full_name="Cy Chen")
    design = community_create(actor=ana, name="Design Guild", description="Pixels and people.")
    community_join(actor=bo, community=design)
    community_join(actor=cy, community=design)
    return {"ana": ana, "bo": bo, "cy": cy, "design": design}


def test_mention_reaches_the_second_browser(world, desktop, phone):
    phone.sign_in("bo@acme.example")
    bell = phone.page.locator("#notif-bell")
    expect(bell).to_have_attribute("aria-label", "Notifications")

    desktop.sign_in("ana@acme.example")
    desktop.goto("/c/design-guild/")
    desktop.page.locator("#composer textarea[name=body]").fill("New palette is ready for review, @bo")
    desktop.page.locator("#composer-submit").click()
    expect(desktop.page.locator("#feed-list article.post").filter(has_text="New palette").first).to_be_visible()
    desktop.audit()

    # Bo, in the other browser, sees the badge after a reload.
    phone.page.reload()
    phone.audit()
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    expect(bell.locator(".notif-count")).to_have_text("1")
    bell.click()
    phone.page.wait_for_url(re.compile(r"/notifications/$"))
    phone.audit()
    item = phone.page.locator(".notif-list .notif").first
    expect(item).to_contain_text("Ana Alves mentioned you in “New palette is ready for review, @bo”")
    expect(item).to_have_class(re.compile("notif-unread"))
    item.locator("a.notif-link").click()
    phone.page.wait_for_url(re.compile(r"/posts/\d+/$"))
    phone.audit()
    expect(phone.page.locator("#notif-bell .notif-count")).to_have_count(0)


def test_centre_and_settings_look_finished(world, desktop, phone):
    ana, bo, cy = world["ana"], world["bo"], world["cy"]
    post = post_create(actor=ana, community=world["design"], body="Kick-off notes for the **rebrand**, @bo")
    mine = post_create(actor=bo, community=world["design"], body="Draft moodboard")
    comment_create(actor=cy, post=mine, body="Love the teal, @bo")
    for person in (ana, cy):
        reaction_set(actor=person, target_type="post", target_id=mine.pk, kind="like")
    assert post.pk
    for visit in (desktop, phone):
        visit.sign_in("bo@acme.example")
        visit.goto("/notifications/")
        expect(visit.page.locator(".notif-list .notif")).to_have_count(3)
        expect(visit.page.locator(".notif-list")).to_contain_text("Cy Chen and Ana Alves reacted to your post")
        visit.goto("/notifications/settings")

    # Settings: switch mention emails off, save (htmx), and it sticks.
    box = phone.page.locator("#p-mention-email")
    expect(box).to_be_checked()
    box.uncheck()
    phone.page.get_by_role("button", name="Save settings").click()
    expect(phone.page.locator("#notif-prefs")).to_be_visible()
    phone.page.wait_for_load_state("networkidle")
    phone.audit()
    assert Preference.objects.get(user=bo, kind="mention", channel="email").enabled is False

    # Mark all read from the centre (htmx swap).
    desktop.goto("/notifications/")
    desktop.page.get_by_role("button", name="Mark all as read").click()
    expect(desktop.page.locator("#notif-summary")).to_have_text("You're all caught up.")
    expect(desktop.page.locator("#notif-bell .notif-count")).to_have_count(0)  # the badge swapped out of band
    desktop.audit()
