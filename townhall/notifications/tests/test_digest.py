"""Digests: what arrives through SMTP, skipped when nothing is new, one per person
and period however often the scheduler runs, and nothing hidden inside."""

from __future__ import annotations

from datetime import UTC, datetime, time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from townhall.core.worker import WorkerConfig, run_worker
from townhall.directory.models import Profile
from townhall.notifications.digest import deliver_digest, period_of, schedule_due_digests
from townhall.notifications.kinds import DigestFrequency
from townhall.notifications.models import DigestRun, PersonSettings
from townhall.notifications.tasks import send_digest
from townhall.notifications.tests.conftest import Sink, World, parts
from townhall.posts.services import comment_create, post_create, posts_mark_seen
from townhall.reactions.services import reaction_set


def _daily_from_midnight(*people: Any) -> None:
    for person in people:
        PersonSettings.objects.update_or_create(user=person, defaults={"digest": DigestFrequency.DAILY})
        Profile.objects.filter(user=person).update(
            timezone="UTC", working_hours_start=time(0, 0), working_hours_end=time(23, 59)
        )


def test_period_keys_and_due_times() -> None:
    wednesday = datetime(2026, 11, 18, 7, 0, tzinfo=UTC)
    assert period_of("daily", wednesday, None) == ("d2026-11-18", datetime(2026, 11, 18, 8, 0, tzinfo=UTC))
    assert period_of("weekly", wednesday, time(9, 30)) == ("w2026-W47", datetime(2026, 11, 16, 9, 30, tzinfo=UTC))


@pytest.mark.django_db(transaction=True)
def test_digest_arrives_through_smtp_with_top_posts_mentions_and_replies(world: World, smtp: Sink) -> None:
    _daily_from_midnight(world.bo)
    mine = post_create(actor=world.bo, community=world.public, body="My proposal for the offsite")
    top = post_create(actor=world.ana, community=world.public, body="Quarterly results are in")
    reaction_set(actor=world.cy, target_type="post", target_id=top.pk, kind="like")
    seen = post_create(actor=world.cy, community=world.public, body="Already seen post")
    posts_mark_seen(viewer=world.bo, post_ids=[seen.pk])
    post_create(actor=world.ana, community=world.secret, body="Board-only agenda for @bo")
    comment_create(actor=world.cy, post=mine, body="What about the budget?")
    # A reply under Bo's comment on someone else's post waits for Bo too.
    theirs = post_create(actor=world.ana, community=world.public, body="Who has the venue list?")
    answer = comment_create(actor=world.bo, post=theirs, body="I can look for it")
    comment_create(actor=world.cy, post=theirs, parent=answer, body="Found it in the shared drive")
    DBTaskResult.objects.all().delete()  # only the digest matters here
    runs = schedule_due_digests(enqueue=send_digest.enqueue, user_ids=[world.bo.pk])
    assert [r.user_id for r in runs] == [world.bo.pk]
    run_worker(config=WorkerConfig(interval=0, periodic_every=0), batch=True)
    [message] = smtp.to("bo@example.com")
    assert message["Subject"].strip() == "Your daily digest: what you missed"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = parts(message)["text/plain"]
    html = parts(message)["text/html"]
    assert "Quarterly results are in" in text and "Quarterly results are in" in html
    assert "Already seen post" not in text  # seen ones are left out
    assert "Board-only agenda" in text  # Bo belongs to the secret community: a mention
    assert "What about the budget?" in text  # an unanswered reply
    assert "Found it in the shared drive" in text  # under Bo's comment
    assert f"https://townhall.example.org/posts/{top.pk}/" in text
    assert DigestRun.objects.get(user=world.bo).outcome == "sent"
    # The scheduler running again in the same period starts nothing.
    assert schedule_due_digests(enqueue=send_digest.enqueue, user_ids=[world.bo.pk]) == []
    run_worker(config=WorkerConfig(interval=0, periodic_every=0), batch=True)
    assert len(smtp.to("bo@example.com")) == 1


@pytest.mark.django_db
def test_digest_skipped_when_nothing_is_new(world: World, smtp: Sink) -> None:
    _daily_from_midnight(world.cy)
    [run] = schedule_due_digests(user_ids=[world.cy.pk])
    assert deliver_digest(run_id=run.pk) == "empty"
    assert smtp.messages == []


@pytest.mark.django_db
def test_digest_never_shows_content_of_a_community_one_is_not_in(world: World, smtp: Sink) -> None:
    canary = "Qz7DigestCanary"
    _daily_from_midnight(world.cy)
    post_create(actor=world.ana, community=world.secret, body=f"{canary} @cy")
    [run] = schedule_due_digests(user_ids=[world.cy.pk])
    assert deliver_digest(run_id=run.pk) == "empty"
    assert all(canary not in m.as_string() for m in smtp.messages)


@pytest.mark.django_db
def test_digest_off_and_silenced_communities(world: World, smtp: Sink) -> None:
    from townhall.notifications.services import preferences_update

    _daily_from_midnight(world.bo, world.cy)
    post_create(actor=world.ana, community=world.public, body="Something new")
    preferences_update(actor=world.bo, digest=DigestFrequency.OFF)
    preferences_update(actor=world.cy, levels={world.public.pk: "none"})
    runs = schedule_due_digests(user_ids=[world.bo.pk, world.cy.pk])
    assert [r.user_id for r in runs] == [world.cy.pk]
    assert deliver_digest(run_id=runs[0].pk) == "empty"


@pytest.mark.django_db
def test_send_digests_command_sends_now_once(world: World, smtp: Sink) -> None:
    _daily_from_midnight(world.bo)
    for person in (world.ana, world.cy, world.outsider):
        PersonSettings.objects.create(user=person, digest=DigestFrequency.OFF)
    post_create(actor=world.ana, community=world.public, body="Fresh news")
    out = StringIO()
    call_command("send_digests", "--now", stdout=out)
    assert "1 digests due: 1 sent" in out.getvalue()
    call_command("send_digests", "--now", stdout=out)
    assert len(smtp.to("bo@example.com")) == 1
