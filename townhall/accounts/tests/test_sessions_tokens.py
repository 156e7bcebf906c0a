from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from townhall.accounts import services
from townhall.accounts.models import ApiToken, UserSession
from townhall.accounts.selectors import token_authenticate
from townhall.core.errors import NotFound, ValidationFailed
from townhall.testing.clients import signed_in
from townhall.testing.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _browser(user) -> Client:
    client = Client(HTTP_USER_AGENT="Firefox test")
    client.post(reverse("accounts:signin"), {"email": user.email, "password": TEST_PASSWORD})
    return client


def test_sessions_page_lists_each_browser():
    user = UserFactory()
    first, _second = _browser(user), _browser(user)
    page = first.get(reverse("accounts:sessions"))
    assert page.status_code == 200
    assert page.content.decode().count("Firefox test") == 2
    assert "This browser" in page.content.decode()


def test_session_end_signs_out_that_browser_only():
    user = UserFactory()
    first, second = _browser(user), _browser(user)
    other = UserSession.objects.get(session_key=second.cookies["sessionid"].value)
    response = first.post(reverse("accounts:session_end", args=[other.pk]))
    assert response.status_code == 302
    assert second.get(reverse("feed:home")).status_code == 302
    assert first.get(reverse("accounts:sessions")).status_code == 200


def test_session_end_of_someone_else_is_404():
    owner, intruder = UserFactory(), UserFactory()
    _browser(owner)
    record = UserSession.objects.get(user=owner)
    response = signed_in(intruder).post(reverse("accounts:session_end", args=[record.pk]))
    assert response.status_code == 404
    assert UserSession.objects.filter(pk=record.pk).exists()


def test_sign_out_everywhere_ends_all_sessions():
    user = UserFactory()
    first, second = _browser(user), _browser(user)
    response = first.post(reverse("accounts:sessions_end_all"))
    assert response.status_code == 302
    assert not UserSession.objects.filter(user=user).exists()
    for client in (first, second):
        assert client.get(reverse("feed:home")).status_code == 302


def test_deactivation_ends_sessions_and_tokens_at_once():
    admin, user = UserFactory(role="admin"), UserFactory()
    browser = _browser(user)
    _, secret = services.token_create(actor=user, name="script", scopes=["read"])
    assert token_authenticate(secret=secret) is not None
    services.user_deactivate(actor=admin, user=user)
    assert browser.get(reverse("feed:home")).status_code == 302
    assert token_authenticate(secret=secret) is None
    assert not Session.objects.filter(session_key=browser.cookies["sessionid"].value).exists()


def test_token_create_shows_secret_once_and_stores_only_hash(member_client, member):
    response = member_client.post(reverse("accounts:tokens"), {"name": "Report", "scopes": ["read"]})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=member)
    secret = response.context["created_secret"]
    assert secret.startswith(f"th_{token.prefix}_")
    assert secret not in token.token_hash
    assert secret not in member_client.get(reverse("accounts:tokens")).content.decode()


def test_token_create_rejects_bad_input_and_writes_nothing(member_client, member):
    response = member_client.post(reverse("accounts:tokens"), {"name": "", "scopes": ["admin"]})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
    with pytest.raises(ValidationFailed):
        services.token_create(actor=member, name="x", scopes=[])


def test_token_revoke_by_owner_only(member):
    other = UserFactory()
    token, secret = services.token_create(actor=member, name="t", scopes=["read", "write"])
    with pytest.raises(NotFound):
        services.token_revoke(actor=other, token_id=token.pk)
    assert token_authenticate(secret=secret) is not None
    response = signed_in(member).post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert token_authenticate(secret=secret) is None


def test_last_seen_is_written_at_most_every_five_minutes_without_saving_the_session(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from townhall.accounts import middleware

    user = UserFactory()
    browser = _browser(user)
    key = browser.cookies["sessionid"].value
    record = UserSession.objects.get(session_key=key)
    long_ago = timezone.now() - timedelta(days=1)
    UserSession.objects.filter(pk=record.pk).update(last_seen_at=long_ago)
    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "monotonic", lambda: clock[0])
    middleware._touched.pop(key, None)
    session_before = Session.objects.get(session_key=key).session_data

    assert browser.get(reverse("accounts:sessions")).status_code == 200
    seen = UserSession.objects.get(pk=record.pk).last_seen_at
    assert seen > long_ago
    # Touching `last seen` never rewrites the session itself.
    assert Session.objects.get(session_key=key).session_data == session_before

    UserSession.objects.filter(pk=record.pk).update(last_seen_at=long_ago)
    clock[0] += middleware.TOUCH_EVERY.total_seconds() - 1
    browser.get(reverse("accounts:sessions"))
    assert UserSession.objects.get(pk=record.pk).last_seen_at == long_ago  # within 5 minutes: no write

    clock[0] += 2
    browser.get(reverse("accounts:sessions"))
    assert UserSession.objects.get(pk=record.pk).last_seen_at > long_ago
