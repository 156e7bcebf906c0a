"""Keyset (cursor) pagination: stable under inserts, constant cost per page.

A cursor is an opaque, URL-safe token holding the ordering values of the last row
served. Ordering must end with a unique column (usually `id`) so rows never repeat.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet

from townhall.core.errors import ValidationFailed

T = TypeVar("T", bound=Model)

MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    """The cursor for a row whose order values are `values` (paginate's format)."""
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("The cursor is not valid; start again from the first page.") from exc
    if not isinstance(values, list) or len(values) != size:
        raise ValidationFailed("The cursor is not valid; start again from the first page.")
    if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
        raise ValidationFailed("The cursor is not valid; start again from the first page.")
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        raise ValidationFailed("The cursor is not valid; start again from the first page.")
    return values


def _typed(model: type[Model], order: tuple[str, ...], values: list[Any]) -> list[Any]:
    """Convert each cursor value with its model field, refusing what would not fit."""
    converted: list[Any] = []
    for name, value in zip(order, values, strict=True):
        current: Any = model
        parts = name.lstrip("-").split("__")
        try:
            for part in parts[:-1]:
                current = current._meta.get_field(part).related_model
            field = current._meta.get_field(parts[-1])
            python_value = field.to_python(value)
        except (DjangoValidationError, FieldDoesNotExist, TypeError, ValueError) as exc:
            raise ValidationFailed("The cursor is not valid; start again from the first page.") from exc
        if isinstance(python_value, int) and not -(2**63) <= python_value < 2**63:
            raise ValidationFailed("The cursor is not valid; start again from the first page.")
        converted.append(python_value)
    return converted


def _after(order: tuple[str, ...], values: list[Any]) -> Q:
    condition = Q()
    for index in range(len(order) - 1, -1, -1):
        field = order[index].lstrip("-")
        lookup = "lt" if order[index].startswith("-") else "gt"
        step = Q(**{f"{field}__{lookup}": values[index]})
        if index < len(order) - 1:
            step = step | (Q(**{field: values[index]}) & condition)
        condition = step
    return condition


def paginate(queryset: QuerySet[T], *, order: tuple[str, ...], cursor: str | None, limit: int) -> Page[T]:
    """Return one page of `queryset` in `order`, after `cursor` when given.

    Raises ValidationFailed for a malformed cursor or a limit outside 1..MAX_LIMIT.
    Costs one query.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.")
    queryset = queryset.order_by(*order)
    if cursor:
        values = _typed(queryset.model, order, _decode(cursor, len(order)))
        queryset = queryset.filter(_after(order, values))
    return cut(list(queryset[: limit + 1]), order=order, limit=limit)


def cut(rows: list[T], *, order: tuple[str, ...], limit: int) -> Page[T]:
    """The page of up to `limit + 1` rows read in `order`: the first `limit`, and the
    cursor after them when there was one more."""
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([_value(last, name.lstrip("-")) for name in order])
    return Page(items=items, next_cursor=next_cursor)


def _value(obj: Model, dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("__"):
        value = getattr(value, part)
    return value
