"""Runs tests/flows/authz.py: every route, role and object state, plus the rule that a
hidden object answers exactly like one that never existed.

The world (people, communities, posts, comments, ...) is built once per module with
the real services inside a transaction that is rolled back when the module ends; each
test runs in its own savepoint, so the writes a case makes never reach the next one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from townhall.testing.responses import stable_body, stable_headers

from . import authz
from .authz import KNOWN_BUGS, MATRIX, ROLES, World, client_for, run

# The shared fixtures (pytest finds fixtures among a module's names).
world_once_fixture = authz._world_once
world_fixture = authz._world
media_root_fixture = authz._no_media_root_per_test

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


CASES = [(name, index, role) for name, cases in MATRIX.items() for index in range(len(cases)) for role in ROLES]


def _param(name: str, index: int, role: str) -> Any:
    case = MATRIX[name][index]
    bug = KNOWN_BUGS.get((name, case.state, role))
    marks = [pytest.mark.xfail(reason=bug, strict=True)] if bug else []
    return pytest.param(name, index, role, id=f"{name}[{index}:{case.method}:{case.state}]-{role}", marks=marks)


@pytest.mark.parametrize(("name", "index", "role"), [_param(*case) for case in CASES])
def test_authz_matrix(world: World, name: str, index: int, role: str):
    case = MATRIX[name][index]
    w = world.for_role(role)
    response = run(client_for(world, role), case, w)
    assert response.status_code == case.expected[role], (
        f"{case.method} {case.path(w)} ({case.state}) as {role}: got {response.status_code}, "
        f"expected {case.expected[role]}"
    )


# --- hidden answers exactly like missing ---------------------------------------------------


def normalised(response: HttpResponse) -> tuple[int, dict[str, str], str]:
    return response.status_code, stable_headers(response), stable_body(response)


# (template, kind): the world key the hidden / missing value comes from.
HIDDEN_READS = [
    ("/c/{}/", "slug"),
    ("/c/{}/members", "slug"),
    ("/c/{}/settings", "slug"),
    ("/c/{}/requests", "slug"),
    ("/c/{}/invite", "slug"),
    ("/api/v1/communities/{}", "slug"),
    ("/api/v1/communities/{}/posts", "slug"),
    ("/api/v1/communities/{}/members", "slug"),
    ("/api/v1/communities/{}/requests", "slug"),
    ("/posts/{}/", "post"),
    ("/posts/{}/history", "post"),
    ("/posts/{}/reactions", "post"),
    ("/posts/{}/share", "post"),
    ("/posts/{}/edit", "post"),
    ("/posts/{}/delete", "post"),
    ("/api/v1/posts/{}", "post"),
    ("/api/v1/posts/{}/comments", "post"),
    ("/api/v1/posts/{}/revisions", "post"),
    ("/api/v1/reactions/post/{}", "post"),
    ("/api/v1/reactions/post/{}/people", "post"),
    ("/posts/comments/{}/", "comment"),
    ("/posts/comments/{}/edit", "comment"),
    ("/posts/comments/{}/reactions", "comment"),
    ("/api/v1/reactions/comment/{}", "comment"),
    ("/api/v1/reactions/comment/{}/people", "comment"),
    ("/posts/comments/{}/", "reply"),
    ("/api/v1/reactions/comment/{}", "reply"),
    ("/topics/{}/", "topic"),
    ("/api/v1/topics/{}", "topic"),
    ("/api/v1/topics/{}/posts", "topic"),
]
HIDDEN_WRITES = [
    ("POST", "/c/{}/join", "slug", {}),
    ("POST", "/c/{}/leave", "slug", {}),
    ("POST", "/api/v1/communities/{}/join", "slug", {}),
    ("PATCH", "/api/v1/communities/{}", "slug", {"description": "x"}),
    ("POST", "/posts/{}/comments", "post", {"body": "x"}),
    ("POST", "/posts/{}/react", "post", {"kind": "like"}),
    ("POST", "/api/v1/posts/{}/comments", "post", {"body": "x"}),
    ("PUT", "/api/v1/reactions/post/{}", "post", {"kind": "like"}),
    ("PATCH", "/api/v1/comments/{}", "comment", {"body": "x"}),
    ("DELETE", "/api/v1/comments/{}", "comment", {}),
    ("POST", "/posts/comments/{}/react", "comment", {"kind": "like"}),
    ("PUT", "/api/v1/topics/{}/follow", "topic", {}),
]
# Which states of each kind are hidden from every role holder ...
HIDDEN_STATES = {
    "slug": ("secret", "deleted"),
    "post": ("secret", "deleted", "deleted_post"),
    "comment": ("secret", "deleted", "deleted_post", "deleted_comment"),
    "reply": ("secret", "deleted"),
    "topic": ("secret",),
}
# ... and from those outside the private and the moved community (whose headers are
# visible, but not their content). The former member still follows the moved topic.
HIDDEN_FROM_OUTSIDERS = {
    "post": ("private", "moved"),
    "comment": ("private", "moved"),
    "reply": ("private",),
    "topic": ("private", "moved"),
}
HIDDEN_ROLES = ("guest", "member", "former_member", "ic_moderator")


def hidden_states(kind: str, role: str) -> tuple[str, ...]:
    states = HIDDEN_STATES[kind]
    if role != "member":
        states += tuple(s for s in HIDDEN_FROM_OUTSIDERS.get(kind, ()) if (role, s) != ("former_member", "moved"))
    return states


def _request(client: Client, method: str, path: str, data: dict[str, Any]) -> HttpResponse:
    if path.startswith("/api/"):
        body = json.dumps(data) if data else ""
        return client.generic(method, path, body, content_type="application/json")
    return client.get(path) if method == "GET" else client.post(path, data)


@pytest.mark.parametrize("role", HIDDEN_ROLES)
@pytest.mark.parametrize(
    ("method", "template", "kind", "data"),
    [("GET", template, kind, {}) for template, kind in HIDDEN_READS] + HIDDEN_WRITES,
    ids=[f"GET {t}:{k}" for t, k in HIDDEN_READS] + [f"{m} {t}:{k}" for m, t, k, _ in HIDDEN_WRITES],
)
def test_hidden_answers_like_missing(
    world: World, role: str, method: str, template: str, kind: str, data: dict[str, Any]
):
    w = world.for_role(role)
    client = client_for(world, role)
    missing = normalised(_request(client, method, template.format(w[kind]["missing"]), data))
    assert missing[0] == 404, f"{template} missing as {role}: {missing[0]}"
    for state in hidden_states(kind, role):
        hidden = normalised(_request(client, method, template.format(w[kind][state]), data))
        assert hidden == missing, f"{method} {template} {kind}={state} as {role} differs from a missing one"


@pytest.mark.parametrize("role", ["guest", "member"])
@pytest.mark.parametrize(
    "template", ["/people/{}/", "/people/{}/edit/", "/api/v1/people/{}", "/api/v1/people/{}/orgchart"]
)
def test_hidden_person_answers_like_missing(world: World, role: str, template: str):
    w = world.for_role(role)
    client = client_for(world, role)
    hidden = normalised(client.get(template.format(w["gone"])))
    missing = normalised(client.get(template.format(w["missing"])))
    assert hidden == missing
    assert "Gil Gone" not in hidden[2]


def test_authz_matrix_case_count(capsys):
    with capsys.disabled():
        print(f"\nauthorization matrix: {len(MATRIX)} routes, {len(CASES)} cases")
    assert len(CASES) >= len(MATRIX) * len(ROLES)
