"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.test import Client

from townhall.accounts.models import User
from townhall.testing.clients import signed_in
from townhall.testing.factories import UserFactory

pytest_plugins: list[str] = []


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Argon2 is the production hasher; tests that measure hashing switch it back on.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def member(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def admin(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(role="admin")


@pytest.fixture
def guest(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(role="guest")


@pytest.fixture
def member_client(member: User) -> Client:
    return signed_in(member)


@pytest.fixture
def admin_client(admin: User) -> Client:
    return signed_in(admin)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """Counts that suites report with `record_property("summary", "...")` (cases, vectors,
    cycles, rows compared), printed at the end of the run, xdist workers included."""
    lines = [
        value
        for report in terminalreporter.stats.get("passed", [])
        for key, value in getattr(report, "user_properties", [])
        if key == "summary"
    ]
    if lines:
        terminalreporter.section("Townhall counts")
        for line in sorted(lines):
            terminalreporter.write_line(line)
