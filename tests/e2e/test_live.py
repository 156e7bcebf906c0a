"""Live updates in real browsers, against the server `townhall serve` runs (uvicorn +
the ASGI router, in a thread here): one person posts with a mention, the other sees
the "new posts" bar appear without a reload, shows the post in place, then watches its
reaction count change, and the notification badge count the mention. A post moved
out of a community leaves that community's open page (not the home feed) at once."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from townhall.accounts import services as account_services
from townhall.communities.services import community_create, community_join
from townhall.posts.services import post_create
from townhall.testing.factories import UserFactory

from .conftest import DESKTOP, Visit, _visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _listed(stream_url: str) -> set[str]:
    """The posts on screen a stream request names (`posts=12,15`)."""
    return set(",".join(parse_qs(urlsplit(stream_url).query).get("posts", [])).split(","))


@pytest.fixture
def asgi_server() -> Iterator[SimpleNamespace]:
    import uvicorn

    from townhall.config.asgi import application

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(10)
    from townhall.realtime.broker import reset_broker

    reset_broker()  # its database thread lets go of the test database


@pytest.fixture
def world(db):
    admin = UserFactory(email="admin@acme.example", full_name="Ada Admin", role="admin")
    account_services.organisation_update(actor=admin, name="Acme", allowed_domains=[], guidelines="")
    mia = UserFactory(email="mia@acme.example", full_name="Mia Member")
    sanjay = UserFactory(email="sanjay@acme.example", full_name="Sanjay Shah")
    guild = community_create(actor=sanjay, name="Platform Guild", description="Builders of the platform.")
    community_join(actor=mia, community=guild)
    return {"mia": mia, "sanjay": sanjay, "guild": guild}


@pytest.fixture
def mia_tab(browser, asgi_server) -> Iterator[Visit]:
    yield from _visit(browser, asgi_server, DESKTOP, "live-mia")


@pytest.fixture
def sanjay_tab(browser, asgi_server) -> Iterator[Visit]:
    yield from _visit(browser, asgi_server, DESKTOP, "live-sanjay")


@pytest.fixture
def mia_home_tab(browser, asgi_server) -> Iterator[Visit]:
    yield from _visit(browser, asgi_server, DESKTOP, "live-mia-home")


def test_new_post_bar_counts_and_badge_arrive_without_reload(world, mia_tab, sanjay_tab):
    mia = mia_tab.page
    mia_tab.sign_in("mia@acme.example")
    sanjay_tab.sign_in("sanjay@acme.example")
    mia_tab.goto("/")
    mia.evaluate("window.__notReloaded = true")
    bar = mia.locator("#live-new-posts")
    expect(bar).to_be_hidden()
    expect(mia.locator("#notif-bell")).to_be_visible()

    # Sanjay posts in the shared community, mentioning Mia.
    sanjay_tab.goto("/c/platform-guild/")
    sanjay_tab.page.locator("#composer textarea[name=body]").fill("Release train leaves at 3, @mia please review")
    sanjay_tab.page.locator("#composer-submit").click()
    expect(sanjay_tab.page.locator("#feed-list")).to_contain_text("Release train leaves at 3")

    # Mia's home feed offers it without a reload; the bar is a button, announced politely.
    expect(bar).to_be_visible(timeout=10_000)
    expect(bar).to_have_text(re.compile(r"^1 new post"))
    assert bar.evaluate("el => el.tagName") == "BUTTON"
    expect(mia.locator("#live-updates[aria-live=polite]")).to_contain_text("1 new post")
    mia_tab.audit()
    bar.click()
    card = mia.locator("#feed-list article.post").filter(has_text="Release train leaves at 3").first
    expect(card).to_be_visible()
    expect(bar).to_be_hidden()
    assert mia.evaluate("window.__notReloaded") is True
    expect(mia.locator("#live-updates")).to_contain_text("1 new post shown")
    # The mention reaches the notification badge without a reload.
    expect(mia.locator("#notif-bell [data-unread]")).to_have_text("1", timeout=10_000)
    expect(mia.locator("#live-updates")).to_contain_text("1 unread notification")

    # Sanjay celebrates his post; Mia's count follows (her stream now listens to it).
    time.sleep(0.8)  # the page reconnects with the new post on screen
    sanjay_tab.page.locator("#feed-list article.post button[id$='-react-celebrate']").first.click()
    expect(card.locator("button[id$='-react-celebrate'] .reaction-count")).to_have_text("1", timeout=10_000)
    assert mia.evaluate("window.__notReloaded") is True
    mia_tab.audit()


def test_a_moved_post_leaves_the_old_communitys_open_page_without_reload(world, mia_tab, mia_home_tab, sanjay_tab):
    sanjay = world["sanjay"]
    vault = community_create(actor=sanjay, name="Platform Vault", visibility="private")  # Mia is not in it
    moved = post_create(actor=sanjay, community=world["guild"], body="Draft roadmap, numbers still moving")
    kept = post_create(actor=sanjay, community=world["guild"], body="Standup moves to 10:00")
    mia = mia_tab.page
    streams: list[str] = []
    mia.on("request", lambda request: "/events/stream" in request.url and streams.append(request.url))
    mia_tab.sign_in("mia@acme.example")
    mia_tab.goto("/c/platform-guild/")
    mia.evaluate("window.__notReloaded = true")
    card = mia.locator(f"#feed-list article.post#post-{moved.pk}")
    expect(card).to_be_visible()  # there before the move
    expect(mia.locator(f"#feed-list article.post#post-{kept.pk}")).to_be_visible()
    home = mia_home_tab.page
    mia_home_tab.sign_in("mia@acme.example")  # lands on her home feed
    home_card = home.locator(f"#feed-list article.post#post-{moved.pk}")
    expect(home_card).to_be_visible()

    # Sanjay, who runs both communities, moves it into the private vault.
    sanjay_tab.sign_in("sanjay@acme.example")
    sanjay_tab.goto(f"/posts/{moved.pk}/move")
    sanjay_tab.page.get_by_label("Move to").select_option(vault.slug)
    sanjay_tab.page.get_by_role("button", name="Move post").click()
    sanjay_tab.page.wait_for_url(re.compile(r"/c/platform-vault/$"))
    sanjay_tab.audit()

    # Mia's guild page drops the card without a reload, says so politely, keeps the rest.
    expect(card).to_have_count(0, timeout=10_000)
    expect(mia.locator(f"#feed-list article.post#post-{kept.pk}")).to_be_visible()
    expect(mia.locator("#live-updates[aria-live=polite]")).to_contain_text("A post was moved out of this community.")
    assert mia.evaluate("window.__notReloaded") is True
    # It reconnects listening to the cards still on screen, not the one that left.
    deadline = time.monotonic() + 10
    while not any(_listed(url) >= {str(kept.pk)} and str(moved.pk) not in _listed(url) for url in streams):
        assert time.monotonic() < deadline, streams
        mia.wait_for_timeout(100)
    mia_tab.audit()
    # The home feed is many places at once: its card stays (a reload shows what is true).
    home.wait_for_timeout(1000)
    expect(home_card).to_be_visible()
    expect(home.locator("#live-updates")).not_to_contain_text("moved out")
    mia_home_tab.audit()
