"""A failing robust on_commit hook that is a functools.partial is logged and
swallowed; the write stays and the caller sees no error (core/commit_hooks.py)."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import transaction

from townhall.accounts.models import User
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _fail(what: str) -> None:
    raise ConnectionError(f"broker down ({what})")


def test_failing_partial_hook_inside_a_transaction_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        UserFactory(email="kept@example.com")
        transaction.on_commit(partial(_fail, "in transaction"), robust=True)
    assert User.objects.filter(email="kept@example.com").exists()
    assert "Error calling _fail in on_commit()" in caplog.text


def test_failing_partial_hook_in_autocommit_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    transaction.on_commit(partial(_fail, "autocommit"), robust=True)
    assert "Error calling _fail in on_commit()" in caplog.text


def test_hooks_that_are_not_robust_still_raise() -> None:
    with pytest.raises(ConnectionError), transaction.atomic():
        transaction.on_commit(partial(_fail, "not robust"))
