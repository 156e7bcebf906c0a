"""`/api/v1`: one NinjaAPI that mounts each app's router and owns authentication and
the error shape.

Every error answers `{"error": {"code", "message", "fields"}}`, whatever raised it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from townhall.accounts.api import router as accounts_router
from townhall.accounts.api_auth import SessionAuth, TokenAuth
from townhall.api.notifications import router as notifications_router
from townhall.api.search import router as search_router
from townhall.communities.api import router as communities_router
from townhall.core.errors import (
    DATABASE_RETRY_AFTER,
    DATABASE_UNAVAILABLE,
    PermissionDenied,
    TownhallError,
    is_database_unavailable,
)
from townhall.directory.api import router as directory_router
from townhall.feed.api import router as feed_router
from townhall.posts.api import router as posts_router
from townhall.reactions.api import router as reactions_router

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Townhall's REST API.

**Authentication.** Send a personal access token (`Authorization: Bearer th_...`, created
with `POST /api/v1/tokens` or under Settings → API tokens), or, from the web app, the
session cookie plus the `X-CSRFToken` header on every method but GET. A token's `read`
scope allows GET; `write` allows POST, PATCH and DELETE. A token without the scope a
method needs is treated as no credentials at all: **401**, the same answer as a
missing, unknown, expired or revoked token or a deactivated account. A signed-in session
that sends an unsafe method without a valid CSRF token gets **403** (`csrf_failed`).

**Errors** always have the shape `{"error": {"code", "message", "fields"}}`:
`message` is fit to show to a person and `fields` maps input fields to their messages.

| status | meaning |
|---|---|
| 400 | the body is not valid JSON (`bad_request`) |
| 401 | no valid credentials for this method (`unauthenticated`) |
| 403 | not allowed (`forbidden`), or CSRF failed (`csrf_failed`) |
| 404 | not found, or not visible to you: the two are indistinguishable (`not_found`) |
| 409 | a request with the same `Idempotency-Key` is still in progress (`conflict`) |
| 422 | a parameter or field is not valid (`invalid`) |
| 503 | the database could not be reached; retry after `Retry-After` seconds (`unavailable`) |

**Retries.** `POST /posts`, `POST /posts/{id}/comments` and `POST /posts/{id}/shares`
take an optional `Idempotency-Key` header (1-100 printable ASCII characters, e.g. a
UUID; otherwise 400). Retrying with the same key and body within 24 hours (after a 503
or a lost answer) creates nothing and returns the first answer with
`Idempotent-Replayed: true`; the same key with another body is a 422. Keys are per
user, method and path; failed requests store nothing. Reactions (`PUT`) need no key.

**Lists** use cursor pagination: pass the answer's `next_cursor` back as `cursor` until
it is null. `limit` is 1-100 (default 24).
"""

CSRF_FAILED = "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"


class BrowserSessionAuth(SessionAuth):
    """The session cookie, checked for CSRF only when it signs someone in.

    Without a signed-in session there is nothing for CSRF to protect, so a token
    caller whose token does not fit falls through to 401 rather than a CSRF 403.
    """

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        try:
            return super().__call__(request)
        except HttpError as exc:  # ninja's CSRF failure
            raise CsrfFailed(CSRF_FAILED) from exc


api = NinjaAPI(
    title="Townhall API",
    version="1.0.0",
    description=DESCRIPTION,
    auth=[TokenAuth(), BrowserSessionAuth()],
    urls_namespace="api-1.0.0",
    # Swagger UI comes from ninja's static files (no CDN); no validator badge calling out.
    docs=Swagger(settings={"validatorUrl": None}),
)
api.add_router("", accounts_router)
api.add_router("", directory_router)
api.add_router("/communities", communities_router)
api.add_router("", posts_router)
api.add_router("", reactions_router)
api.add_router("", feed_router)
api.add_router("", notifications_router)
api.add_router("", search_router)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@api.exception_handler(TownhallError)
def _townhall_error(request: HttpRequest, exc: TownhallError) -> HttpResponse:
    return api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status)


# Where ninja reports a value came from, and the name our operations give their body.
_LOCATION_PARTS = {"body", "query", "path", "header", "cookie", "form", "payload", "filters"}


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(part) for part in err.get("loc", ())]
        name = ".".join(part for part in loc if part not in _LOCATION_PARTS) or (loc[0] if loc else "request")
        fields.setdefault(name, []).append(str(err.get("msg", "Invalid value.")))
    message = next((f"{name}: {messages[0]}" for name, messages in fields.items()), "The request is not valid.")
    return api.create_response(request, error_body("invalid", message, fields), status=422)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        error_body("unauthenticated", "Sign in or send a valid API token with the scope this method needs."),
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="townhall"'
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "Not found."), status=404)


_HTTP_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "throttled",
}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = _HTTP_ERROR_CODES.get(exc.status_code, "error")
    message = "The request body is not valid JSON." if code == "bad_request" else str(exc)
    return api.create_response(request, error_body(code, message), status=exc.status_code)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    if is_database_unavailable(exc):  # a dropped connection: say so, the client retries
        logger.warning("Database unavailable in %s %s: %s", request.method, request.path, exc)
        response = api.create_response(request, error_body("unavailable", DATABASE_UNAVAILABLE), status=503)
        response["Retry-After"] = DATABASE_RETRY_AFTER
        return response
    # Even a bug answers in the API's shape; the traceback goes to the log.
    logger.exception("Unhandled error in %s %s", request.method, request.path)
    return api.create_response(request, error_body("server_error", "Something went wrong on our side."), status=500)
