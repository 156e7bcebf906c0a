from __future__ import annotations

from django.test import Client

from townhall.accounts.models import User


def signed_in(user: User) -> Client:
    """A test client with `user` signed in (session recorded like a real sign-in)."""
    from townhall.accounts.models import UserSession

    client = Client()
    client.force_login(user, backend="townhall.accounts.backends.EmailBackend")
    UserSession.objects.update_or_create(session_key=client.session.session_key, defaults={"user": user})
    return client
