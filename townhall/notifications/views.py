"""Pages of notifications: the centre, settings and one-click unsubscribe. Thin
adapters over selectors and services; every action is a plain form POST + redirect
that also answers htmx with the fragment to swap."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from townhall.core.errors import NotFound, ValidationFailed
from townhall.notifications import selectors, services
from townhall.notifications.context_processors import Badge
from townhall.notifications.kinds import Channel, DigestFrequency, Kind, Level, channels_for


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _badge_oob(request: HttpRequest) -> str:
    """The header badge, for htmx to swap out of band after a change."""
    return render_to_string(
        "notifications/_badge.html", {"notifications_badge": Badge(request.user), "oob": True}, request
    )


def _centre_context(request: HttpRequest) -> dict[str, object]:
    show = "unread" if request.GET.get("show") == "unread" else "all"
    try:
        page = selectors.notification_page(
            viewer=request.user, cursor=request.GET.get("cursor") or None, unread_only=show == "unread"
        )
    except ValidationFailed:
        page = selectors.notification_page(viewer=request.user, unread_only=show == "unread")
    count = selectors.unread_count(user=request.user)
    return {
        "page": page,
        "items": page.items,
        "show": show,
        "unread": count,
        "unread_label": selectors.badge_label(count),
        "loaded_at": datetime.now().astimezone().isoformat(),
        "nav": "notifications",
        "page_title": "Notifications",
    }


@login_required
@require_GET
def centre(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/centre.html", _centre_context(request))


@login_required
@require_GET
def open_item(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification's link: it is marked read on the way."""
    item = selectors.notification_for(viewer=request.user, notification_id=notification_id)
    if item is None:
        raise Http404
    services.notification_mark_read(actor=request.user, notification_id=notification_id)
    return redirect(item.url)


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.notification_mark_read(actor=request.user, notification_id=notification_id)
    except NotFound as exc:
        raise Http404 from exc
    if _is_htmx(request):
        item = selectors.notification_for(viewer=request.user, notification_id=notification_id)
        html = render_to_string("notifications/centre.html#item", {"item": item}, request) if item else ""
        return HttpResponse(html + _badge_oob(request))
    return redirect("notifications:centre")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    before = parse_datetime(request.POST.get("before") or "")
    changed = services.notifications_mark_all_read(actor=request.user, before=before)
    if _is_htmx(request):
        html = render_to_string("notifications/centre.html#centre", _centre_context(request), request)
        return HttpResponse(html + _badge_oob(request))
    if changed:
        messages.success(request, "All caught up: every notification is marked read.")
    return redirect("notifications:centre")


@login_required
@require_GET
def badge(request: HttpRequest) -> HttpResponse:
    """The header badge alone (htmx and the realtime app swap it in)."""
    return render(request, "notifications/_badge.html", {"notifications_badge": Badge(request.user)})


def _save_preferences(request: HttpRequest, prefs: selectors.Preferences) -> None:
    """Save the full state the form shows: an unticked box is off."""
    channels = {
        (kind, channel): f"{kind}:{channel}" in request.POST for kind in Kind.values for channel in channels_for(kind)
    }
    levels: dict[int, str] = {}
    for row in prefs.communities:
        value = request.POST.get(f"level:{row.community_id}")
        if value is not None:
            levels[row.community_id] = value
    services.preferences_update(
        actor=request.user, channels=channels, digest=request.POST.get("digest") or None, levels=levels
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    prefs = selectors.preferences(user=request.user)
    error = ""
    saved = False
    if request.method == "POST":
        try:
            _save_preferences(request, prefs)
        except ValidationFailed as exc:
            error = exc.message
        else:
            if not _is_htmx(request):
                messages.success(request, "Notification settings saved.")
                return redirect("notifications:preferences")
            saved = True
            prefs = selectors.preferences(user=request.user)
    context = {
        "prefs": prefs,
        "channels": Channel.choices,
        "digest_choices": DigestFrequency.choices,
        "level_choices": Level.choices,
        "error": error,
        "saved": saved,
        "nav": "settings",
        "page_title": "Notification settings",
    }
    template = "notifications/preferences.html#form" if _is_htmx(request) else "notifications/preferences.html"
    return render(request, template, context, status=400 if error else 200)


@csrf_exempt  # RFC 8058 one-click: mail clients POST without a session or CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (a link scanner must not unsubscribe anyone); POST, from the
    page or a mail client's one-click button, switches that email off. The signed
    token is the only authority; no sign-in needed."""
    try:
        person, kind = services.unsubscribe_read(token)
    except NotFound as exc:
        raise Http404 from exc
    label = "digest emails" if kind == services.DIGEST else f"emails about “{Kind(kind).label.lower()}”"
    done = False
    if request.method == "POST":
        services.unsubscribe(token=token)
        done = True
    return render(
        request,
        "notifications/unsubscribe.html",
        {"label": label, "done": done, "email": person.email, "page_title": "Unsubscribe"},
    )
