from __future__ import annotations

import os
import posixpath
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, SuspiciousOperation
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils._os import safe_join

from townhall.core import media_access
from townhall.core.errors import DATABASE_RETRY_AFTER, DATABASE_UNAVAILABLE, is_database_unavailable


def _error(request: HttpRequest, status: int, heading: str, detail: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": _CODES[status], "message": detail, "fields": {}}}, status=status)
    return render(request, "core/error.html", {"heading": heading, "detail": detail}, status=status)


_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 500: "server_error", 503: "unavailable"}


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Bad request", "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "Not allowed", "You don't have permission to do that.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # One body for "never existed" and "exists but hidden from you".
    return _error(request, 404, "Page not found", "There is nothing here, or you don't have access to it.")


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this handler inside its `except`, so the exception is at hand.
    if is_database_unavailable(sys.exc_info()[1]):
        return _database_unavailable(request)
    return _error(request, 500, "Something went wrong", "The error has been logged. Please try again.")


def _database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 without touching the database: the page renders with no request context
    (no session, no user), as a signed-out page would."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"error": {"code": "unavailable", "message": DATABASE_UNAVAILABLE, "fields": {}}}, status=503
        )
    else:
        page: str
        try:
            page = render_to_string(
                "core/error.html", {"heading": "Temporarily unavailable", "detail": DATABASE_UNAVAILABLE}
            )
        except Exception:  # the plain page below still says it all
            page = f"<!doctype html><title>Temporarily unavailable</title><p>{DATABASE_UNAVAILABLE}</p>"
        response = HttpResponse(page, status=503)
    response["Retry-After"] = DATABASE_RETRY_AFTER
    return response


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format (townhall/core/observability.py); 404 for anyone not allowed."""
    from townhall.core.observability import may_read_metrics, render_metrics

    if not may_read_metrics(request):
        raise Http404
    return HttpResponse(render_metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")


# Raster types Townhall itself writes (every upload is re-encoded to WebP); anything
# else under MEDIA_ROOT is served as an attachment.
_INLINE_TYPES = {".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def media(request: HttpRequest, path: str) -> FileResponse:
    """Serve user media to those allowed to see it, from MEDIA_ROOT or from the
    private bucket of MEDIA_STORAGE_URL (core/storage.py).

    Only re-encoded images are stored under media; still, never let the browser
    sniff a type or run anything inline.
    """
    if posixpath.normpath(path) != path or path.startswith("/") or not media_access.can_read(request.user, path):
        raise Http404
    storage = storages["default"]
    handle: Any
    if isinstance(storage, FileSystemStorage):
        try:
            full = safe_join(str(settings.MEDIA_ROOT), path)
            handle = open(full, "rb")  # noqa: SIM115 - FileResponse closes it
        except (OSError, ValueError, SuspiciousFileOperation) as exc:
            raise Http404 from exc
    else:  # object storage (core/storage.py): streamed from the private bucket
        try:
            if not storage.exists(path):
                raise Http404
            handle = storage.open(path, "rb")
        except (OSError, ValueError, SuspiciousOperation) as exc:
            raise Http404 from exc
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _INLINE_TYPES:
        response = FileResponse(handle, content_type=_INLINE_TYPES[suffix])
        response["Content-Disposition"] = f'inline; filename="{posixpath.basename(path)}"'
    else:
        # Not an image Townhall re-encoded: an opaque download, never a page or a script.
        response = FileResponse(handle, content_type="application/octet-stream")
        response["Content-Disposition"] = "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
