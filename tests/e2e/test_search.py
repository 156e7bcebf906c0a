"""Search in real browsers: a member of a secret community finds its post (header
suggestions as they type, then the results page), and a colleague who is not a member
sees no trace of it: not in suggestions, results, counts or the API. Desktop and phone
widths; every page is axe-audited."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from townhall.communities.services import community_create
from townhall.posts.services import comment_create, post_create
from townhall.testing.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CANARY = "HERONCANARY4417"


@pytest.fixture
def world(db):
    cora = UserFactory(email="cora@acme.example", full_name="Cora Chief")
    mia = UserFactory(email="mia@acme.example", full_name="Mia Member")
    UserFactory(email="tenzin@acme.example", full_name="Tenzin Tendai")
    guild = community_create(actor=cora, name="Tender office", description="Public tenders and bids.")
    heron = community_create(
        actor=cora, name=f"Project Heron {CANARY}", description=f"Acquisition {CANARY}", visibility="secret"
    )
    post_create(actor=cora, community=guild, body="The tender calendar for spring is out. #tenders")
    secret = post_create(actor=cora, community=heron, body=f"Tender documents for the {CANARY} deal #tenders")
    comment_create(actor=cora, post=secret, body=f"Signed tender {CANARY}")
    return {"cora": cora, "mia": mia}


def _type_in_header(visit, text: str):
    box = visit.page.get_by_role("searchbox", name="Search", exact=True)
    box.click()
    box.press_sequentially(text, delay=40)
    panel = visit.page.locator("#top-suggest .suggest-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".suggest-all")).to_contain_text(text)
    return box, panel


def test_member_finds_the_secret_post(world, desktop):
    page = desktop.page
    desktop.sign_in("cora@acme.example")
    box, panel = _type_in_header(desktop, "heron")
    expect(panel.locator(".suggest-item").first).to_contain_text("Project Heron")
    expect(panel.get_by_role("status")).to_have_text(re.compile(r"\d+ suggestions?\."))
    page.screenshot(path="test-results/screens/desktop-search-suggest.png") if _screens() else None
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=heron"))
    desktop.audit()
    expect(page.locator("#group-community")).to_contain_text("Communities")
    expect(page.locator(".search-hit-post")).to_contain_text(CANARY)

    desktop.goto("/search/?q=tender")
    expect(page.locator(".search-tabs")).to_contain_text("Posts 2")
    expect(page.locator(".search-hit-post mark").first).to_have_text(re.compile("tender", re.I))
    page.get_by_role("link", name=re.compile(r"^Posts")).click()
    page.wait_for_url(re.compile(r"kind=post"))
    desktop.audit()
    expect(page.locator(".search-hit-post")).to_have_count(2)
    # Typing on the page refreshes the results in place (htmx), announcing the count.
    field = page.get_by_label("Search for")
    field.fill("spring calendar")
    expect(page.locator(".search-hit-post")).to_have_count(1)
    expect(page.locator("#search-status")).to_contain_text("1 post found.")
    desktop.audit()


def test_non_member_sees_no_trace(world, phone):
    page = phone.page
    phone.sign_in("mia@acme.example")
    box, panel = _type_in_header(phone, "heron")
    expect(panel.locator(".suggest-item")).to_have_count(0)
    expect(panel.get_by_role("status")).to_have_text("0 suggestions.")
    assert CANARY.lower() not in panel.inner_html().lower()
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=heron"))
    phone.audit()
    expect(page.get_by_role("heading", name=re.compile("Nothing matches"))).to_be_visible()

    phone.goto("/search/?q=tender")
    expect(page.locator(".search-tabs")).to_contain_text("Posts 1")
    expect(page.locator(".search-hit-post")).to_have_count(1)
    for path in (
        "/search/?q=tender&kind=comment",
        "/search/?q=heroncanary",
        "/search/?q=%23tenders",
        "/search/?q=acquisition",
    ):
        phone.goto(path)
        assert CANARY.lower() not in page.content().lower(), path
    # Same answers from the API (the browser's session), counts included.
    api = page.request.get(phone.base_url + "/api/v1/search?q=tender").json()
    assert api["counts"] == {"community": 1, "topic": 1, "post": 1}
    assert page.request.get(phone.base_url + "/api/v1/search?q=heron").json()["total"] == 0
    assert page.request.get(phone.base_url + "/api/v1/search/suggest?q=hero").json()["results"] == []
    for path in ("/api/v1/search?q=acquisition", "/api/v1/search/suggest?q=hero", "/search/suggest?q=hero"):
        assert CANARY.lower() not in page.request.get(phone.base_url + path).text().lower(), path


def _screens() -> bool:
    import os

    return bool(os.environ.get("SCREENSHOTS"))
