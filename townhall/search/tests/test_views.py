"""The search page, the header suggestions and the API: shapes, filters, pages,
bad input (never a 500) and canaries (hidden content leaves no trace)."""

from __future__ import annotations

import pytest
from django.test import Client

from townhall.search.index import reindex
from townhall.search.tests.test_backends import BAD_QUERIES
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db

CANARY = "Xq8searchcanary"


@pytest.fixture
def world(member):
    author = UserFactory(full_name="Ada Lovelace", email="ada@example.com")
    town = CommunityFactory(name="Town square", slug="town-square", admin=author)
    secret = CommunityFactory(name=f"Hush {CANARY}", slug="hush", visibility="secret", admin=author)
    for n in range(25):
        PostFactory(author=author, community=town, body=f"Harbour report number {n} <script>alert(1)</script>")
    PostFactory(author=author, community=secret, body=f"Harbour secret {CANARY} plans")
    reindex()
    return {"author": author, "town": town, "secret": secret}


def test_search_page_groups_results_and_counts(world, member_client):
    response = member_client.get("/search/", {"q": "harbour"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'Posts <span class="badge badge-quiet">25</span>' in html
    assert 'role="status"' in html and "25 results found." in html
    assert "<mark>Harbour</mark>" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "All 25 posts" in html


def test_search_page_kind_pages(world, member_client):
    first = member_client.get("/search/", {"q": "harbour", "kind": "post"}).content.decode()
    assert first.count('class="search-hit search-hit-post"') == 20
    assert 'Everything <span class="badge badge-quiet">25</span>' in first  # every kind is still counted
    assert "25 posts found." in first
    none = member_client.get("/search/", {"q": "harbour", "kind": "person"}).content.decode()
    assert "None of this kind" in none and "No people match your search." in none
    assert 'rel="next"' in first
    second = member_client.get("/search/", {"q": "harbour", "kind": "post", "page": "2"}).content.decode()
    assert second.count('class="search-hit search-hit-post"') == 5
    assert 'rel="prev"' in second and 'rel="next"' not in second
    junk = member_client.get("/search/", {"q": "harbour", "kind": "nonsense", "page": "x", "after": "soon"})
    assert junk.status_code == 200
    assert "From date: Enter a valid date." in junk.content.decode()


def test_search_page_htmx_gets_the_results_block(world, member_client):
    response = member_client.get("/search/", {"q": "harbour"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "search-group" in html
    assert 'hx-swap-oob="innerHTML"' in html


def test_search_page_needs_sign_in(world):
    response = Client().get("/search/", {"q": "harbour"})
    assert response.status_code == 302
    assert Client().get("/api/v1/search", {"q": "harbour"}).status_code == 401


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_search_bad_queries_answer_clearly(world, member_client, query):
    for path in ("/search/", "/search/suggest", "/api/v1/search", "/api/v1/search/suggest"):
        response = member_client.get(path, {"q": query})
        assert response.status_code in (200, 422), (path, response.status_code)
        if response.status_code == 422:
            assert response.json()["error"]["code"] == "invalid"


def test_search_explains_only_common_words(world, member_client):
    html = member_client.get("/search/", {"q": "the of and"}).content.decode()
    assert "too common to search for" in html
    api = member_client.get("/api/v1/search", {"q": "the of and"}).json()
    assert api["total"] == 0 and "too common" in api["messages"][-1]


def test_header_suggests_people_and_communities(world, member_client):
    html = member_client.get("/search/suggest", {"q": "town"}).content.decode()
    assert "<mark>Town</mark> square" in html and 'role="status"' in html
    html = member_client.get("/search/suggest", {"q": "lovlace"}).content.decode()
    assert "Ada Lovelace" in html  # a typo, still found
    assert member_client.get("/search/suggest", {"q": ""}).content.decode().strip() == ""
    page = member_client.get("/").content.decode()
    assert 'hx-get="/search/suggest"' in page and 'action="/search/"' in page


def test_api_search_shape_and_pages(world, member_client):
    body = member_client.get("/api/v1/search", {"q": "harbour", "kind": "post", "limit": 10}).json()
    assert body["counts"] == {"post": 25} and body["total"] == 25
    assert len(body["results"]) == 10 and body["next_page"] == 2
    hit = body["results"][0]
    assert set(hit) == {"kind", "id", "title", "url", "meta", "title_html", "snippet_html", "score"}
    assert "<mark>Harbour</mark>" in hit["snippet_html"] and "&lt;script&gt;" in hit["snippet_html"]
    assert member_client.get("/api/v1/search", {"q": "x", "kind": "nope"}).status_code == 422
    assert member_client.get("/api/v1/search", {"q": "x", "page": 0}).status_code == 422
    suggest = member_client.get("/api/v1/search/suggest", {"q": "ada"}).json()
    assert suggest["results"][0]["kind"] == "person"


def test_canary_never_reaches_non_members(world, member_client):
    reads = [
        ("/search/", {"q": "xq8"}),
        ("/search/", {"q": "harbour secret"}),
        ("/search/", {"q": "harbour", "kind": "post", "page": "2"}),
        ("/search/", {"q": "hush"}),
        ("/search/", {"q": "in:hush"}),
        ("/search/", {"q": "harbour", "community": "hush"}),
        ("/search/suggest", {"q": "xq8"}),
        ("/search/suggest", {"q": "hush"}),
        ("/search/suggest", {"q": "harb"}),
        ("/api/v1/search", {"q": "xq8"}),
        ("/api/v1/search", {"q": "harbour"}),
        ("/api/v1/search", {"q": "hush"}),
        ("/api/v1/search/suggest", {"q": "hush"}),
    ]
    for path, params in reads:
        text = member_client.get(path, params).content.decode().lower()
        assert CANARY.lower() not in text, (path, params)
    # Counts too: 25 visible posts match "harbour", not 26.
    assert member_client.get("/api/v1/search", {"q": "harbour"}).json()["counts"] == {"post": 25}
    assert member_client.get("/api/v1/search", {"q": "secret plans"}).json()["total"] == 0
    # The control: a member of the secret community finds it everywhere.
    insider = signed_in(world["author"])
    for path, params in reads[:2] + reads[6:8] + reads[9:10]:
        assert CANARY.lower() in insider.get(path, params).content.decode().lower(), (path, params)
    assert insider.get("/api/v1/search", {"q": "harbour"}).json()["counts"] == {"post": 26}
