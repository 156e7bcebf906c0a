"""Daily or weekly digests: what one missed, by email, skipped when there is nothing.

Scheduling: the periodic job (every worker's housekeeping, see core/periodic.py) and
`townhall send-digests` call `schedule_due_digests`, which creates one DigestRun per
(person, period) whose send time has passed (the start of their working day, 08:00
local without working hours; Mondays for weekly) and enqueues its task. The unique
(person, period) key means several workers, or a command run beside them, never start
a period twice; the Delivery key means a run's task never emails twice.

The content comes from the domain apps (registry.register_digest_source): top posts of
one's communities one has not seen, mentions, unanswered replies, each filtered by the
same visibility oracle as every other read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from townhall.notifications import quiet, registry
from townhall.notifications.emails import absolute, build_message, send_once
from townhall.notifications.kinds import DEFAULT_DIGEST, DIGEST_KINDS, Channel, DigestFrequency
from townhall.notifications.models import DigestRun, PersonSettings
from townhall.notifications.selectors import digest_frequency, enabled_among, silenced_community_ids
from townhall.notifications.services import DIGEST

SEND_AT = time(8, 0)  # local time, for people without working hours
PERIOD = {DigestFrequency.DAILY: timedelta(days=1), DigestFrequency.WEEKLY: timedelta(days=7)}


def period_of(frequency: str, local: datetime, start: time | None) -> tuple[str, datetime]:
    """The period key containing `local` and the moment (local) its digest is due."""
    send_at = start or SEND_AT
    if frequency == DigestFrequency.DAILY:
        day = local.date()
        return f"d{day.isoformat()}", datetime.combine(day, send_at, tzinfo=local.tzinfo)
    monday = local.date() - timedelta(days=local.weekday())
    year, week, _ = local.isocalendar()
    return f"w{year}-W{week:02d}", datetime.combine(monday, send_at, tzinfo=local.tzinfo)


def schedule_due_digests(
    *, now: datetime | None = None, enqueue: Callable[[int], Any] | None = None, user_ids: list[int] | None = None
) -> list[DigestRun]:
    """Create the DigestRuns that are due and not yet created, and enqueue each
    (after commit). Idempotent: a second call in the same period creates nothing.
    Returns the runs created."""
    now = now or timezone.now()
    people = get_user_model().objects.filter(is_active=True)
    if user_ids is not None:
        people = people.filter(pk__in=user_ids)
    ids = list(people.values_list("pk", flat=True))
    chosen = dict(PersonSettings.objects.filter(user_id__in=ids).values_list("user_id", "digest"))
    hours = registry.working_hours(ids)
    due: dict[int, tuple[str, str]] = {}
    for uid in ids:
        frequency = chosen.get(uid, DEFAULT_DIGEST)
        if frequency == DigestFrequency.OFF:
            continue
        person_hours = hours.get(uid)
        local = quiet.local_time(person_hours, now)
        key, due_at = period_of(frequency, local, person_hours.start if person_hours else None)
        if local >= due_at:
            due[uid] = (key, frequency)
    if not due:
        return []
    existing = set(
        DigestRun.objects.filter(user_id__in=list(due), period__in={key for key, _ in due.values()}).values_list(
            "user_id", "period"
        )
    )
    last = dict(
        DigestRun.objects.filter(user_id__in=list(due))
        .values("user_id")
        .annotate(at=Max("created_at"))
        .values_list("user_id", "at")
    )
    created: list[DigestRun] = []
    for uid, (key, frequency) in due.items():
        if (uid, key) in existing:
            continue
        since = last.get(uid) or now - PERIOD[DigestFrequency(frequency)]
        try:
            with transaction.atomic():
                run = DigestRun.objects.create(user_id=uid, period=key, since=since)
        except IntegrityError:  # another worker started this period first
            continue
        created.append(run)
        if enqueue is not None:
            transaction.on_commit(partial(enqueue, run.pk), robust=True)
    return created


def digest_for(*, person: Any, since: datetime, until: datetime) -> list[registry.DigestSection]:
    """The digest's sections for one person (empty sections dropped)."""
    kinds = frozenset(
        kind
        for kind in DIGEST_KINDS
        if person.pk in enabled_among(user_ids=[person.pk], kind=kind, channel=Channel.DIGEST)
    )
    if not kinds:
        return []
    request = registry.DigestRequest(
        person=person,
        since=since,
        until=until,
        kinds=frozenset(str(kind) for kind in kinds),
        silenced_community_ids=silenced_community_ids(user_id=person.pk),
    )
    return registry.digest_sections(request)


def deliver_digest(*, run_id: int, now: datetime | None = None) -> str:
    """Send one DigestRun's email, once; skipped ("empty") when nothing is new and
    ("off") when the person switched digests off since. Returns the outcome."""
    run = DigestRun.objects.select_related("user").filter(pk=run_id).first()
    if run is None:
        return "gone"
    if run.outcome:
        return run.outcome
    person = run.user
    outcome: str
    if not person.is_active or not person.email or digest_frequency(user_id=person.pk) == DigestFrequency.OFF:
        outcome = "off"
    else:
        sections = digest_for(person=person, since=run.since, until=run.created_at)
        if not sections:
            outcome = "empty"
        else:
            frequency = digest_frequency(user_id=person.pk)
            label = "daily" if frequency == DigestFrequency.DAILY else "weekly"

            def build() -> Any:
                return build_message(
                    to=person.email,
                    subject=f"Your {label} digest: what you missed",
                    template="digest",
                    context={
                        "person": person,
                        "label": label,
                        "sections": [
                            {
                                "title": section.title,
                                "items": [
                                    {"title": i.title, "url": absolute(i.url), "meta": i.meta} for i in section.items
                                ],
                            }
                            for section in sections
                        ],
                    },
                    user_id=person.pk,
                    unsubscribe_kind=DIGEST,
                    key=f"digest:{run.pk}",
                )

            outcome = str(send_once(key=f"digest:{run.pk}", user_id=person.pk, build=build, now=now))
    DigestRun.objects.filter(pk=run.pk).update(outcome=outcome)
    return outcome
