from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from townhall.accounts.models import User
from townhall.accounts.permissions import can_browse_directory
from townhall.directory.selectors import PROFILE_FIELDS, newcomers, person_clock, person_get, profile_missing

NEWCOMERS_SHOWN = 8


def _greeting(hour: int) -> str:
    if 5 <= hour < 12:
        return "Good morning"
    if 12 <= hour < 18:
        return "Good afternoon"
    return "Good evening"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The home page until the feed lands: a greeting, the profile nudge, new joiners
    and shortcuts into the directory."""
    viewer = request.user
    assert isinstance(viewer, User)  # login_required ran first
    me = person_get(viewer=viewer, user_id=viewer.pk)
    missing = profile_missing(me)
    clock = person_clock(profile=me)
    return render(
        request,
        "feed/home.html",
        {
            "nav": "home",
            "page_title": "Home",
            "me": me,
            "greeting": _greeting(clock.local_time.hour),
            "clock": clock,
            "missing": missing,
            "profile_done": len(PROFILE_FIELDS) - len(missing),
            "profile_total": len(PROFILE_FIELDS),
            "newcomers": newcomers(viewer=viewer, limit=NEWCOMERS_SHOWN),
            "can_browse": can_browse_directory(viewer),
        },
    )
