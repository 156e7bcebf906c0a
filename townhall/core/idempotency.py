"""At most once: a create that is retried (after a 503, a lost answer, a double click)
creates nothing new and answers what the first request answered.

The API takes an `Idempotency-Key` header on the operations that create things; the
post composer and the comment forms carry a one-time hidden token
(`idempotency_token`). Either is stored in `IdempotencyKey`, scoped to the user, the
method and the path, with a hash of the request and the answer, in the same
transaction as what the request created: a commit means the key is recorded, a
rollback means neither exists and a retry runs afresh.

- Same key, same request, within 24 hours: the stored answer, with
  `Idempotent-Replayed: true`, and nothing is created.
- Same key, another request: 422 (the key was used for something else).
- Two at once: the unique constraint lets one insert; the other waits for it
  (PostgreSQL's unique index, SQLite's single writer) and replays its answer, or gets
  409 if the first is somehow still unfinished.
- A request that fails (a validation error, a 503 before the commit) stores nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.safestring import mark_safe

from townhall.core.errors import BadRequest, Conflict, TownhallError, ValidationFailed
from townhall.core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
FORM_FIELD = "idempotency_token"
MAX_LENGTH = 100
TTL = timedelta(hours=24)

KEY_INVALID = f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII characters."
KEY_REUSED = (
    f"This {HEADER} was already used with a different request body: send a new key for a new request, "
    "or the same body to get the first answer again."
)
FORM_REUSED = "This form was already sent with different content. Check your text and send it again."
IN_PROGRESS = f"A request with this {HEADER} is still in progress: retry in a moment."


class KeyReused(ValidationFailed):
    """The key was used with another request body."""


class InProgress(Conflict):
    """The first request with this key has not finished."""


class FormTokenInvalid(BadRequest):
    pass


# What `produce` answers: the response, and whether it created something (only then
# is the key kept; an answer that created nothing is not replayed).
Produced = tuple[HttpResponse, bool]


def valid_key(value: str) -> bool:
    return 0 < len(value) <= MAX_LENGTH and all(" " <= ch <= "~" for ch in value)


def header_key(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, None without one; BadRequest when malformed."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not valid_key(value):
        raise BadRequest(KEY_INVALID, fields={HEADER: [KEY_INVALID]})
    return value


def form_key(request: HttpRequest) -> str | None:
    """The one-time token of a composer or comment form (new_form_token), if any."""
    value = request.POST.get(FORM_FIELD, "")
    if not value:
        return None
    if not valid_key(value):
        raise FormTokenInvalid("The form is damaged: reload the page and try again.")
    return value


def new_form_token() -> str:
    return secrets.token_urlsafe(18)


def form_token_input() -> str:
    """The hidden one-time token for a composer or comment form (a new one per render:
    the htmx answer to a sent form brings a fresh form with a fresh token). Nothing to
    escape: the name is a constant and the token URL-safe base64."""
    return mark_safe(f'<input type="hidden" name="{FORM_FIELD}" value="{new_form_token()}">')  # nosec B308 B703


def body_hash(request: HttpRequest) -> str:
    return hashlib.sha256(request.body).hexdigest()


def form_hash(request: HttpRequest) -> str:
    """A form submission's fingerprint: its fields (not the CSRF or one-time token,
    nor the htmx-only bookkeeping) and its files' names, sizes and contents."""
    skip = {"csrfmiddlewaretoken", FORM_FIELD, "form_id", "next"}
    fields = sorted((name, request.POST.getlist(name)) for name in request.POST if name not in skip)
    files: list[tuple[str, str, int, str]] = []
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            files.append((name, upload.name or "", upload.size or 0, digest.hexdigest()))
    return hashlib.sha256(json.dumps([fields, files]).encode()).hexdigest()


def _fresh(user_id: int, method: str, path: str, key: str) -> IdempotencyKey | None:
    cutoff = timezone.now() - TTL
    return IdempotencyKey.objects.filter(
        user_id=user_id, method=method, path=path, key=key, created_at__gt=cutoff
    ).first()


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(row.body, status=row.status, content_type=row.content_type or None)
    if row.location:
        response["Location"] = row.location
    response[REPLAYED_HEADER] = "true"
    return response


def _answer_existing(row: IdempotencyKey | None, request_hash: str, reused_message: str) -> HttpResponse:
    if row is None or row.status == 0:
        raise InProgress(IN_PROGRESS)
    if row.request_hash != request_hash:
        raise KeyReused(reused_message, fields={HEADER: [reused_message]})
    return _replay(row)


def run_once(
    *,
    user_id: int,
    request: HttpRequest,
    key: str,
    request_hash: str,
    produce: Callable[[], Produced],
    reused_message: str = KEY_REUSED,
) -> HttpResponse:
    """Run `produce` (which creates something and answers) at most once for this key."""
    method, path = request.method or "POST", request.path[:255]
    existing = _fresh(user_id, method, path, key)
    if existing is not None:
        return _answer_existing(existing, request_hash, reused_message)
    with transaction.atomic():
        # A key older than the TTL that the prune job has not removed yet is forgotten.
        IdempotencyKey.objects.filter(
            user_id=user_id, method=method, path=path, key=key, created_at__lte=timezone.now() - TTL
        ).delete()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user_id=user_id,
                    method=method,
                    path=path,
                    key=key,
                    request_hash=request_hash,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            # Another request with this key committed first (we waited for it).
            return _answer_existing(_fresh(user_id, method, path, key), request_hash, reused_message)
        response, created = produce()
        if not created:
            row.delete()
            return response
        row.status = response.status_code
        row.content_type = response.get("Content-Type", "")[:100]
        row.location = response.get("Location", "")[:2000]
        row.body = response.content.decode("utf-8", errors="replace")
        row.save(update_fields=["status", "content_type", "location", "body"])
    return response


def form_once(
    request: HttpRequest,
    *,
    user_id: int,
    produce: Callable[[], Produced],
    refused: Callable[[TownhallError], HttpResponse],
) -> HttpResponse:
    """run_once for a composer or comment form (its one-time token); a form without
    a token (an old page) just runs. `refused` shows the form again with the message
    when the token is damaged, was used for other content or is still being sent."""
    try:
        key = form_key(request)
        if key is None:
            return produce()[0]
        return run_once(
            user_id=user_id,
            request=request,
            key=key,
            request_hash=form_hash(request),
            produce=produce,
            reused_message=FORM_REUSED,
        )
    except (FormTokenInvalid, KeyReused, InProgress) as exc:
        return refused(exc)


def json_response(status: int, data: Any) -> HttpResponse:
    """A pydantic schema (ninja's Schema) as the JSON ninja itself would answer."""
    from ninja.responses import NinjaJSONEncoder

    payload = data.model_dump() if hasattr(data, "model_dump") else data
    return HttpResponse(
        json.dumps(payload, cls=NinjaJSONEncoder), status=status, content_type="application/json; charset=utf-8"
    )


def prune(*, now: Any = None) -> int:
    """Delete keys past the TTL (the periodic job `core.prune_idempotency_keys`)."""
    cutoff = (now or timezone.now()) - TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted
