"""`/api/v1/me` and `/api/v1/tokens`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from townhall.accounts.models import ApiToken, User
from townhall.accounts.services import token_create, token_revoke, user_create

pytestmark = pytest.mark.django_db


def another_user() -> User:
    # Not the shared factories: they import directory, which accounts may not.
    return user_create(email="someone.else@example.com", full_name="Someone Else", password=None)


def bearer(user: User, *scopes: str) -> dict[str, str]:
    _, secret = token_create(actor=user, name="test", scopes=list(scopes or ("read", "write")))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def post_json(client: Client, path: str, body: Any, **headers: str) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


# --- /me -------------------------------------------------------------------------


def test_me_returns_the_session_caller(member: User, member_client: Client) -> None:
    response = member_client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": member.pk,
        "email": member.email,
        "full_name": member.full_name,
        "preferred_name": "",
        "display_name": member.display_name,
        "role": "member",
    }


def test_me_returns_the_token_owner(guest: User) -> None:
    response = Client().get("/api/v1/me", **bearer(guest, "read"))

    assert response.status_code == 200
    assert response.json()["id"] == guest.pk
    assert response.json()["role"] == "guest"


def test_me_without_credentials_answers_401(db: None) -> None:
    response = Client().get("/api/v1/me")

    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- GET /tokens -----------------------------------------------------------------


def test_tokens_list_shows_only_the_callers_live_tokens(member: User, member_client: Client) -> None:
    mine, _ = token_create(actor=member, name="CI", scopes=["read"])
    revoked, _ = token_create(actor=member, name="old", scopes=["read"])
    token_revoke(actor=member, token_id=revoked.pk)
    token_create(actor=another_user(), name="theirs", scopes=["read"])

    response = member_client.get("/api/v1/tokens")

    assert response.status_code == 200
    assert [t["id"] for t in response.json()] == [mine.pk]
    assert set(response.json()[0]) == {"id", "name", "prefix", "scopes", "created_at", "last_used_at", "expires_at"}
    assert response.json()[0]["scopes"] == ["read"]


def test_tokens_list_records_last_use_of_the_token(member: User) -> None:
    response = Client().get("/api/v1/tokens", **bearer(member, "read"))

    assert response.status_code == 200
    assert response.json()[0]["last_used_at"] is not None


def test_tokens_list_never_shows_secrets(member: User, member_client: Client) -> None:
    _, secret = token_create(actor=member, name="CI", scopes=["read"])

    response = member_client.get("/api/v1/tokens")

    assert secret not in response.content.decode()
    assert "token_hash" not in response.content.decode()


# --- POST /tokens ----------------------------------------------------------------


def test_tokens_create_returns_the_secret_once_and_it_works(member: User, member_client: Client) -> None:
    response = post_json(member_client, "/api/v1/tokens", {"name": "Laptop", "scopes": ["write", "read"]})

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Laptop"
    assert body["scopes"] == ["read", "write"]
    assert body["expires_at"] is None
    assert body["secret"].startswith(f"th_{body['prefix']}_")
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['secret']}").json()["id"] == member.pk
    assert body["secret"] not in member_client.get("/api/v1/tokens").content.decode()


def test_tokens_create_with_expiry_sets_the_expiry(member_client: Client) -> None:
    response = post_json(member_client, "/api/v1/tokens", {"name": "Short", "scopes": ["read"], "expires_days": 7})

    assert response.status_code == 201
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.expires_at is not None
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_tokens_create_with_a_write_token_is_allowed(member: User) -> None:
    response = post_json(
        Client(), "/api/v1/tokens", {"name": "Child", "scopes": ["read"]}, **bearer(member, "read", "write")
    )

    assert response.status_code == 201
    assert ApiToken.objects.filter(user=member, name="Child").exists()


def test_tokens_create_with_a_read_only_token_answers_401(member: User) -> None:
    response = post_json(Client(), "/api/v1/tokens", {"name": "Child", "scopes": ["write"]}, **bearer(member, "read"))

    assert_error(response, 401, "unauthenticated")
    assert not ApiToken.objects.filter(name="Child").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x" * 81, "scopes": ["read"]}, "name"),
        ({"name": "   ", "scopes": ["read"]}, "name"),
        ({"name": "ok", "scopes": []}, "scopes"),
        ({"name": "ok", "scopes": ["admin"]}, "scopes.0"),
        ({"name": "ok", "scopes": "read"}, "scopes"),
        ({"name": "ok", "scopes": ["read"], "expires_days": 0}, "expires_days"),
        ({"name": "ok", "scopes": ["read"], "expires_days": 366}, "expires_days"),
        ({"name": "ok", "scopes": ["read"], "expires_days": "soon"}, "expires_days"),
        ({"name": 12, "scopes": ["read"]}, "name"),
        ({"name": "nul\x00", "scopes": ["read"]}, "name"),
        ({"scopes": ["read"]}, "name"),
    ],
)
def test_tokens_create_invalid_input_answers_422_naming_the_field(
    member_client: Client, body: dict[str, Any], field: str
) -> None:
    error = assert_error(post_json(member_client, "/api/v1/tokens", body), 422, "invalid")

    assert field in error["fields"]
    assert not ApiToken.objects.exists()


def test_tokens_create_malformed_json_answers_400(member_client: Client) -> None:
    response = member_client.post("/api/v1/tokens", data="{'name': ", content_type="application/json")

    assert_error(response, 400, "bad_request")


def test_tokens_create_past_50_live_tokens_answers_422(member: User, member_client: Client) -> None:
    for n in range(50):
        token_create(actor=member, name=f"t{n}", scopes=["read"])

    response = post_json(member_client, "/api/v1/tokens", {"name": "one more", "scopes": ["read"]})

    assert_error(response, 422, "invalid")
    assert ApiToken.objects.filter(user=member).count() == 50


# --- DELETE /tokens/{id} ---------------------------------------------------------


def test_tokens_revoke_own_token_answers_204_and_it_stops_working(member: User, member_client: Client) -> None:
    token, secret = token_create(actor=member, name="CI", scopes=["read"])

    response = member_client.delete(f"/api/v1/tokens/{token.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert_error(Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}"), 401, "unauthenticated")


def test_tokens_revoke_a_token_can_revoke_itself(member: User) -> None:
    token, secret = token_create(actor=member, name="CI", scopes=["read", "write"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    assert Client().delete(f"/api/v1/tokens/{token.pk}", **auth).status_code == 204
    assert_error(Client().get("/api/v1/me", **auth), 401, "unauthenticated")


def test_tokens_revoke_someone_elses_token_answers_404_like_a_missing_one(member_client: Client) -> None:
    other = another_user()
    theirs, secret = token_create(actor=other, name="theirs", scopes=["read"])

    response = member_client.delete(f"/api/v1/tokens/{theirs.pk}")
    missing = member_client.delete(f"/api/v1/tokens/{theirs.pk + 1000}")

    assert_error(response, 404, "not_found")
    assert response.content == missing.content
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


def test_tokens_revoke_twice_answers_404(member: User, member_client: Client) -> None:
    token, _ = token_create(actor=member, name="CI", scopes=["read"])
    member_client.delete(f"/api/v1/tokens/{token.pk}")

    assert_error(member_client.delete(f"/api/v1/tokens/{token.pk}"), 404, "not_found")


def test_tokens_revoke_with_a_read_only_token_answers_401(member: User) -> None:
    token, _ = token_create(actor=member, name="CI", scopes=["read"])

    response = Client().delete(f"/api/v1/tokens/{token.pk}", **bearer(member, "read"))

    assert_error(response, 401, "unauthenticated")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


@pytest.mark.parametrize("token_id", ["-1", "0", "abc", "1.5", "99999999999999999999999"])
def test_tokens_revoke_invalid_id_answers_422(member_client: Client, token_id: str) -> None:
    error = assert_error(member_client.delete(f"/api/v1/tokens/{token_id}"), 422, "invalid")

    assert "token_id" in error["fields"]
