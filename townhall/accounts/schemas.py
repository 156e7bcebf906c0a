"""API shapes for accounts: the caller, personal access tokens, and the one error
shape every `/api/v1` operation answers with (other apps' routers import it from here,
since every app above accounts may)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import BaseModel, field_validator

from townhall.accounts.models import Role, Scope

# Database ids are 64-bit; anything outside answers 422 instead of overflowing a query.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _storable(value: Any) -> Any:
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    return value


class InputSchema(BaseModel):
    """Base for request bodies and query strings.

    A plain pydantic model, not ninja's Schema: Schema reads its input through
    attribute access, so a body of `[]` or `42` would pass as an object with no fields.
    Text no database can store (NUL, which PostgreSQL rejects; a lone surrogate from
    JSON, which cannot be encoded) answers 422 instead of failing in the query.
    """

    @field_validator("*")
    @classmethod
    def _text_is_storable(cls, value: Any) -> Any:
        return _storable(value)


class ErrorDetail(Schema):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid`, `not_found`, `unauthenticated`.")
    message: str = Field(description="A sentence fit to show to a person.")
    fields: dict[str, list[str]] = Field(description="Messages per input field; empty when the error is not about one.")


class ErrorOut(Schema):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """Declared error responses for an operation: 401 (every operation needs a
    caller), plus `statuses`. The API description says what each status means."""
    return dict.fromkeys(sorted({401, *statuses}), ErrorOut)


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    preferred_name: str
    display_name: str
    role: Role


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The public start of the secret (`th_<prefix>_…`), to tell tokens apart.")
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokenCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=80, examples=["Laptop scripts"])
    scopes: list[Scope] = Field(min_length=1, max_length=2, examples=[["read"]])
    expires_days: int | None = Field(
        default=None, ge=1, le=365, description="Days until the token stops working; omit for no expiry."
    )


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="The token itself. Shown once: only its hash is stored.")
