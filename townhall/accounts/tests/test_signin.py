from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from townhall.accounts.models import UserSession
from townhall.testing.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _post_signin(client: Client, email: str, password: str, **extra: str):
    return client.post(reverse("accounts:signin"), {"email": email, "password": password, **extra})


def _without_tokens(body: bytes, email: str) -> str:
    # CSRF tokens are masked differently on every response; everything else must match.
    text = body.decode().replace(email, "EMAIL")
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", text)


def test_signin_success_rotates_session_and_records_it():
    user = UserFactory(email="ana@example.com")
    client = Client()
    client.get(reverse("accounts:signin"))
    before = client.cookies.get("sessionid")
    response = _post_signin(client, "ANA@example.com", TEST_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("feed:home")
    key = client.cookies["sessionid"].value
    assert before is None or before.value != key
    assert UserSession.objects.filter(user=user, session_key=key).exists()


def test_signin_wrong_password_and_unknown_account_answer_identically():
    UserFactory(email="ana@example.com")
    wrong = _post_signin(Client(), "ana@example.com", "not-the-password")
    unknown = _post_signin(Client(), "nobody@example.com", "not-the-password")
    assert wrong.status_code == unknown.status_code == 400
    assert "The email or password is not correct." in wrong.content.decode()
    assert _without_tokens(wrong.content, "ana@example.com") == _without_tokens(unknown.content, "nobody@example.com")


def test_signin_throttles_before_hashing(monkeypatch):
    UserFactory(email="ana@example.com")
    calls = []
    from townhall.accounts import backends

    original = backends.EmailBackend.authenticate

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(backends.EmailBackend, "authenticate", counting)
    client = Client()
    for _ in range(8):
        assert _post_signin(client, "ana@example.com", "wrong-password").status_code == 400
    throttled = _post_signin(client, "ana@example.com", TEST_PASSWORD)
    assert throttled.status_code == 429
    assert "Too many sign-in attempts" in throttled.content.decode()
    assert len(calls) == 8  # the ninth attempt never reached the hasher


def test_signin_deactivated_user_refused():
    UserFactory(email="gone@example.com", is_active=False)
    response = _post_signin(Client(), "gone@example.com", TEST_PASSWORD)
    assert response.status_code == 400


def test_signin_next_only_follows_local_urls():
    UserFactory(email="ana@example.com")
    evil = _post_signin(Client(), "ana@example.com", TEST_PASSWORD, next="https://evil.example/")
    assert evil["Location"] == reverse("feed:home")
    local = _post_signin(Client(), "ana@example.com", TEST_PASSWORD, next="/people/")
    assert local["Location"] == "/people/"


def test_signin_requires_csrf_token():
    UserFactory(email="ana@example.com")
    client = Client(enforce_csrf_checks=True)
    response = _post_signin(client, "ana@example.com", TEST_PASSWORD)
    assert response.status_code == 403
    assert not Session.objects.exists()


def test_signout_ends_session():
    user = UserFactory()
    client = Client()
    _post_signin(client, user.email, TEST_PASSWORD)
    assert UserSession.objects.filter(user=user).count() == 1
    response = client.post(reverse("accounts:signout"))
    assert response.status_code == 302
    assert UserSession.objects.filter(user=user).count() == 0
    assert client.get(reverse("feed:home")).status_code == 302


def test_pages_require_signin(client):
    response = client.get(reverse("feed:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:signin"))
