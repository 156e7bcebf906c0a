"""The Content-Security-Policy (townhall/core/csp.py) in a real browser: the main pages
and their scripted parts (htmx, live.js, the composer toolbar, mention autocomplete,
infinite scroll, search suggestions, the API docs) work under the policy with no
violation. Every Visit.audit() fails on a violation (conftest.py); this test also
checks the header is there, and that the listener does catch a violation."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from townhall.communities.services import community_create
from townhall.posts.services import comment_create, post_create
from townhall.testing.factories import UserFactory

from .conftest import DESKTOP, csp_violations, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(db):
    admin = UserFactory(email="ada@acme.example", full_name="Ada Admin", role="admin")
    sam = UserFactory(email="sam@acme.example", full_name="Samira Said")
    guild = community_create(actor=admin, name="Platform Guild", description="Builders.")
    first = post_create(actor=admin, community=guild, body="Welcome @Samira #platform")
    comment_create(actor=sam, post=first, body="Thanks!")
    for n in range(30):  # more than one page: the feed loads the rest as it scrolls
        post_create(actor=admin, community=guild, body=f"Update number {n} #platform")
    return {"admin": admin, "sam": sam, "guild": guild, "post": first}


def test_main_pages_and_their_scripts_run_under_the_policy(world, desktop, browser, live_server):
    page = desktop.page
    policies: dict[str, str] = {}
    page.on(
        "response",
        lambda r: (
            r.request.resource_type == "document"
            and policies.setdefault(r.url, r.headers.get("content-security-policy", ""))
        ),
    )
    desktop.sign_in("ada@acme.example")
    pages = [
        reverse("feed:home"),
        reverse("feed:company"),
        reverse("communities:list"),
        reverse("feed:community", args=[world["guild"].slug]),
        reverse("posts:detail", args=[world["post"].pk]),
        reverse("posts:create"),
        reverse("directory:list"),
        reverse("directory:profile", args=[world["sam"].pk]),
        reverse("search:search") + "?q=platform",
        reverse("notifications:centre"),
        reverse("notifications:preferences"),
        reverse("accounts:sessions"),
        reverse("accounts:tokens"),
        reverse("accounts:manage"),
        reverse("people_import:upload"),
    ]
    for path in pages:
        desktop.goto(path)

    # The composer: the toolbar (composer.js) and mention autocomplete (fetch).
    desktop.goto(reverse("posts:create"))
    box = page.locator("#composer textarea[name=body]")
    box.click()
    page.locator("#composer [data-md=bold]").click()
    expect(box).to_have_value(re.compile(r"\*\*"))
    box.fill("")
    box.press_sequentially("Hello @Sami", delay=30)
    expect(page.get_by_role("option", name=re.compile("Samira Said"))).to_be_visible()
    desktop.audit()

    # Search suggestions in the header (htmx).
    desktop.goto(reverse("feed:home"))
    search = page.get_by_role("searchbox", name="Search", exact=True)
    search.click()
    search.press_sequentially("platf", delay=40)
    expect(page.locator("#top-suggest .suggest-panel")).to_be_visible()
    desktop.audit()

    # Infinite scroll (htmx "revealed"): the older posts arrive.
    desktop.goto(reverse("feed:home"))
    expect(page.get_by_text(re.compile(r"Update number 0(?!\d)"))).to_have_count(0)
    for _ in range(10):  # each "Load more" link is fetched when it scrolls into view
        more = page.get_by_role("link", name="Load more posts")
        if not more.count():
            break
        more.scroll_into_view_if_needed()
        page.wait_for_timeout(400)
    expect(page.get_by_text(re.compile(r"Update number 0(?!\d)"))).to_be_visible()
    desktop.audit()

    # A comment through htmx, then the live connection (live.js's EventSource) is open.
    desktop.goto(reverse("posts:detail", args=[world["post"].pk]))
    form = page.locator(f"#post-{world['post'].pk}-comment-form")
    form.locator("textarea").fill("Under the policy")
    form.get_by_role("button", name="Comment").click()
    expect(page.get_by_text("Under the policy")).to_be_visible()
    desktop.audit()

    assert policies, "no page was loaded"
    for url, policy in policies.items():
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, (url, policy)
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, (url, policy)

    # The API docs (ninja's Swagger UI from its own static files) under their policy.
    context = browser.new_context(viewport=DESKTOP)
    try:
        docs = context.new_page()
        watch_csp(docs)
        response = docs.goto(live_server.url + reverse("api-1.0.0:openapi-view"))
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
        expect(docs.locator(".swagger-ui .info .title")).to_contain_text("Townhall API")
        expect(docs.locator(".opblock").first).to_be_visible()
        assert csp_violations(docs) == []
    finally:
        context.close()


def test_the_violation_listener_catches_an_inline_script(world, desktop):
    """The guard in conftest.py can fail: an inline script is refused and reported."""
    desktop.goto("/signin")
    desktop.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s); }"
    )
    desktop.page.wait_for_timeout(200)
    assert desktop.page.evaluate("window.ran") is None
    assert any("script-src" in v for v in csp_violations(desktop.page))
    # Leave the tab clean for the fixture's own checks.
    desktop.page.evaluate("window.__cspViolations = []")
    desktop.page._csp_console.clear()
