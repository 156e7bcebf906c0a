"""Runs tests/flows/authz.py: every route, role and object state, plus the rule that a
hidden object answers exactly like one that never existed."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from townhall.accounts import services as account_services
from townhall.accounts.models import UserSession
from townhall.directory.selectors import person_get
from townhall.directory.services import ProfileChanges, profile_update
from townhall.testing.clients import signed_in
from townhall.testing.factories import UserFactory

from .authz import MATRIX, ROLES, Case

pytestmark = pytest.mark.django_db


def _route_names() -> set[str]:
    names: set[str] = set()

    def walk(resolver: URLResolver, namespace: str | None) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or None
                walk(pattern, f"{namespace}:{inner}" if namespace and inner else (inner or namespace))
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"route {pattern.pattern} has no name, so the matrix cannot list it"
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver(), None)
    return names


def test_authz_matrix_lists_every_route():
    routes = _route_names()
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes missing from tests/flows/authz.py: {missing}"
    assert not stale, f"matrix lists routes that no longer exist: {stale}"


def _png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def _world(role: str) -> tuple[dict[str, Any], Client]:
    admin = UserFactory(role="admin", full_name="World Admin")
    other = UserFactory(full_name="Olive Other")
    gone = UserFactory(full_name="Gil Gone")
    account_services.user_deactivate(actor=admin, user=gone)
    profile_update(actor=other, person=other, changes=ProfileChanges(title="Analyst"), avatar=_png())
    other_client = signed_in(other)
    _, invite_token = account_services.invitation_create_link(actor=admin)
    invitation = account_services.invitation_create_email(actor=admin, email="invitee@example.com")
    other_token, _ = account_services.token_create(actor=other, name="other", scopes=["read"])
    world: dict[str, Any] = {
        "other": other.pk,
        "gone": gone.pk,
        "missing": 987654,
        "other_avatar": person_get(viewer=other, user_id=other.pk).avatar.url,
        "other_session": UserSession.objects.get(session_key=other_client.session.session_key).pk,
        "other_token": other_token.pk,
        "invite_token": invite_token,
        "invitation": invitation.pk,
    }
    if role == "anonymous":
        me = UserFactory(full_name="Anon Ymous")
        client = Client()
    elif role == "admin":
        me, client = admin, signed_in(admin)
    else:
        me = UserFactory(full_name="Role Holder", role="member" if role == "deactivated" else role)
        client = signed_in(me)
        if role == "deactivated":
            # The session was live when the account was deactivated.
            account_services.user_deactivate(actor=admin, user=me)
    world["self"] = me.pk
    self_token, _ = account_services.token_create(actor=me, name="mine", scopes=["read", "write"])
    world["self_token"] = self_token.pk
    world["self_session"] = UserSession.objects.filter(user=me).values_list("pk", flat=True).first() or 0
    return world, client


def _run(client: Client, case: Case, world: dict[str, Any]):
    path = case.path(world)
    if case.json:
        body = json.dumps(case.data) if case.data else None
        return client.generic(case.method, path, body or "", content_type="application/json")
    if case.method == "GET":
        return client.get(path)
    return client.post(path, case.data)


CASES = [(name, index, role) for name, cases in MATRIX.items() for index in range(len(cases)) for role in ROLES]


@pytest.mark.parametrize(("name", "index", "role"), CASES, ids=[f"{n}[{i}]-{r}" for n, i, r in CASES])
def test_authz_matrix(name: str, index: int, role: str):
    case = MATRIX[name][index]
    world, client = _world(role)
    response = _run(client, case, world)
    assert response.status_code == case.expected[role], (
        f"{case.method} {case.path(world)} ({case.state}) as {role}: got {response.status_code}, "
        f"expected {case.expected[role]}"
    )


def _normalised(response) -> tuple[int, str, str]:
    body = response.content.decode(errors="replace")
    body = re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", body)
    return response.status_code, response.get("Content-Type", ""), body


@pytest.mark.parametrize("role", ["guest", "member"])
@pytest.mark.parametrize(
    "template", ["/people/{}/", "/people/{}/edit/", "/api/v1/people/{}", "/api/v1/people/{}/orgchart"]
)
def test_hidden_person_answers_like_missing(role: str, template: str):
    world, client = _world(role)
    hidden = _normalised(_run(client, Case("gone", "GET", lambda w: template.format(w["gone"]), {}), world))
    missing = _normalised(_run(client, Case("missing", "GET", lambda w: template.format(w["missing"]), {}), world))
    assert hidden == missing
    assert "Gil Gone" not in hidden[2]


def test_authz_matrix_case_count(capsys):
    with capsys.disabled():
        print(f"\nauthorization matrix: {len(MATRIX)} routes, {len(CASES)} cases")
    assert len(CASES) >= len(MATRIX) * len(ROLES)
