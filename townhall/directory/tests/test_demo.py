from __future__ import annotations

import dataclasses
import hashlib
import stat
from datetime import date, timedelta

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from townhall.accounts.models import Organisation, Role, User
from townhall.accounts.selectors import guidelines_pending, organisation_get
from townhall.core.errors import Conflict, ValidationFailed
from townhall.directory.demo import ADMIN_EMAIL, MEMBER_EMAIL, build_demo, generate_people, saved_password
from townhall.directory.models import Department, Location, Profile, Team
from townhall.directory.services import profile_refresh_search

ANCHOR = date(2025, 6, 2)


@pytest.fixture
def var_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Point the credentials file at a temporary var/ directory."""
    settings.ENV = dataclasses.replace(settings.ENV, var_dir=tmp_path)
    return tmp_path


def _fingerprint(people) -> str:  # type: ignore[no-untyped-def]
    text = "\n".join(
        f"{p.email}|{p.full_name}|{p.title}|{p.team}|{p.manager}|{p.start_date}|{p.skills}" for p in people
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_demo_generator_is_deterministic():
    first = generate_people(people=160, seed=7, today=ANCHOR)
    assert first == generate_people(people=160, seed=7, today=ANCHOR)
    assert _fingerprint(first) != _fingerprint(generate_people(people=160, seed=8, today=ANCHOR))


def test_demo_generator_builds_a_real_hierarchy():
    people = generate_people(people=400, seed=3, today=ANCHOR)
    assert people[0].manager is None and people[0].title == "Chief Executive Officer"
    assert all(p.manager is not None and p.manager < i for i, p in enumerate(people) if i)  # so no loops
    emails = [p.email for p in people]
    assert len(set(emails)) == len(emails) and all(e.isascii() for e in emails)
    assert {ADMIN_EMAIL, MEMBER_EMAIL} <= set(emails)
    assert any(not p.full_name.isascii() for p in people)  # José, Zoë, Søren...
    heads = [p for p in people if p.manager == 0]
    assert len(heads) >= 8
    assert all(people[p.manager].team == p.team or people[p.manager].manager == 0 for p in people[1:] if p.team)
    starts = [p.start_date for p in people]
    assert min(starts) <= ANCHOR - timedelta(days=7 * 365) and max(starts) < ANCHOR
    assert sum(1 for s in starts if s >= ANCHOR - timedelta(days=30)) >= 5
    assert len({p.title for p in people}) > 40
    assert all(p.timezone for p in people)


def test_demo_generator_refuses_silly_sizes():
    with pytest.raises(ValidationFailed):
        generate_people(people=3, seed=1, today=ANCHOR)


@pytest.mark.django_db
def test_demo_build_loads_the_organisation(var_dir, django_assert_max_num_queries):
    with django_assert_max_num_queries(60):
        result = build_demo(people=160, seed=7)

    assert result.people == User.objects.count() == Profile.objects.count() == 160
    org = organisation_get()
    assert (org.name, org.allowed_domains, org.guidelines_version) == ("Northwind Group", ["northwind.example"], 1)
    assert len(org.guidelines.split("\n\n")) >= 4
    assert Department.objects.count() >= 8 and Location.objects.count() >= 6
    for department in Department.objects.all():
        assert 2 <= department.teams.count() <= 4
    roots = Profile.objects.filter(manager__isnull=True)
    assert roots.count() == 1 and roots.get().title == "Chief Executive Officer"
    managers = dict(Profile.objects.values_list("user_id", "manager_id"))
    for start in managers:
        seen, node = set(), start
        while node is not None:
            assert node not in seen, "reporting loop"
            seen.add(node)
            node = managers[node]
    recent = Profile.objects.filter(start_date__gte=timezone.localdate() - timedelta(days=30)).count()
    assert recent >= 5
    for profile in Profile.objects.select_related("user", "department", "team").order_by("?")[:20]:
        written = (profile.search_text, profile.sort_name)
        profile_refresh_search(profile=profile)
        assert written == (profile.search_text, profile.sort_name)
        assert profile.team is None or profile.team.department_id == profile.department_id


@pytest.mark.django_db
def test_demo_credentials_sign_in(var_dir):
    result = build_demo(people=60, seed=1)

    path = var_dir / "demo-credentials.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert saved_password(path) == result.password
    assert result.password in result.sign_in and "/signin" in result.sign_in
    admin = authenticate(None, email=ADMIN_EMAIL, password=result.password)
    member = authenticate(None, email=MEMBER_EMAIL, password=result.password)
    assert admin is not None and admin.role == Role.ADMIN
    assert member is not None and member.role == Role.MEMBER
    someone = User.objects.exclude(email__in=[ADMIN_EMAIL, MEMBER_EMAIL]).first()
    assert authenticate(None, email=someone.email, password=result.password) == someone
    assert authenticate(None, email=ADMIN_EMAIL, password="wrong-password") is None
    org = Organisation.objects.get()
    assert not guidelines_pending(user=admin, organisation=org)
    assert guidelines_pending(user=member, organisation=org)


@pytest.mark.django_db
def test_demo_build_refuses_a_database_with_people(var_dir, member):
    with pytest.raises(Conflict):
        build_demo(people=60)
    assert User.objects.count() == 1 and not Team.objects.exists()


@pytest.mark.django_db
def test_demo_reuses_a_saved_password(var_dir):
    (var_dir / "demo-credentials.txt").write_text("Sign in at x as y with password kept-secret-123\n")
    assert build_demo(people=60).password == "kept-secret-123"


@pytest.mark.django_db
def test_demo_10000_people_is_bulk(var_dir):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = build_demo(people=10_000, seed=7)
    assert result.people == User.objects.count() == 10_000
    assert len(queries) < 500, len(queries)
