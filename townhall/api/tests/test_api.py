"""The `/api/v1` shell: authentication, the error shape, docs, the schema snapshot,
and a sweep of hostile input over every operation."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from townhall.accounts.models import ApiToken, User
from townhall.accounts.services import token_create, token_revoke, user_deactivate
from townhall.api.management.commands import openapi_snapshot
from townhall.testing.factories import UserFactory, profile_of

pytestmark = pytest.mark.django_db

SNAPSHOT_COMMAND = ".venv/bin/python -m django openapi_snapshot --settings=townhall.config.settings"
UNSAFE = ("post", "patch", "put", "delete")


def bearer(user: User, *scopes: str) -> dict[str, str]:
    _, secret = token_create(actor=user, name="test", scopes=list(scopes or ("read", "write")))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])


def live_schema() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = live_schema()
    return [(method, path, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def fill(path: str, value: object = 1) -> str:
    return re.sub(r"\{[^}]+\}", str(value), path)


def send(client: Client, method: str, path: str, body: Any = None, raw: str | bytes | None = None, **extra: Any) -> Any:
    if raw is None and body is None and method not in UNSAFE:
        return getattr(client, method)(path, **extra)
    data = raw if raw is not None else json.dumps(body if body is not None else {})
    return getattr(client, method)(path, data=data, content_type="application/json", **extra)


# --- Docs and schema -------------------------------------------------------------


def test_docs_page_loads_without_any_cdn(db: None) -> None:
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    # Every address in the page (not its text: the random CSRF token once held "cdn").
    addresses = re.findall(r"""(?:src|href)=["']([^"']+)|((?:https?:)?//[^\s"'<>]+)""", html)
    for host in ("cdn", "unpkg", "jsdelivr", "cdnjs", "googleapis"):
        assert not any(host in (src or url).lower() for src, url in addresses), host
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert Client().get(asset).status_code == 200, asset


def test_docs_page_turns_off_the_online_validator(db: None) -> None:
    html = Client().get("/api/v1/docs").content.decode()

    settings = json.loads(re.search(r'id="swagger-settings">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert settings["validatorUrl"] is None
    assert settings["url"] == "/api/v1/openapi.json"


def test_openapi_snapshot_matches_the_live_schema(db: None) -> None:
    live = openapi_snapshot.render_schema(live_schema())
    committed = openapi_snapshot.SNAPSHOT_PATH.read_text(encoding="utf-8")

    assert committed == live, f"The API changed: review the diff, then update the snapshot with `{SNAPSHOT_COMMAND}`."


def test_openapi_snapshot_command_writes_pretty_sorted_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "openapi.json"
    monkeypatch.setattr(openapi_snapshot, "SNAPSHOT_PATH", target)

    with pytest.raises(CommandError, match="openapi_snapshot"):
        call_command("openapi_snapshot", check=True)
    call_command("openapi_snapshot")
    call_command("openapi_snapshot", check=True)

    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert json.loads(text) == live_schema()


def test_openapi_every_operation_needs_auth_and_documents_its_errors(db: None) -> None:
    schema = live_schema()

    assert schema["components"]["schemas"]["ErrorOut"]["required"] == ["error"]
    for method, path, op in operations():
        where = f"{method.upper()} {path}"
        assert op.get("security"), where
        assert "401" in op["responses"], where
        if op.get("parameters"):
            assert "422" in op["responses"], where
        if op.get("requestBody"):
            assert {"400", "422"} <= set(op["responses"]), where
        if method in UNSAFE:
            assert "403" in op["responses"], f"{where}: a CSRF failure answers 403"
        for status, response in op["responses"].items():
            if status.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut", where


def test_openapi_description_documents_the_read_only_token_answer(db: None) -> None:
    description = live_schema()["info"]["description"]

    assert "401" in description and "scope" in description
    assert "CSRF" in description and "403" in description


# --- Authentication --------------------------------------------------------------


def test_api_every_operation_without_credentials_answers_401(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    for method, path, _ in operations():
        response = send(client, method, fill(path))

        assert_error(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"] == 'Bearer realm="townhall"'


@pytest.mark.parametrize(
    "header",
    [
        "Bearer th_unknown_secret",
        "Bearer ",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "x" * 5000,
        "bearer  th_x",
        "Bearer ä",
    ],
)
def test_api_bad_authorization_header_answers_401(db: None, header: str) -> None:
    assert_error(Client().get("/api/v1/me", HTTP_AUTHORIZATION=header), 401, "unauthenticated")


def test_api_revoked_token_answers_401(member: User) -> None:
    token, secret = token_create(actor=member, name="CI", scopes=["read"])
    token_revoke(actor=member, token_id=token.pk)

    assert_error(Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}"), 401, "unauthenticated")


def test_api_expired_token_answers_401(member: User) -> None:
    token, secret = token_create(actor=member, name="CI", scopes=["read"], expires_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}"), 401, "unauthenticated")


def test_api_deactivated_users_token_answers_401(admin: User, member: User) -> None:
    auth = bearer(member, "read")
    assert Client().get("/api/v1/me", **auth).status_code == 200

    user_deactivate(actor=admin, user=member)

    assert_error(Client().get("/api/v1/me", **auth), 401, "unauthenticated")


def test_api_token_of_a_deactivated_user_answers_401_even_if_not_revoked(member: User) -> None:
    auth = bearer(member, "read")
    User.objects.filter(pk=member.pk).update(is_active=False)

    assert_error(Client().get("/api/v1/me", **auth), 401, "unauthenticated")


def test_api_deactivated_users_session_answers_401(member: User, member_client: Client) -> None:
    User.objects.filter(pk=member.pk).update(is_active=False)

    assert_error(member_client.get("/api/v1/me"), 401, "unauthenticated")


def test_api_write_only_token_cannot_read(member: User) -> None:
    assert_error(Client().get("/api/v1/me", **bearer(member, "write")), 401, "unauthenticated")


def test_api_read_only_token_on_every_unsafe_method_answers_401(member: User) -> None:
    own_token, _ = token_create(actor=member, name="keep", scopes=["read"])
    auth = bearer(member, "read")
    unsafe = [(m, p) for m, p, _ in operations() if m in UNSAFE]
    assert unsafe

    for method, path in unsafe:
        target = fill(path, member.pk if "user_id" in path else own_token.pk)
        body = {"name": "x", "scopes": ["read"]} if method == "post" else {"title": "Changed"}
        assert_error(send(Client(), method, target, body, **auth), 401, "unauthenticated")

    assert ApiToken.objects.get(pk=own_token.pk).revoked_at is None
    assert profile_of(member).title == ""
    assert ApiToken.objects.filter(user=member).count() == 2


def csrf_client(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="townhall.accounts.backends.EmailBackend")
    return client


def test_api_session_unsafe_method_without_csrf_answers_403(member: User) -> None:
    token, _ = token_create(actor=member, name="keep", scopes=["read"])
    client = csrf_client(member)

    created = send(client, "post", "/api/v1/tokens", {"name": "x", "scopes": ["read"]})
    patched = send(client, "patch", f"/api/v1/people/{member.pk}", {"title": "Changed"})
    deleted = client.delete(f"/api/v1/tokens/{token.pk}")

    for response in (created, patched, deleted):
        error = assert_error(response, 403, "csrf_failed")
        assert "X-CSRFToken" in error["message"]
    assert ApiToken.objects.filter(user=member).count() == 1
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert profile_of(member).title == ""


def test_api_session_unsafe_method_with_a_wrong_csrf_token_answers_403(member: User) -> None:
    client = csrf_client(member)
    client.cookies["csrftoken"] = "a" * 32

    response = send(client, "post", "/api/v1/tokens", {"name": "x", "scopes": ["read"]}, HTTP_X_CSRFTOKEN="b" * 32)

    assert_error(response, 403, "csrf_failed")


def test_api_session_unsafe_method_with_csrf_succeeds(member: User) -> None:
    client = csrf_client(member)
    client.cookies["csrftoken"] = "a" * 32

    response = send(client, "post", "/api/v1/tokens", {"name": "x", "scopes": ["read"]}, HTTP_X_CSRFTOKEN="a" * 32)

    assert response.status_code == 201


def test_api_session_safe_method_needs_no_csrf(member: User) -> None:
    assert csrf_client(member).get("/api/v1/me").status_code == 200


def test_api_token_unsafe_method_needs_no_csrf(member: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = send(client, "post", "/api/v1/tokens", {"name": "x", "scopes": ["read"]}, **bearer(member))

    assert response.status_code == 201


def test_api_token_wins_over_a_session_cookie(member: User) -> None:
    other = UserFactory()
    client = csrf_client(member)

    assert client.get("/api/v1/me", **bearer(other, "read")).json()["id"] == other.pk


# --- Errors ----------------------------------------------------------------------


def test_api_unexpected_error_answers_500_in_the_error_shape(member: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("townhall.accounts.api.token_list", broken)

    response = Client().get("/api/v1/tokens", **bearer(member, "read"))

    error = assert_error(response, 500, "server_error")
    assert "boom" not in error["message"]


def test_api_unknown_path_is_not_an_operation(member: User) -> None:
    assert Client().get("/api/v1/nope", **bearer(member, "read")).status_code == 404


# --- Hostile input over every operation ------------------------------------------

BAD_TEXT = ["", "-1", "0", "abc", "1.5", "1e999", "9" * 30, "\x00", "%", "🙂", "null", "[]", "a" * 5000]
BAD_JSON: list[Any] = [
    None,
    True,
    -1,
    0,
    2**70,
    1.5,
    "",
    "x" * 100_000,
    "\x00",
    "\ud800",
    [],
    {},
    ["x"] * 100,
    {"a": 1},
]
RAW_BODIES: list[str | bytes] = ["", "{", "[]", "null", "42", '"x"', b"\xff\xfe", '{"a": ' * 50, "{}"]


def documented(op: dict[str, Any]) -> set[int]:
    return {int(status) for status in op["responses"]}


def check(response: Any, op: dict[str, Any], where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.content[:300]!r}"
    assert response.status_code in documented(op), f"{where}: undocumented {response.status_code}"
    if response.status_code >= 400:
        assert_error(response, response.status_code)


def test_api_hostile_input_never_answers_500_or_an_undocumented_status(member: User) -> None:
    auth = bearer(member)
    client = Client()
    schema = live_schema()
    for method, path, op in operations():
        token, _ = token_create(actor=member, name="target", scopes=["read"])
        valid_id = member.pk if "user_id" in path else token.pk

        for value in BAD_TEXT:
            where = f"{method.upper()} {path} path={value!r}"
            if "{" in path:
                check(send(client, method, fill(path, value.replace("%", "%25")), **auth), op, where)
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    response = getattr(client, method)(fill(path, valid_id), {param["name"]: value}, **auth)
                    check(response, op, f"{method.upper()} {path} {param['name']}={value[:20]!r}")

        if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            fields = schema["components"]["schemas"][ref]["properties"]
            target = fill(path, valid_id)
            for name in fields:
                for value in BAD_JSON:
                    body = {"name": "fuzz", "scopes": ["read"]} if method == "post" else {}
                    body[name] = value
                    check(
                        send(client, method, target, body, **auth), op, f"{method.upper()} {path} {name}={value!r:.30}"
                    )
            for raw in RAW_BODIES:
                check(send(client, method, target, raw=raw, **auth), op, f"{method.upper()} {path} body={raw!r:.30}")
        ApiToken.objects.filter(user=member, name__in=["fuzz", "target"]).delete()


def test_api_hostile_query_on_people_search_never_fails(member: User, member_client: Client) -> None:
    for q in ["%", "_", "\\", "' OR 1=1 --", "a" * 200, " ".join(["w"] * 100), "ǅ ß İ", "\u200b"]:
        response = member_client.get("/api/v1/people", {"q": q})

        assert response.status_code == 200, (q, response.content)
