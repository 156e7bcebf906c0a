from __future__ import annotations

import base64
import json

import pytest

from townhall.accounts.models import User
from townhall.core.errors import ValidationFailed
from townhall.core.pagination import paginate
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_paginate_walks_every_row_once_in_order():
    for n in range(7):
        UserFactory(full_name=f"Same Name {n % 2}")
    seen: list[int] = []
    cursor = None
    while True:
        page = paginate(User.objects.all(), order=("full_name", "-id"), cursor=cursor, limit=3)
        seen.extend(u.pk for u in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = list(User.objects.order_by("full_name", "-id").values_list("pk", flat=True))
    assert seen == expected


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "bm90IGpzb24",
        _cursor({"a": 1}),
        _cursor([None, None]),
        _cursor(["x", "not-an-int"]),
        _cursor(["x", 2**80]),
        _cursor(["x"]),
        _cursor([True, 1]),
    ],
)
def test_paginate_bad_cursor_is_a_clear_error(cursor):
    UserFactory()
    with pytest.raises(ValidationFailed, match="cursor is not valid"):
        paginate(User.objects.all(), order=("full_name", "id"), cursor=cursor, limit=3)


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_paginate_limit_bounds(limit):
    with pytest.raises(ValidationFailed, match="limit"):
        paginate(User.objects.all(), order=("id",), cursor=None, limit=limit)
