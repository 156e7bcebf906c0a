"""Mail goes through a real SMTP server on loopback (aiosmtpd), not a mock."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from townhall.accounts import services
from townhall.testing.factories import UserFactory


class _Collect(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
        self.messages.append(email.message_from_bytes(message.as_bytes(), policy=policy.default))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_sink(settings):
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.mark.django_db
def test_invitation_arrives_over_smtp_as_text_and_html(smtp_sink, django_capture_on_commit_callbacks):
    admin = UserFactory(role="admin", full_name="Ada Admin")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create_email(actor=admin, email="frontline@example.com")
    assert len(smtp_sink.messages) == 1
    received = smtp_sink.messages[0]
    assert received["To"] == "frontline@example.com"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "Ada Admin invited you" in text and "/invite/" in text
    assert "<a href=" in html


@pytest.mark.django_db
def test_nothing_is_mailed_when_the_transaction_rolls_back(smtp_sink):
    from django.db import transaction

    admin = UserFactory(role="admin")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.invitation_create_email(actor=admin, email="never@example.com")
        raise RuntimeError("abort")
    assert smtp_sink.messages == []
