from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from townhall.accounts.models import User
from townhall.accounts.selectors import organisation_get
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_domain(db):
    org = organisation_get()
    org.allowed_domains = ["acme.example"]
    org.save()
    return org


def test_signup_closed_without_allowed_domains(client):
    response = client.get(reverse("accounts:signup"))
    assert "by invitation" in response.content.decode()


def test_signup_rejects_other_domains(client, open_domain):
    response = client.post(reverse("accounts:signup"), {"email": "someone@gmail.example"})
    assert response.status_code == 400
    assert "only to the organisation" in response.content.decode()
    assert not mail.outbox


def test_signup_full_flow(client, open_domain, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:signup"), {"email": "Kim@Acme.example"})
    assert response.status_code == 200
    assert not User.objects.filter(email="kim@acme.example").exists()
    path = re.search(r"(/signup/confirm/\S+)", mail.outbox[-1].body).group(1)
    page = client.post(path, {"full_name": "Kim Lee", "password": "a-long-enough-password"})
    assert page.status_code == 302
    assert User.objects.get(email="kim@acme.example").role == "member"


def test_signup_existing_account_gets_reminder_not_a_second_account(
    client, open_domain, django_capture_on_commit_callbacks
):
    UserFactory(email="kim@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:signup"), {"email": "kim@acme.example"})
    assert response.status_code == 200  # same answer as for a new address
    assert "already has an account" in mail.outbox[-1].body
    assert User.objects.filter(email="kim@acme.example").count() == 1


def test_signup_tampered_token_refused(client, open_domain):
    response = client.get(reverse("accounts:signup_confirm", args=["forged:token"]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_password_reset_full_flow_ends_other_sessions():
    user = UserFactory(email="ana@example.com")
    other_browser = Client()
    other_browser.post(reverse("accounts:signin"), {"email": "ana@example.com", "password": "correct-horse-battery-42"})
    client = Client()
    response = client.post(reverse("accounts:password_reset"), {"email": "ANA@example.com"})
    assert response.status_code == 302
    link = re.search(r"https?://[^/]+(/password-reset/\S+)", mail.outbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "brand-new-password-7", "new_password2": "brand-new-password-7"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-password-7")
    assert other_browser.get(reverse("feed:home")).status_code == 302


def test_password_reset_unknown_email_same_answer_no_mail(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "ghost@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_sent")
    assert not mail.outbox
