from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from townhall.accounts.models import User
from townhall.core.prepared import Prepared

# The signed-in person of every request (see get_user), compiled once.
_SIGNED_IN = Prepared(
    "accounts.signed_in_user",
    lambda *, user: User.objects.select_related("profile").filter(pk=user, is_active=True)[:1],
    ints=("user",),
)


class EmailBackend(ModelBackend):
    """Email + password, case-insensitive on the email.

    An unknown email still runs the hasher once so timing does not reveal whether an
    account exists.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        email = (kwargs.get("email") or username or "").strip().lower()
        if not email or password is None:
            return None
        user = User.objects.filter(email=email).first()
        if user is None:
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: int) -> User | None:  # type: ignore[override]
        # The profile (the directory's one-to-one, named by string: no import) is
        # joined in: every signed-in page shows the person's avatar in the top bar,
        # which would otherwise cost a second query per request.
        if not isinstance(user_id, int):  # a session from elsewhere: the ORM judges it
            return User.objects.select_related("profile").filter(pk=user_id, is_active=True).first()
        return next(iter(_SIGNED_IN(user=user_id)), None)
