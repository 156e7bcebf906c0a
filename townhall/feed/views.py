from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from townhall.directory.selectors import newcomers, person_get


@login_required
def home(request: HttpRequest) -> HttpResponse:
    me = person_get(viewer=request.user, user_id=request.user.pk)
    return render(
        request,
        "feed/home.html",
        {"nav": "home", "page_title": "Home", "me": me, "newcomers": newcomers(viewer=request.user, limit=8)},
    )
