"""Outgoing notification and digest email, sent once.

Each message is HTML plus plain text with absolute links (BASE_URL), comes from the
site's address (replies reach no person), and carries RFC 8058 one-click unsubscribe
headers for its kind. `send_once` claims a Delivery row before talking to the SMTP
server, so no retry or restarted worker ever sends the same message twice.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from townhall.notifications.models import Delivery
from townhall.notifications.services import unsubscribe_token

logger = logging.getLogger(__name__)


class SendFailed(Exception):
    """The SMTP server could not be reached or refused the message (retryable)."""


def absolute(path: str) -> str:
    return path if path.startswith(("http://", "https://")) else f"{settings.BASE_URL}{path}"


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    return absolute(reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, kind=kind)]))


def build_message(
    *, to: str, subject: str, template: str, context: dict[str, Any], user_id: int, unsubscribe_kind: str, key: str
) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(user_id=user_id, kind=unsubscribe_kind)
    context = {
        "base_url": settings.BASE_URL,
        "unsubscribe_url": unsubscribe,
        "settings_url": absolute(reverse("notifications:preferences")),
        **context,
    }
    text = render_to_string(f"notifications/email/{template}.txt", context)
    html = render_to_string(f"notifications/email/{template}.html", context)
    domain = urlsplit(settings.BASE_URL).hostname or "localhost"
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        # The same id on every attempt lets a receiving server drop a duplicate too.
        "Message-ID": make_msgid(idstring=key.replace(":", "."), domain=domain),
    }
    # One line: a name or a quoted post may hold line breaks, which a mail header may
    # not (Django raises BadHeaderError; the XSS corpus found it).
    subject = " ".join(subject.split())
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def send_once(
    *, key: str, user_id: int, build: Callable[[], EmailMultiAlternatives | None], now: datetime | None = None
) -> str:
    """Send the message `build()` makes at most once for `key`. Returns the Delivery's
    status: `sent`; `skipped` when build() returned None; `sending`/`unknown` when a
    worker claimed it before (if that worker died mid-send, the message may or may not
    have left: it is not sent again). Raises SendFailed (the row goes back to pending)
    when the SMTP server fails, so the task can be retried."""
    now = now or timezone.now()
    delivery, _ = Delivery.objects.get_or_create(key=key, defaults={"user_id": user_id})
    claimed = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING, claimed_at=now
    )
    if not claimed:
        delivery.refresh_from_db()
        if delivery.status == Delivery.Status.SENDING:
            logger.warning("Email %s was claimed by a worker that did not finish; not sending it again", key)
            Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
                status=Delivery.Status.UNKNOWN
            )
            return Delivery.Status.UNKNOWN
        return delivery.status
    message = build()
    if message is None:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SKIPPED)
        return Delivery.Status.SKIPPED
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING, reason=str(exc)[:200])
        raise SendFailed(str(exc)) from exc
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT, sent_at=timezone.now())
    return Delivery.Status.SENT


def skip(*, key: str, user_id: int, reason: str) -> str:
    """Record that `key` will not be sent (and why), unless it already went."""
    delivery, _ = Delivery.objects.get_or_create(key=key, defaults={"user_id": user_id})
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, reason=reason[:200]
    )
    return f"skipped: {reason}"
