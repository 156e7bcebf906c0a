from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from townhall.accounts import services
from townhall.accounts.models import Invitation, User
from townhall.core.errors import Conflict, PermissionDenied, ValidationFailed
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-fresh-long-password-9"


def _link_from_mail() -> str:
    body = mail.outbox[-1].body
    match = re.search(r"/invite/([\w-]+)", body)
    assert match, body
    return match.group(1)


def test_email_invitation_sent_after_commit_and_accepted(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create_email(actor=admin, email="New.Person@Example.com", role="member")
    assert mail.outbox[-1].to == ["new.person@example.com"]
    token = _link_from_mail()
    client = Client()
    page = client.get(reverse("accounts:invite", args=[token]))
    assert page.status_code == 200
    assert "new.person@example.com" in page.content.decode()
    response = client.post(
        reverse("accounts:invite", args=[token]), {"full_name": "New Person", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.profile is not None
    assert client.get(reverse("feed:home")).status_code == 200


def test_email_invitation_is_single_use(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create_email(actor=admin, email="once@example.com")
    token = _link_from_mail()
    services.invitation_accept(token=token, email="", full_name="Once", password=NEW_PASSWORD)
    count = User.objects.count()
    response = Client().post(reverse("accounts:invite", args=[token]), {"full_name": "Twice", "password": NEW_PASSWORD})
    assert response.status_code == 404
    assert "expired or has already been used" in response.content.decode()
    assert User.objects.count() == count


def test_expired_and_revoked_invitations_change_nothing(admin):
    _, token = services.invitation_create_link(actor=admin)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationFailed):
        services.invitation_accept(token=token, email="late@example.com", full_name="Late", password=NEW_PASSWORD)
    invitation, token2 = services.invitation_create_link(actor=admin)
    services.invitation_revoke(actor=admin, invitation_id=invitation.pk)
    with pytest.raises(ValidationFailed):
        services.invitation_accept(token=token2, email="late@example.com", full_name="Late", password=NEW_PASSWORD)
    assert not User.objects.filter(email="late@example.com").exists()


def test_link_invitation_allows_many_up_to_max(admin):
    _, token = services.invitation_create_link(actor=admin, max_uses=2)
    services.invitation_accept(token=token, email="a@frontline.example", full_name="A", password=NEW_PASSWORD)
    services.invitation_accept(token=token, email="b@frontline.example", full_name="B", password=NEW_PASSWORD)
    with pytest.raises(ValidationFailed):
        services.invitation_accept(token=token, email="c@frontline.example", full_name="C", password=NEW_PASSWORD)
    assert Invitation.objects.get().use_count == 2


def test_invitation_accept_bad_input_does_not_consume_the_invitation(admin):
    _, token = services.invitation_create_link(actor=admin, max_uses=1)
    UserFactory(email="taken@example.com")
    with pytest.raises(Conflict):
        services.invitation_accept(token=token, email="taken@example.com", full_name="T", password=NEW_PASSWORD)
    with pytest.raises(ValidationFailed):
        services.invitation_accept(token=token, email="weak@example.com", full_name="W", password="123")
    assert Invitation.objects.get().use_count == 0
    services.invitation_accept(token=token, email="ok@example.com", full_name="Ok", password=NEW_PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_single_use_invitation_race_lets_one_win():
    admin = UserFactory(role="admin")
    _, token = services.invitation_create_link(actor=admin, max_uses=1)
    results: list[str] = []

    def accept(n: int) -> None:
        from django.db import connection

        try:
            services.invitation_accept(
                token=token, email=f"racer{n}@example.com", full_name=f"R{n}", password=NEW_PASSWORD
            )
            results.append("ok")
        except ValidationFailed:
            results.append("refused")
        except Exception as exc:  # database lock errors would be a bug
            results.append(f"error {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "refused", "refused", "refused"]
    assert User.objects.filter(email__startswith="racer").count() == 1


def test_invitations_only_by_admins(member):
    with pytest.raises(PermissionDenied):
        services.invitation_create_email(actor=member, email="x@example.com")
    with pytest.raises(PermissionDenied):
        services.invitation_create_link(actor=member)
    assert not Invitation.objects.exists()


def test_invite_bad_email_via_page_changes_nothing(admin_client):
    response = admin_client.post(
        reverse("accounts:manage_invitations"), {"kind": "email", "e-email": "not-an-email", "e-role": "member"}
    )
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not Invitation.objects.exists()
    assert not mail.outbox


def test_invite_link_page_shows_link_once(admin_client):
    response = admin_client.post(
        reverse("accounts:manage_invitations"), {"kind": "link", "l-role": "member", "l-max_uses": "30", "l-days": "7"}
    )
    assert response.status_code == 200
    assert "/invite/" in response.context["new_link"]
    again = admin_client.get(reverse("accounts:manage_invitations"))
    assert response.context["new_link"] not in again.content.decode()


def test_unknown_invite_token_is_404():
    response = Client().get(reverse("accounts:invite", args=["nope"]))
    assert response.status_code == 404
