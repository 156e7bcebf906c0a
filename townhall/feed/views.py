"""Feed pages: home, company, community, topic and a person's posts, plus following
people and topics. Thin adapters over feed.selectors and the services; the cards
come from feed.selectors.hydrate and render with posts/_post.html."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from townhall.accounts.http import AuthedRequest
from townhall.accounts.models import User
from townhall.accounts.permissions import can_browse_directory
from townhall.communities.models import Community
from townhall.communities.selectors import all_company, community_get, community_header
from townhall.core.errors import ValidationFailed
from townhall.core.pagination import Page
from townhall.directory.follows import can_follow, is_following, person_follow, person_unfollow
from townhall.directory.selectors import PROFILE_FIELDS, newcomers, person_clock, person_get, profile_missing
from townhall.feed.selectors import (
    COMPANY,
    Destination,
    community_feed,
    home_feed,
    post_destinations,
    profile_feed,
    topic_feed,
)
from townhall.feed.web import PAGE_SIZE, domain_errors, feed_response, is_htmx, safe_next
from townhall.posts.forms import PostForm
from townhall.posts.models import Post
from townhall.posts.permissions import can_offer_urgent, can_post_on_profile
from townhall.posts.selectors import topic_get
from townhall.posts.services import topic_follow

NEWCOMERS_SHOWN = 6


def _greeting(hour: int) -> str:
    if 5 <= hour < 12:
        return "Good morning"
    if 12 <= hour < 18:
        return "Good afternoon"
    return "Good evening"


def _wants_more(request: AuthedRequest) -> bool:
    """The htmx "load more" request: only the next cards are rendered."""
    return is_htmx(request) and request.htmx.target == "feed-more" and bool(request.GET.get("cursor"))  # type: ignore[attr-defined]


def composer(*, viewer: User, destinations: list[Destination], fixed: Destination | None = None) -> PostForm | None:
    """The composer form: a choice of places, or one `fixed` place (a community page,
    someone's profile), with "urgent" for those who may mark posts urgent. None when
    there is nowhere to post."""
    choices = [fixed] if fixed is not None else destinations
    if not choices:
        return None
    offer_urgent = can_offer_urgent(viewer) and not (fixed is not None and fixed.value.startswith("profile:"))
    return PostForm(
        destinations=[(d.value, d.label) for d in choices],
        initial={"destination": choices[0].value},
        offer_urgent=offer_urgent,
    )


@login_required
@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    """The home feed (Latest or Top) with the composer, beside the profile nudge and
    new joiners."""
    viewer = request.user
    context: dict[str, Any] = {"nav": "home", "page_title": "Home", "live_feed": "home"}
    if not _wants_more(request):
        # The viewer's own profile row (the top bar's avatar loads it anyway); the
        # skills and interests person_get() would add are not needed here.
        me = viewer.profile
        missing = profile_missing(me)
        clock = person_clock(profile=me)
        context |= {
            "me": me,
            "greeting": _greeting(clock.local_time.hour),
            "clock": clock,
            "missing": missing,
            "profile_done": len(PROFILE_FIELDS) - len(missing),
            "profile_total": len(PROFILE_FIELDS),
            "can_browse": can_browse_directory(viewer),
            "form": composer(viewer=viewer, destinations=post_destinations(viewer=viewer)),
        }

    def fetch(order: str, cursor: str | None) -> Page[Post]:
        return home_feed(viewer=viewer, order=order, cursor=cursor, limit=PAGE_SIZE)

    return feed_response(
        request, fetch=fetch, template="feed/home.html", base_url=reverse("feed:home"), context=context
    )


@login_required
@require_GET
def home_joiners(request: AuthedRequest) -> HttpResponse:
    """The home page's "New joiners" card, loaded after the feed (htmx) so the feed
    is not kept waiting; without JavaScript the card's link opens it as a page."""
    context = {
        "newcomers": newcomers(viewer=request.user, limit=NEWCOMERS_SHOWN),
        "can_browse": can_browse_directory(request.user),
        "nav": "home",
        "page_title": "New joiners",
    }
    if is_htmx(request):
        return render(request, "feed/home.html#joiners", context)
    return render(request, "feed/joiners.html", context)


def _community_page(
    request: AuthedRequest, community: Community, *, base_url: str, nav: str, title: str
) -> HttpResponse:
    viewer = request.user
    context: dict[str, Any] = {"nav": nav, "page_title": title, "community": community}
    header: dict[str, Any] = {}
    if not _wants_more(request):
        header = community_header(viewer=viewer, community=community, tab="posts")
        fixed = None
        if header["can_post"]:
            value = COMPANY if community.is_all_company else f"community:{community.slug}"
            fixed = Destination(value, community.name)
        form = composer(viewer=viewer, destinations=[], fixed=fixed)
        context |= {"header": header, "form": form, "can_read": header["can_read"]}
        if header["can_read"]:
            context["live_feed"] = f"community:{community.pk}"

    def fetch(order: str, cursor: str | None) -> Page[Post]:
        if header and not header["can_read"]:
            return Page(items=[], next_cursor=None)
        return community_feed(viewer=viewer, community=community, order=order, cursor=cursor, limit=PAGE_SIZE)

    return feed_response(request, fetch=fetch, template="feed/community.html", base_url=base_url, context=context)


@login_required
@require_GET
@domain_errors
def company(request: AuthedRequest) -> HttpResponse:
    """The company feed: the All-company community's posts."""
    community = community_get(viewer=request.user, slug=all_company().slug)
    return _community_page(request, community, base_url=reverse("feed:company"), nav="company", title="Company feed")


@login_required
@require_GET
@domain_errors
def community(request: AuthedRequest, slug: str) -> HttpResponse:
    """A community's page: its header (join, mute, ...), the composer for those who
    may post, and its feed for those who may read. Hidden answers 404 like missing."""
    found = community_get(viewer=request.user, slug=slug)
    return _community_page(
        request, found, base_url=reverse("feed:community", args=[found.slug]), nav="", title=found.name
    )


@login_required
@require_GET
@domain_errors
def topic(request: AuthedRequest, slug: str) -> HttpResponse:
    """Posts with a #topic, and following it. A topic the viewer has no reason to know
    of answers 404."""
    viewer = request.user
    found = topic_get(viewer=viewer, slug=slug)
    context = {"nav": "", "page_title": f"#{found.name}", "topic": found, "following": found.is_followed}  # type: ignore[attr-defined]
    context["live_feed"] = f"topic:{found.slug}"

    def fetch(order: str, cursor: str | None) -> Page[Post]:
        return topic_feed(viewer=viewer, topic=found, order=order, cursor=cursor, limit=PAGE_SIZE)

    base_url = reverse("feed:topic", args=[found.slug])
    return feed_response(request, fetch=fetch, template="feed/topic.html", base_url=base_url, context=context)


@login_required
@require_POST
@domain_errors
def topic_follow_toggle(request: AuthedRequest, slug: str) -> HttpResponse:
    """Follow (follow=1) or unfollow (follow=0) a topic; htmx gets the new button."""
    found = topic_get(viewer=request.user, slug=slug)
    follow = request.POST.get("follow") == "1"
    topic_follow(actor=request.user, topic=found, follow=follow)
    if is_htmx(request):
        return render(request, "feed/topic.html#follow_button", {"topic": found, "following": follow, "announce": True})
    messages.success(request, f"You follow #{found.name}." if follow else f"You no longer follow #{found.name}.")
    return redirect(safe_next(request, reverse("feed:topic", args=[found.slug])))


@login_required
@require_GET
@domain_errors
def profile_posts(request: AuthedRequest, user_id: int) -> HttpResponse:
    """A person's posts: what is on their profile and what they wrote where the viewer
    can read it; the composer to write on their profile; follow / unfollow."""
    viewer = request.user
    person = person_get(viewer=viewer, user_id=user_id)
    subject = person.user
    context: dict[str, Any] = {"nav": "people", "page_title": f"Posts by {subject.display_name}", "person": person}
    context["live_feed"] = f"profile:{subject.pk}"
    if not _wants_more(request):
        fixed = None
        if can_post_on_profile(viewer, subject):
            label = "My profile" if subject.pk == viewer.pk else f"{subject.display_name}’s profile"
            fixed = Destination(f"profile:{subject.pk}", label)
        context |= {
            "is_self": subject.pk == viewer.pk,
            "can_follow": can_follow(viewer, subject),
            "following": is_following(viewer=viewer, person=subject),
            "form": composer(viewer=viewer, destinations=[], fixed=fixed),
        }

    def fetch(order: str, cursor: str | None) -> Page[Post]:
        return profile_feed(viewer=viewer, person=subject, order=order, cursor=cursor, limit=PAGE_SIZE)

    base_url = reverse("feed:profile", args=[subject.pk])
    return feed_response(request, fetch=fetch, template="feed/profile_posts.html", base_url=base_url, context=context)


@login_required
@require_POST
@domain_errors
def person_follow_toggle(request: AuthedRequest, user_id: int) -> HttpResponse:
    """Follow (follow=1) or unfollow (follow=0) a person; htmx gets the new button.
    Unfollowing always removes the follow, yet a hidden person still answers 404."""
    viewer = request.user
    follow = request.POST.get("follow") == "1"
    if not follow:
        person_unfollow(actor=viewer, person_id=user_id)
    person = person_get(viewer=viewer, user_id=user_id)
    if follow:
        try:
            person_follow(actor=viewer, person=person.user)
        except ValidationFailed as exc:
            messages.error(request, exc.message)
            return redirect(safe_next(request, reverse("feed:profile", args=[user_id])))
    if is_htmx(request):
        context = {"person": person, "following": follow, "can_follow": True, "announce": True}
        return render(request, "feed/profile_posts.html#follow_button", context)
    name = person.user.display_name
    messages.success(request, f"You follow {name}." if follow else f"You no longer follow {name}.")
    return redirect(safe_next(request, reverse("feed:profile", args=[user_id])))
