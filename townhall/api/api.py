"""`/api/v1`: one NinjaAPI that mounts each app's router and owns the error shape.

Every error answers `{"error": {"code", "message", "fields"}}`.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from townhall.accounts.api_auth import SessionAuth, TokenAuth
from townhall.core.errors import TownhallError

api = NinjaAPI(
    title="Townhall API",
    version="1.0.0",
    description=(
        "Townhall's REST API. Authenticate with a personal access token "
        "(`Authorization: Bearer th_...`, created under Settings → API tokens) or, from the web app, "
        "with the session cookie and the CSRF header. Lists use cursor pagination: pass `next_cursor` "
        "back as `cursor`. Errors always have the shape `{\"error\": {\"code\", \"message\", \"fields\"}}`."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api-1.0.0",
)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@api.exception_handler(TownhallError)
def _townhall_error(request: HttpRequest, exc: TownhallError) -> HttpResponse:
    return api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(part) for part in err.get("loc", []) if part not in ("body", "query", "path", "payload")]
        fields.setdefault(".".join(loc) or "request", []).append(str(err.get("msg", "Invalid value.")))
    first = next(iter(fields.items()))
    return api.create_response(
        request, error_body("invalid", f"{first[0]}: {first[1][0]}", fields), status=422
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, error_body("unauthenticated", "Sign in or send a valid API token with the needed scope."), status=401
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "Not found."), status=404)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body("error", str(exc)), status=exc.status_code)
