from __future__ import annotations

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils._os import safe_join

from townhall.core import media_access


def _error(request: HttpRequest, status: int, heading: str, detail: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": _CODES[status], "message": detail, "fields": {}}}, status=status)
    return render(request, "core/error.html", {"heading": heading, "detail": detail}, status=status)


_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 500: "server_error"}


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Bad request", "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "Not allowed", "You don't have permission to do that.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # One body for "never existed" and "exists but hidden from you".
    return _error(request, 404, "Page not found", "There is nothing here, or you don't have access to it.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, "Something went wrong", "The error has been logged. Please try again.")


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


def media(request: HttpRequest, path: str) -> FileResponse:
    """Serve user media from local storage (object storage serves it in production).

    Only re-encoded images are stored under media; still, never let the browser
    sniff a type or run anything inline.
    """
    if not media_access.can_read(request.user, path):
        raise Http404
    try:
        full = safe_join(str(settings.MEDIA_ROOT), path)
        handle = open(full, "rb")  # noqa: SIM115 - FileResponse closes it
    except (OSError, ValueError, SuspiciousFileOperation) as exc:
        raise Http404 from exc
    response = FileResponse(handle)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
