"""The core social loop in real browsers: a member joins a community, posts with a
mention, a topic and an image; a colleague comments and reacts in a second browser;
the post shows in the right feeds in both orders; and a member who is not in a secret
community finds no trace of it on any page or endpoint."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from townhall.accounts import services as account_services
from townhall.communities.services import community_create
from townhall.posts.services import comment_create, post_create
from townhall.testing.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CANARY = "FALCONCANARY7731"


@pytest.fixture
def world(db):
    admin = UserFactory(email="admin@acme.example", full_name="Ada Admin", role="admin")
    account_services.organisation_update(actor=admin, name="Acme", allowed_domains=[], guidelines="")
    mia = UserFactory(email="mia@acme.example", full_name="Mia Member")
    sanjay = UserFactory(email="sanjay@acme.example", full_name="Sanjay Shah")
    cora = UserFactory(email="cora@acme.example", full_name="Cora Chief")
    guild = community_create(actor=sanjay, name="Platform Guild", description="Builders of the platform.")
    falcon = community_create(
        actor=cora,
        name=f"Project Falcon {CANARY}",
        description=f"Acquisition {CANARY}",
        visibility="secret",
        kind="project",
    )
    secret_post = post_create(actor=cora, community=falcon, body=f"Board pack {CANARY} #falcon{CANARY.lower()}")
    comment_create(actor=cora, post=secret_post, body=f"Reply {CANARY}")
    return {"mia": mia, "sanjay": sanjay, "guild": guild, "falcon": falcon}


def _photo(tmp_path) -> str:
    path = tmp_path / "whiteboard.png"
    Image.new("RGB", (1200, 800), (30, 120, 200)).save(path, "PNG")
    return str(path)


def test_join_post_comment_react_and_feeds(world, desktop, browser, live_server, tmp_path):
    from .conftest import DESKTOP, Visit

    page = desktop.page
    desktop.sign_in("mia@acme.example")

    # Join the public community from the communities directory.
    desktop.goto("/communities/")
    page.locator("form[action$='/c/platform-guild/join'] button").click()
    page.wait_for_load_state("networkidle")
    desktop.audit()
    desktop.goto("/c/platform-guild/")

    # Post with a mention, a topic and an image (with alt text).
    page.locator("#composer textarea[name=body]").fill(
        "Shipping the new build pipeline today, thanks @sanjay! #kubernetes"
    )
    page.locator("#composer summary", has_text="Add images").click()
    page.locator("#composer input[type=file]").first.set_input_files(_photo(tmp_path))
    page.locator("#composer input[type=text]").first.fill("Whiteboard sketch of the pipeline")
    page.locator("#composer-submit").click()
    card = page.locator("#feed-list article.post").filter(has_text="Shipping the new build pipeline").first
    expect(card).to_be_visible()
    desktop.audit()
    expect(card.get_by_role("link", name=re.compile("sanjay", re.I))).to_be_visible()
    expect(card.get_by_role("link", name="#kubernetes").first).to_be_visible()
    assert card.locator("img[alt='Whiteboard sketch of the pipeline']").count() == 1
    post_url = card.locator("a[href^='/posts/']").first.get_attribute("href")
    post_path = re.match(r"(/posts/\d+/)", post_url).group(1)

    # A colleague comments and reacts from another browser.
    context = browser.new_context(viewport=DESKTOP)
    other = Visit(context.new_page(), live_server.url, "desktop-sanjay")
    other.sign_in("sanjay@acme.example")
    other.goto(post_path)
    other.page.locator("textarea[name=body]").first.fill("Great work, Mia!")
    other.page.get_by_role("button", name=re.compile(r"^(Comment|Add comment|Post comment|Reply)$")).first.click()
    expect(other.page.locator("main")).to_contain_text("Great work, Mia!")
    other.page.locator("button[id$='-react-celebrate']").first.click()
    expect(other.page.locator("button[id$='-react-celebrate'][aria-pressed=true]").first).to_be_visible()
    other.audit()
    assert not other.unaudited()
    context.close()

    # Mia sees both on the post, and the post in her feeds in both orders.
    desktop.goto(post_path)
    main = page.locator("main")
    expect(main).to_contain_text("Great work, Mia!")
    expect(page.locator("button[id$='-react-celebrate'] .reaction-count").first).to_have_text("1")
    for path in ("/", "/?order=top", "/c/platform-guild/?order=top", "/topics/kubernetes/"):
        desktop.goto(path)
        expect(page.locator("#feed-list")).to_contain_text("Shipping the new build pipeline")


def test_secret_community_leaves_no_trace_for_a_non_member(world, desktop):
    page = desktop.page
    desktop.sign_in("mia@acme.example")
    for path in (
        "/",
        "/?order=top",
        "/company",
        "/communities/",
        "/communities/?q=falcon",
        "/people/",
        f"/topics/falcon{CANARY.lower()}/",
        f"/people/{world['mia'].pk}/posts/",
    ):
        desktop.goto(path)
        assert CANARY not in page.content(), path
    # The secret community's address answers exactly like one that never existed.
    secret = page.goto(desktop.base_url + f"/c/{world['falcon'].slug}/")
    desktop.audit()
    secret_body = page.locator("main").inner_text()
    missing = page.goto(desktop.base_url + "/c/no-such-community/")
    desktop.audit()
    assert secret.status == missing.status == 404
    assert secret_body == page.locator("main").inner_text()
    for path in (
        "/api/v1/feed/home",
        "/api/v1/feed/home?order=top",
        "/api/v1/communities?q=falcon",
        f"/api/v1/communities/{world['falcon'].slug}",
        "/api/v1/mentions?q=fal",
        f"/api/v1/topics/falcon{CANARY.lower()}",
    ):
        response = page.request.get(desktop.base_url + path)
        assert response.status in {200, 404}, (path, response.status)
        assert CANARY not in response.text(), path
