"""`/api/v1` operations for the caller's account and personal access tokens.

Thin adapters: reads go through selectors, writes through services. Authentication
is the API's (session with CSRF, or a bearer token whose scope fits the method).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Router, Status

from townhall.accounts.api_auth import current_user
from townhall.accounts.models import ApiToken
from townhall.accounts.schemas import Id, MeOut, TokenCreatedOut, TokenCreateIn, TokenOut, error_responses
from townhall.accounts.selectors import token_list
from townhall.accounts.services import token_create, token_revoke

router = Router()


@router.get("/me", response={200: MeOut, **error_responses()}, tags=["me"], operation_id="me_get")
def me_get(request: HttpRequest) -> MeOut:
    """The account making the request."""
    return MeOut.model_validate(current_user(request), from_attributes=True)


@router.get("/tokens", response={200: list[TokenOut], **error_responses()}, tags=["tokens"], operation_id="token_list")
def tokens_list(request: HttpRequest) -> list[ApiToken]:
    """The caller's live (not revoked) tokens, newest first. Secrets are never shown again."""
    return list(token_list(actor=current_user(request)))


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, **error_responses(400, 403, 422)},
    tags=["tokens"],
    operation_id="token_create",
)
def tokens_create(request: HttpRequest, payload: TokenCreateIn) -> Status[TokenCreatedOut]:
    """Create a personal access token; the answer holds its secret, shown this once.

    Needs a session or a token with the `write` scope."""
    token, secret = token_create(
        actor=current_user(request),
        name=payload.name,
        scopes=[scope.value for scope in payload.scopes],
        expires_days=payload.expires_days,
    )
    shown = TokenOut.model_validate(token, from_attributes=True).model_dump()
    return Status(201, TokenCreatedOut.model_validate({**shown, "secret": secret}))


@router.delete(
    "/tokens/{token_id}",
    response={204: None, **error_responses(403, 404, 422)},
    tags=["tokens"],
    operation_id="token_revoke",
)
def tokens_revoke(request: HttpRequest, token_id: Path[Id]) -> Status[None]:
    """Revoke one of the caller's tokens; it stops working at once. Anyone else's
    token answers 404, exactly like one that does not exist."""
    token_revoke(actor=current_user(request), token_id=token_id)
    return Status(204, None)
