"""Outgoing account email. Called from services after commit, never before."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send(*, to: str, subject: str, template: str, context: dict[str, object]) -> None:
    context = {"base_url": settings.BASE_URL, **context}
    text = render_to_string(f"accounts/email/{template}.txt", context)
    html = render_to_string(f"accounts/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
