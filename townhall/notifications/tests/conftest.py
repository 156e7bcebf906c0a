"""A real SMTP server on loopback (aiosmtpd) that the tests send through, and a few
people and places to notify about."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from townhall.accounts.models import User
from townhall.communities.models import Community
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory


@dataclass
class Sink:
    """What the SMTP server received: one parsed message per delivery."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    refuse: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Try again later"
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def parts(message: Message) -> dict[str, str]:
    """content type -> decoded text of each part."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Sink]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.BASE_URL = "https://townhall.example.org"
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class World:
    ana: User
    bo: User
    cy: User
    outsider: User
    public: Community
    secret: Community


@pytest.fixture
def world(db: Any) -> World:
    ana = UserFactory(email="ana@example.com", full_name="Ana Alves")
    bo = UserFactory(email="bo@example.com", full_name="Bo Berg")
    cy = UserFactory(email="cy@example.com", full_name="Cy Chen")
    outsider = UserFactory(email="olly@example.com", full_name="Olly Outside")
    public = CommunityFactory(name="Design", slug="design", admin=ana, members=[bo, cy, outsider])
    secret = CommunityFactory(name="Board", slug="board", visibility="secret", admin=ana, members=[bo])
    return World(ana=ana, bo=bo, cy=cy, outsider=outsider, public=public, secret=secret)
