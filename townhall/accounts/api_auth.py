"""API authentication: the web app's session (with CSRF) or a personal access token.

Write operations require the token's `write` scope; session callers have both.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from townhall.accounts.models import Scope, User
from townhall.accounts.selectors import token_authenticate
from townhall.accounts.services import token_touch

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = token_authenticate(secret=token)
        if found is None:
            return None
        user, api_token = found
        if request.method not in SAFE_METHODS and Scope.WRITE not in api_token.scopes:
            return None
        if Scope.READ not in api_token.scopes and request.method in SAFE_METHODS:
            return None
        token_touch(token=api_token)
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser's session cookie; CSRF is enforced on unsafe methods."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def current_user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user
