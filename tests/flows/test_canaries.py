"""Canaries: a unique string planted in everything a role holder may not see, then
every read channel driven as every role that may not see it; the string must appear
in no body and no header.

`SECRET_CANARY` is in the secret community (name, description, posts, old versions,
comments, replies, the topic only it uses, image alt texts), in the deleted community
and in a deleted post and comment: no role holder may see any of it.
`PRIVATE_CANARY` is in the private community's content (not its name: its header is
public) and in a community moved from public to private: only `member` may see it; the
former and the removed member wrote, reacted and read in the private one before they
went, and others commented, reacted and followed a topic in the moved one while it was
public.

Readings: every GET case of the authorization matrix (HTML and API, every state),
plus search, autocomplete, feeds in both orders, topic and people pages, htmx
fragments and the composer's preview.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.http import HttpResponse
from django.test import Client

from . import authz
from .authz import MATRIX, PRIVATE_CANARY, ROLES, SECRET_CANARY, Case, World, client_for, run

pytestmark = pytest.mark.django_db

world_once_fixture = authz._world_once
world_fixture = authz._world
media_root_fixture = authz._no_media_root_per_test

HTMX = {"HTTP_HX_REQUEST": "true"}
HTMX_MORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "communities-results"}

# Read channels beyond the matrix's GET cases (prefixes of the canaries, never the
# whole string, so a page that repeats the query cannot raise a false alarm).
EXTRA_READS: list[tuple[str, dict[str, str]]] = [
    (path, {})
    for path in (
        "/",
        "/?order=top",
        "/company",
        "/company?order=top",
        "/home/joiners",
        "/c/{slug[public]}/?order=top",
        "/c/{slug[private]}/?order=top",
        "/c/{slug[secret]}/?order=top",
        "/c/{slug[deleted]}/",
        "/c/{slug[archived]}/?order=top",
        "/communities/",
        "/communities/?q=qz7",
        "/communities/?q=kw4",
        "/communities/?q=hush",
        "/communities/?q=gone",
        "/communities/?kind=interest",
        "/communities/?mine=on",
        "/communities/invitations",
        "/topics/{topic[secret]}/",
        "/topics/{topic[secret]}/?order=top",
        "/topics/{topic[private]}/?order=top",
        "/topics/townsquare/?order=top",
        "/people/",
        "/people/?q=olive",
        "/people/{other}/",
        "/people/{other}/posts/",
        "/people/{other}/posts/?order=top",
        "/people/{peer}/posts/",
        "/people/{former}/posts/",
        "/people/{former}/posts/?order=top",
        "/posts/autocomplete?q=qz7",
        "/posts/autocomplete?q=kw4",
        "/posts/autocomplete?q=hush",
        "/posts/autocomplete?q=c/",
        "/posts/autocomplete?q=c/hu",
        "/posts/autocomplete?q=c/pay",
        "/posts/autocomplete?q=c/gone",
        "/posts/autocomplete?type=topic&q=qz7",
        "/posts/autocomplete?type=topic&q=kw4",
        "/posts/autocomplete?type=topic&q=q",
        "/posts/autocomplete?type=topic&q=k",
        "/posts/new",
        "/posts/new?to=community:{slug[secret]}",
        "/posts/new?to=community:{slug[private]}",
        "/posts/new?to=community:{slug[deleted]}",
        "/posts/{post[share_secret]}/",
        "/posts/{post[share_private]}/",
        "/posts/{post[share_secret]}/share",
        "/posts/{post[former_private]}/",
        "/api/v1/feed/home",
        "/api/v1/feed/home?order=top",
        "/api/v1/feed/company?order=top",
        "/api/v1/communities",
        "/api/v1/communities?q=qz7",
        "/api/v1/communities?q=hush",
        "/api/v1/communities?q=gone",
        "/api/v1/communities?mine=true",
        "/api/v1/communities/invitations",
        "/api/v1/communities/{slug[private]}/posts?order=top",
        "/api/v1/mentions?q=qz7",
        "/api/v1/mentions?q=kw4",
        "/api/v1/mentions?q=hush",
        "/api/v1/mentions?q=c/",
        "/api/v1/mentions?q=c/hu",
        "/api/v1/mentions?q=c/pay",
        "/api/v1/mentions?q=c/gone",
        "/api/v1/topics/{topic[secret]}/posts?order=top",
        "/api/v1/topics/{topic[private]}/posts",
        "/api/v1/people?q=olive",
        "/api/v1/people/{other}/posts",
        "/api/v1/people/{other}/posts?order=top",
        "/api/v1/people/{former}/posts",
        "/api/v1/posts/{post[share_secret]}",
        "/api/v1/posts/{post[share_private]}",
        "/api/v1/posts/{post[former_private]}",
        "/api/v1/me/following",
        "/c/{slug[moved]}/?order=top",
        "/topics/movedtopic/",
        "/topics/movedtopic/?order=top",
        "/api/v1/topics/movedtopic/posts",
        "/api/v1/topics/movedtopic/posts?order=top",
        "/api/v1/communities/{slug[moved]}/posts",
        "/posts/autocomplete?type=topic&q=moved",
        "/api/v1/mentions?q=c/sk",
    )
] + [
    ("/", HTMX),
    ("/communities/?q=qz7", HTMX_MORE),
    ("/communities/?q=hush", HTMX),
    ("/c/{slug[private]}/", HTMX),
    ("/posts/comments/{reply[secret]}/", HTMX),
    ("/posts/comments/{reply[private]}/", HTMX),
    ("/posts/comments/{reply[deleted]}/", HTMX),
]
# What a composer shows before posting: mentions of hidden communities stay text.
PREVIEW = "@c/{slug[secret]} @c/{slug[private]} @c/{slug[deleted]} #" + SECRET_CANARY[:3]


def _canaries_for(role: str) -> tuple[str, ...]:
    return (SECRET_CANARY,) if role == "member" else (SECRET_CANARY, PRIVATE_CANARY)


def _text(response: HttpResponse) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    cookies = response.cookies.output() if response.cookies else ""
    if response.streaming:  # a file
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        # Not response.close(): that signals the end of the request, which closes the
        # test database's connection.
        for close in getattr(response, "_resource_closers", ()):
            close()
    else:
        body = response.content
    return f"{headers}\n{cookies}\n{body.decode(errors='replace')}".lower()


def _without_echo(text: str, path: str) -> str:
    """Drop the request's own path where the canary is part of it (a hidden topic's
    slug): repeating what the caller sent tells them nothing."""
    for echo in {path, quote(path), quote(path, safe="")}:
        text = text.replace(echo.lower(), "")
    return text


def _readings(w: dict[str, Any]) -> list[tuple[str, str, Case | None, dict[str, str]]]:
    """(route, path, case, headers) for every reading."""
    readings: list[tuple[str, str, Case | None, dict[str, str]]] = []
    for name, cases in MATRIX.items():
        for case in cases:
            if case.method == "GET":
                readings.append((name, case.path(w), case, case.headers))
    for template, headers in EXTRA_READS:
        readings.append(("extra", template.format(**w), None, headers))
    return readings


def _read(client: Client, path: str, case: Case | None, w: dict[str, Any], headers: dict[str, str]) -> HttpResponse:
    if case is not None:
        return run(client, case, w)
    if path.startswith("/api/"):
        return client.get(path, content_type="application/json", **headers)
    return client.get(path, **headers)


def _leaks(world: World, role: str) -> tuple[int, list[str]]:
    w = world.for_role(role)
    client = client_for(world, role)
    canaries = [canary.lower() for canary in _canaries_for(role)]
    found: list[str] = []
    readings = _readings(w)
    for name, path, case, headers in readings:
        response = _read(client, path, case, w, headers)
        text = _without_echo(_text(response), path)
        found += [f"{canary} in GET {path} ({name}) -> {response.status_code}" for canary in canaries if canary in text]
    preview = client.post("/posts/preview", {"body": PREVIEW.format(**w)})
    text = _text(preview)
    found += [f"{canary} in POST /posts/preview" for canary in canaries if canary in text]
    return len(readings) + 1, found


READ_COUNTS: dict[str, int] = {}


@pytest.mark.parametrize("role", ROLES)
def test_canaries_never_reach_unauthorised_roles(world: World, role: str, capsys: Any):
    count, found = _leaks(world, role)
    with capsys.disabled():
        print(f"\ncanaries: {count} (route, {role}) readings")
    assert not found, "\n".join(found)


def test_canaries_are_planted(world: World):
    """The control: someone who may see everything (Olive runs every community) does
    see each canary where it was planted, so the searches above can find them."""
    w = world.for_role("admin")
    olive = Client()
    olive.cookies["sessionid"] = world.session_keys["olive"] or ""
    secret_canary, private_canary = SECRET_CANARY.lower(), PRIVATE_CANARY.lower()
    expected = [
        ("/c/{slug[secret]}/", secret_canary),  # name, description, post, alt text
        ("/posts/{post[secret]}/", secret_canary),
        ("/posts/{post[secret]}/history", secret_canary),
        ("/api/v1/posts/{post[secret]}/revisions", secret_canary),
        ("/api/v1/posts/{post[secret]}/comments", secret_canary),
        ("/api/v1/topics/{topic[secret]}", secret_canary),
        ("/api/v1/communities?q=qz7", secret_canary),
        ("/api/v1/mentions?q=c/hu", secret_canary),
        ("/posts/{post[private]}/", private_canary),
        ("/api/v1/posts/{post[private]}", private_canary),
        ("/api/v1/posts/{post[share_secret]}", secret_canary),
        ("/search/?q=qz7", secret_canary),  # search reads an index built from the world
        ("/search/?q=kw4&kind=post", private_canary),
        ("/search/suggest?q=hush", secret_canary),
        ("/api/v1/search?q=qz7", secret_canary),
        ("/api/v1/search/suggest?q=qz7", secret_canary),
    ]
    missed = []
    for template, canary in expected:
        path = template.format(**w)
        response = olive.get(path)
        if response.status_code != 200 or canary not in _text(response):
            missed.append(f"{path} -> {response.status_code}")
    assert not missed, missed
    secret = olive.get("/api/v1/posts/{}".format(w["post"]["secret"])).json()
    assert secret_canary in secret["images"][0]["alt_text"].lower()


COUNT_BUG = (
    "share_count counts every share, wherever it is (posts/services.py refresh_engagement): a public post "
    "shared into the secret community shows '1 share' to people who can see no share of it (API share_count, "
    "posts/_post.html), telling them that hidden content exists"
)


@pytest.mark.parametrize("role", ["guest", "member", "former_member", "ic_moderator"])
def test_counts_only_count_what_the_viewer_may_see(world: World, role: str):
    w = world.for_role(role)
    client = client_for(world, role)
    post_id = w["post"]["public"]
    api = json.loads(client.get(f"/api/v1/posts/{post_id}").content)
    page = client.get(f"/posts/{post_id}/").content.decode()
    # Its only share is in the secret community.
    assert (api["share_count"], "1 share" in page) == (0, False)
