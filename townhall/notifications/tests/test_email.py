"""Email through a real SMTP server on loopback: what arrives, one-click unsubscribe,
quiet hours with a fixed clock, and exactly-once delivery across retries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from townhall.core.worker import WorkerConfig, run_worker
from townhall.directory.models import Profile
from townhall.notifications import services
from townhall.notifications.delivery import deliver_notification
from townhall.notifications.emails import SendFailed
from townhall.notifications.kinds import Channel, Kind
from townhall.notifications.models import Delivery, Notification, Preference
from townhall.notifications.tests.conftest import Sink, World, parts
from townhall.posts.services import post_create


def _worker() -> None:
    run_worker(config=WorkerConfig(interval=0, retry_backoff=0, periodic_every=0), batch=True)


def _unsubscribe_path(message: Any) -> str:
    header = message["List-Unsubscribe"].strip()
    match = re.fullmatch(r"<https://townhall\.example\.org(/notifications/unsubscribe/[^>]+)>", header)
    assert match, header
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_mention_email_arrives_through_smtp_with_both_parts_and_unsubscribe(world: World, smtp: Sink) -> None:
    post = post_create(actor=world.ana, community=world.public, body="Budget draft for @bo: see the numbers")
    _worker()
    [message] = smtp.to("bo@example.com")
    assert message["Subject"].strip() == "Ana Alves mentioned you in “Budget draft for @bo: see the numbers”"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"] == "Townhall <townhall@localhost>"
    body = parts(message)
    link = f"https://townhall.example.org/posts/{post.pk}/"
    assert link in body["text/plain"] and f'href="{link}"' in body["text/html"]
    assert "Budget draft" in body["text/plain"]
    # One-click: a POST without a session or CSRF token switches this kind off.
    path = _unsubscribe_path(message)
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(path)
    assert page.status_code == 200 and b"Unsubscribe?" in page.content
    assert not Preference.objects.filter(user=world.bo).exists()  # GET changes nothing
    done = anonymous.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and b"unsubscribed" in done.content
    assert Preference.objects.get(user=world.bo, kind=Kind.MENTION, channel=Channel.EMAIL).enabled is False
    # The next mention stays in the app only.
    post_create(actor=world.ana, community=world.public, body="Again @bo")
    _worker()
    assert len(smtp.to("bo@example.com")) == 1
    assert Notification.objects.filter(recipient=world.bo).count() == 2


@pytest.mark.django_db
def test_forged_unsubscribe_token_is_404(client: Client) -> None:
    assert client.get("/notifications/unsubscribe/forged:token").status_code == 404
    assert client.post("/notifications/unsubscribe/forged:token").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_email_is_sent_once_when_the_task_runs_again(world: World, smtp: Sink) -> None:
    post_create(actor=world.ana, community=world.public, body="Hello @bo")
    row = Notification.objects.get(recipient=world.bo)
    _worker()
    assert deliver_notification(notification_id=row.pk) == "sent"  # a second run: the Delivery says sent
    from townhall.notifications.tasks import send_notification_email

    send_notification_email.enqueue(row.pk)
    _worker()
    assert len(smtp.to("bo@example.com")) == 1
    assert Delivery.objects.get(key=f"notification:{row.pk}").status == Delivery.Status.SENT


@pytest.mark.django_db
def test_worker_killed_after_claiming_sends_no_duplicate(
    world: World, smtp: Sink, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="Hello @bo")
    row = Notification.objects.get(recipient=world.bo)
    # A worker claimed the delivery and died before recording the result.
    Delivery.objects.create(key=f"notification:{row.pk}", user=world.bo, status=Delivery.Status.SENDING)
    assert deliver_notification(notification_id=row.pk) == Delivery.Status.UNKNOWN
    assert deliver_notification(notification_id=row.pk) == Delivery.Status.UNKNOWN
    assert smtp.messages == []


@pytest.mark.django_db
def test_smtp_failure_is_retryable_and_sends_once_later(
    world: World, smtp: Sink, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="Hello @bo")
    row = Notification.objects.get(recipient=world.bo)
    smtp.refuse = True
    with pytest.raises(SendFailed):
        deliver_notification(notification_id=row.pk)
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    smtp.refuse = False
    assert deliver_notification(notification_id=row.pk) == "sent"
    assert deliver_notification(notification_id=row.pk) == "sent"
    assert len(smtp.messages) == 1


def _working_hours(person: Any, zone: str, start: time, end: time) -> None:
    Profile.objects.filter(user=person).update(timezone=zone, working_hours_start=start, working_hours_end=end)


@pytest.mark.django_db
def test_quiet_hours_defer_email_to_the_next_working_morning(
    world: World, smtp: Sink, django_capture_on_commit_callbacks: Any
) -> None:
    _working_hours(world.bo, "Europe/Lisbon", time(9, 0), time(17, 30))
    with django_capture_on_commit_callbacks(execute=True):
        post_create(actor=world.ana, community=world.public, body="Late-night @bo ping")
    row = Notification.objects.get(recipient=world.bo)
    night = datetime(2026, 1, 14, 22, 15, tzinfo=UTC)  # 22:15 in Lisbon (winter, UTC+0)
    deferred: list[datetime] = []
    assert deliver_notification(notification_id=row.pk, now=night, defer=deferred.append).startswith("deferred")
    assert deferred == [datetime(2026, 1, 15, 9, 0, tzinfo=UTC)]
    assert smtp.messages == []
    morning = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert deliver_notification(notification_id=row.pk, now=morning) == "sent"
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_urgent_email_goes_through_quiet_hours(world: World, smtp: Sink) -> None:
    _working_hours(world.bo, "America/New_York", time(9, 0), time(17, 0))
    post = post_create(actor=world.ana, community=world.public, body="Office closed today")
    [row] = services.notify(
        kind=Kind.COMMUNITY_POST,
        recipient_ids=[world.bo.pk],
        actor_id=world.ana.pk,
        target_type="post",
        target_id=post.pk,
        urgent=True,
    )
    Preference.objects.create(user=world.bo, kind=Kind.COMMUNITY_POST, channel=Channel.EMAIL, enabled=True)
    three_am = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 03:00 in New York
    assert deliver_notification(notification_id=row.pk, now=three_am) == "sent"
    assert len(smtp.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_deferred_email_is_requeued_for_the_worker(world: World, smtp: Sink) -> None:
    now = timezone.now()
    # Working hours that exclude the present moment, in UTC.
    start = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    _working_hours(world.bo, "UTC", start, end)
    post_create(actor=world.ana, community=world.public, body="Ping @bo")
    _worker()
    assert smtp.messages == []
    later = DBTaskResult.objects.filter(status=TaskResultStatus.READY).get()
    assert later.run_after is not None and later.run_after > now + timedelta(hours=1)


@pytest.mark.django_db(transaction=True)
def test_canary_private_content_never_emails_a_non_member(world: World, smtp: Sink) -> None:
    canary = "Kw4PrivateMailCanary"
    post_create(actor=world.ana, community=world.secret, body=f"{canary} @cy @olly @bo")
    _worker()
    for message in smtp.messages:
        assert message["To"] == "bo@example.com"
    assert len(smtp.messages) == 1
    # Content that becomes hidden before the worker runs is not sent either.
    post = post_create(actor=world.ana, community=world.public, body=f"{canary} second @olly")
    from townhall.communities.services import community_update

    community_update(actor=world.ana, community=world.public, visibility="secret")
    world.public.memberships.filter(user=world.outsider).delete()
    _worker()
    assert smtp.to("olly@example.com") == []
    assert all(canary not in str(m) for m in smtp.messages if m["To"] != "bo@example.com")
    assert post.pk
