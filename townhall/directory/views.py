"""Pages of the people directory: thin adapters over selectors and services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from townhall.accounts.models import User
from townhall.core.announce import results_status
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.core.pagination import Page
from townhall.directory.follows import can_follow, is_following
from townhall.directory.forms import PeopleSearchForm, ProfileForm
from townhall.directory.models import Profile
from townhall.directory.permissions import can_edit_person
from townhall.directory.selectors import (
    filter_choices,
    org_chart,
    people_for_picker,
    people_search,
    person_clock,
    person_get_for_edit,
)
from townhall.directory.services import profile_update

PAGE_SIZE = 24
LIST_TEMPLATE = "directory/people_list.html"


def _viewer(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required ran first
    return user


def _status(page: Page[Profile], *, more: bool = False) -> str:
    return results_status(
        count=len(page.items),
        more=more,
        has_next=bool(page.next_cursor),
        singular="person",
        plural="people",
        empty="No one matches.",
    )


@login_required
@require_GET
def people_list(request: HttpRequest) -> HttpResponse:
    """The directory: search as you type, filters, and "Show more" by cursor.

    An htmx request gets only the part it swaps: the whole results block for a new
    search, or the next cards plus a new "Show more" for the button.
    """
    viewer = _viewer(request)
    choices: Any = filter_choices(viewer=viewer)
    form = PeopleSearchForm(
        request.GET, departments=choices["departments"], locations=choices["locations"], teams=choices["teams"]
    )
    filters = form.filters()
    cursor = request.GET.get("cursor") or None
    cursor_expired = False
    try:
        page: Page[Profile] = people_search(viewer=viewer, filters=filters, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed:
        cursor, cursor_expired = None, True
        page = people_search(viewer=viewer, filters=filters, limit=PAGE_SIZE)

    query = {
        key: value
        for key, value in (
            ("q", filters.query),
            ("department", filters.department_id),
            ("location", filters.location_id),
            ("team", filters.team_id),
        )
        if value
    }
    context = {
        "nav": "people",
        "page_title": f"People matching “{filters.query}”" if filters.query else "People",
        "form": form,
        "page": page,
        "filtered": bool(query),
        "is_later_page": bool(cursor),
        "cursor_expired": cursor_expired,
        "first_page_url": f"?{urlencode(query)}" if query else "?",
        "next_url": f"?{urlencode({**query, 'cursor': page.next_cursor})}" if page.next_cursor else "",
        "viewer_id": viewer.pk,
        "show_filters": any(choices.values()),
        "filter_fields": [form["department"], form["location"], form["team"]],
        "status": _status(page),
        "swap": False,
    }
    template = LIST_TEMPLATE
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        context["swap"] = True
        if htmx.target == "people-more" and cursor:
            template = f"{LIST_TEMPLATE}#more_page"
            context["status"] = _status(page, more=True)
        else:
            template = f"{LIST_TEMPLATE}#results"
    response = render(request, template, context)
    # The same URL answers a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_GET
def profile(request: HttpRequest, user_id: int) -> HttpResponse:
    """One person's profile and their place in the org chart. Hidden or absent: 404."""
    viewer = _viewer(request)
    try:
        chart = org_chart(viewer=viewer, user_id=user_id)
    except NotFound as exc:
        raise Http404 from exc
    person = chart.person
    viewer_zone = person.timezone if viewer.pk == person.user_id else None
    if viewer_zone is None and hasattr(viewer, "profile"):
        viewer_zone = viewer.profile.timezone
    return render(
        request,
        "directory/profile.html",
        {
            "nav": "people",
            "page_title": person.user.display_name,
            "person": person,
            "chart": chart,
            "clock": person_clock(profile=person, viewer_zone=viewer_zone),
            "is_self": viewer.pk == person.user_id,
            "can_edit": can_edit_person(viewer, person.user),
            "can_follow": can_follow(viewer, person.user),
            "following": is_following(viewer=viewer, person=person.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    """Edit a profile (the person or an admin). Invalid input answers 400 with the
    errors on the form and changes nothing; success redirects to the profile."""
    viewer = _viewer(request)
    try:
        person = person_get_for_edit(viewer=viewer, user_id=user_id)
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc

    has_avatar = bool(person.avatar)
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, has_avatar=has_avatar)
        if form.is_valid():
            try:
                profile_update(
                    actor=viewer,
                    person=person.user,
                    changes=form.changes(),
                    avatar=form.cleaned_data.get("avatar"),
                )
            except ValidationFailed as exc:
                form.show_error(exc)
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(exc.message) from exc
            else:
                is_self = viewer.pk == person.user_id
                messages.success(request, "Your profile is saved." if is_self else "The profile is saved.")
                return redirect("directory:profile", user_id=person.user_id)
        status = 400
    else:
        form = ProfileForm(initial=ProfileForm.initial_for(person), has_avatar=has_avatar)

    choices: Any = filter_choices(viewer=viewer)
    is_self = viewer.pk == person.user_id
    return render(
        request,
        "directory/profile_edit.html",
        {
            "nav": "people",
            "page_title": "Edit your profile" if is_self else f"Edit {person.user.display_name}’s profile",
            "person": person,
            "is_self": is_self,
            "form": form,
            "departments": choices["departments"],
            "locations": choices["locations"],
            "team_names": sorted({team.name for team in choices["teams"]}, key=str.casefold),
            "people": [option for option in people_for_picker(viewer=viewer) if option[0] != person.user.email],
        },
        status=status,
    )
