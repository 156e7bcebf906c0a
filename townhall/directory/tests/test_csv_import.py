from __future__ import annotations

import codecs

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.urls import reverse

from townhall.accounts.models import Role, User
from townhall.core.errors import PermissionDenied
from townhall.directory.csv_import import column_letter, import_people
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.services import ProfileChanges, profile_refresh_search, profile_update
from townhall.directory.text import search_text_for
from townhall.testing.factories import UserFactory, profile_of

pytestmark = pytest.mark.django_db

HAPPY = """\
Email,Full Name,Title,Department,Team,Location,Manager_Email,Skills,Interests,Start_Date,Timezone,Role,Pronouns
zoe@acme.example,Zoë Müller,Engineer,Engineering,Platform,Berlin,boss@acme.example,Python; Django|SQL,Chess,2024-03-18,Europe/Berlin,member,she/her
boss@acme.example,Søren Boss,CTO,Engineering,,Copenhagen,,Leadership,,2019-01-07,Europe/Copenhagen,admin,
kim@example.com,,Senior Engineer,Engineering,Platform,,boss@acme.example,,,,,,
"""


def _state() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Profile.objects.count(),
        Department.objects.count(),
        Team.objects.count(),
        Location.objects.count(),
        Tag.objects.count(),
        Profile.skills.through.objects.count(),
        Profile.interests.through.objects.count(),
        hash(tuple(Profile.objects.order_by("pk").values_list("title", "manager_id", "department_id", "search_text"))),
        hash(tuple(User.objects.order_by("pk").values_list("full_name", "role"))),
    )


@pytest.fixture
def kim(db) -> User:  # type: ignore[no-untyped-def]
    return UserFactory(email="kim@example.com", full_name="Kim Lee")


def test_import_creates_updates_and_resolves_managers_in_the_file(admin, kim):
    report = import_people(actor=admin, data=HAPPY.encode(), dry_run=False)

    assert report.ok, report.errors
    assert report.applied
    assert [(r.line, r.email, r.action) for r in report.rows] == [
        (2, "zoe@acme.example", "created"),
        (3, "boss@acme.example", "created"),
        (4, "kim@example.com", "updated"),
    ]
    zoe = Profile.objects.select_related("user", "department", "team", "location", "manager").get(
        user__email="zoe@acme.example"
    )
    boss = User.objects.get(email="boss@acme.example")
    assert zoe.user.full_name == "Zoë Müller"
    assert not zoe.user.has_usable_password()
    assert zoe.manager == boss
    assert (zoe.title, zoe.department.name, zoe.team.name, zoe.location.name) == (
        "Engineer",
        "Engineering",
        "Platform",
        "Berlin",
    )
    assert zoe.team.department_id == zoe.department_id
    assert sorted(zoe.skills.values_list("name", flat=True)) == ["Django", "Python", "SQL"]
    assert list(zoe.interests.values_list("name", flat=True)) == ["Chess"]
    assert str(zoe.start_date) == "2024-03-18"
    assert (zoe.timezone, zoe.pronouns) == ("Europe/Berlin", "she/her")
    assert boss.role == Role.ADMIN
    kim_profile = profile_of(kim)
    assert kim_profile.manager_id == boss.pk and kim_profile.title == "Senior Engineer"
    assert kim_profile.team.name == "Platform"
    assert User.objects.get(pk=kim.pk).full_name == "Kim Lee"  # empty cell leaves the name
    assert Department.objects.filter(name__iexact="engineering").count() == 1
    # The bulk writer computes exactly what the service would.
    for profile in Profile.objects.filter(user__email__in=["zoe@acme.example", "kim@example.com"]):
        written = (profile.search_text, profile.sort_name)
        profile_refresh_search(profile=profile)
        assert written == (profile.search_text, profile.sort_name)


def test_import_updates_report_old_and_new_values(admin, kim):
    profile_update(actor=admin, person=kim, changes=ProfileChanges(title="Engineer", department="Engineering"))
    csv = "email,title,department,skills\nKIM@example.com,Staff Engineer,engineering,Go\n"

    report = import_people(actor=admin, data=csv, dry_run=True)

    (row,) = report.rows
    assert row.action == "updated"
    changes = {c.field: (c.old, c.new) for c in row.changes}
    assert changes == {
        "title": ("Engineer", "Staff Engineer"),
        "skills": ("", "Go"),
    }  # department matched ignoring case


def test_import_same_values_is_unchanged(admin, kim):
    profile_update(actor=admin, person=kim, changes=ProfileChanges(title="Engineer", skills=["Go", "SQL"]))
    report = import_people(actor=admin, data="email,title,skills\nkim@example.com,Engineer,sql;go\n", dry_run=False)
    assert [r.action for r in report.rows] == ["unchanged"]
    assert report.summary() == "Created 0 people and updated 0; 1 unchanged."


def test_import_dry_run_writes_nothing(admin, kim):
    before = _state()
    report = import_people(actor=admin, data=HAPPY.encode(), dry_run=True)
    assert report.ok and not report.applied
    assert [r.action for r in report.rows] == ["created", "created", "updated"]
    created = {c.field: c.new for c in report.rows[0].changes}
    assert created["manager_email"] == "boss@acme.example" and created["skills"] == "Python, Django, SQL"
    assert _state() == before


def test_import_department_change_clears_team_of_old_department(admin, kim):
    profile_update(actor=admin, person=kim, changes=ProfileChanges(department="Engineering", team="Platform"))
    report = import_people(actor=admin, data="email,department\nkim@example.com,Sales\n", dry_run=False)
    assert {c.field: (c.old, c.new) for c in report.rows[0].changes} == {
        "department": ("Engineering", "Sales"),
        "team": ("Platform", ""),
    }
    profile = profile_of(kim)
    assert profile.department.name == "Sales" and profile.team is None


ERROR_CASES = [
    ("email,name\nnot-an-email,X\n", 2, "email", "not a valid email"),
    ("email,name\n\n\nnot-an-email,X\n", 4, "email", "not a valid email"),  # blank spreadsheet rows count
    ('email,name\nok@example.com,"Two\nlines"\nbad,X\n', 3, "email", "not a valid email"),  # one record, one row
    ("email,name\nok@example.com,A\nOK@example.com,B\n", 3, "email", "already on line 2"),
    ("email,name,manager_email\nok@example.com,A,ghost@example.com\n", 2, "manager_email", "No one with the email"),
    ("email,name,manager_email\nok@example.com,A,ok@example.com\n", 2, "manager_email", "own manager"),
    ("email,name,start_date\nok@example.com,A,18/03/2024\n", 2, "start_date", "YYYY-MM-DD"),
    ("email,name,start_date\nok@example.com,A,2024-02-30\n", 2, "start_date", "YYYY-MM-DD"),
    ("email,name,timezone\nok@example.com,A,Mars/Olympus\n", 2, "timezone", "not a time zone"),
    ("email,name,role\nok@example.com,A,superuser\n", 2, "role", "not a role"),
    (f"email,name,title\nok@example.com,A,{'x' * 121}\n", 2, "title", "At most 120"),
    (f"email,name\nok@example.com,{'x' * 151}\n", 2, "name", "At most 150"),
    (f"email,name,skills\nok@example.com,A,{'s' * 61}\n", 2, "skills", "60 characters"),
    ("email,title\nnew@example.com,Engineer\n", 2, "full_name", "needs a name"),
    ("email,name,team\nok@example.com,A,Platform\n", 2, "team", "department"),
    ("email,name\nok@example.com,A,surprise\n", 2, "C", "more cells"),
    ("email,name,email\nok@example.com,A,b@example.com\n", 1, "C", "appears twice"),
]


@pytest.mark.parametrize(("csv", "line", "column", "message"), ERROR_CASES)
def test_import_error_reports_line_and_column_and_writes_nothing(admin, csv, line, column, message):
    before = _state()
    report = import_people(actor=admin, data=csv.encode(), dry_run=False)
    assert not report.ok and not report.applied and report.rows == []
    problem = report.errors[0]
    assert (problem.line, problem.column) == (line, column), report.errors
    assert message in problem.message
    assert _state() == before


def test_import_reports_every_error_and_writes_no_valid_row(admin):
    csv = "email,name,start_date\ngood@example.com,Good,2024-01-01\nbad,X,\nalso@example.com,Y,yesterday\n"
    before = _state()
    report = import_people(actor=admin, data=csv, dry_run=False)
    assert [(p.line, p.column) for p in report.errors] == [(3, "email"), (4, "start_date")]
    assert _state() == before


def test_import_detects_reporting_loop_within_the_file(admin):
    csv = "email,name,manager_email\na@example.com,A,b@example.com\nb@example.com,B,c@example.com\nc@example.com,C,a@example.com\n"
    before = _state()
    report = import_people(actor=admin, data=csv, dry_run=False)
    assert [(p.line, p.column) for p in report.errors] == [
        (2, "manager_email"),
        (3, "manager_email"),
        (4, "manager_email"),
    ]
    assert "a@example.com → b@example.com → c@example.com → a@example.com" in report.errors[0].message
    assert _state() == before


def test_import_detects_loop_through_existing_managers(admin):
    boss, report_ = UserFactory(email="boss@example.com"), UserFactory(email="report@example.com")
    profile_update(actor=admin, person=report_, changes=ProfileChanges(manager_id=boss.pk))
    before = _state()
    report = import_people(
        actor=admin, data="email,manager_email\nboss@example.com,report@example.com\n", dry_run=False
    )
    assert [(p.line, p.column) for p in report.errors] == [(2, "manager_email")]
    assert "loop" in report.errors[0].message
    assert _state() == before


def test_import_loop_judged_on_final_state_not_current(admin):
    # Today a reports to b; the file makes b report to a and a to nobody in particular
    # (c): the final chart has no loop, so it is accepted.
    a, b = UserFactory(email="a@example.com"), UserFactory(email="b@example.com")
    UserFactory(email="c@example.com")
    profile_update(actor=admin, person=a, changes=ProfileChanges(manager_id=b.pk))
    csv = "email,manager_email\nb@example.com,a@example.com\na@example.com,c@example.com\n"
    report = import_people(actor=admin, data=csv, dry_run=False)
    assert report.ok, report.errors
    assert profile_of(b).manager_id == a.pk


def test_import_refuses_deactivated_manager_and_own_role_change(admin):
    UserFactory(email="gone@example.com", is_active=False)
    csv = f"email,name,manager_email,role\nnew@example.com,New,gone@example.com,\n{admin.email},Me,,member\n"
    report = import_people(actor=admin, data=csv, dry_run=False)
    assert [(p.line, p.column) for p in report.errors] == [(2, "manager_email"), (3, "role")]
    assert User.objects.get(pk=admin.pk).role == Role.ADMIN


def test_import_reads_bom_and_semicolons(admin):
    data = codecs.BOM_UTF8 + "Email;Name;Skills\r\nzoe@example.com;Zoë Ødegaard;Go|Rust\r\n".encode()
    report = import_people(actor=admin, data=data, dry_run=False)
    assert report.ok and report.warnings == []
    user = User.objects.get(email="zoe@example.com")
    assert user.full_name == "Zoë Ødegaard"
    assert sorted(user.profile.skills.values_list("name", flat=True)) == ["Go", "Rust"]


def test_import_falls_back_to_windows_1252_with_a_warning(admin):
    data = "email;name;title\njose@example.com;José Núñez;Café “barista”\n".encode("cp1252")
    report = import_people(actor=admin, data=data, dry_run=False)
    assert report.ok
    assert any("Windows-1252" in w for w in report.warnings)
    user = User.objects.get(email="jose@example.com")
    assert (user.full_name, user.profile.title) == ("José Núñez", "Café “barista”")


def test_import_reads_utf16_and_tabs(admin):
    data = "email\tname\nmei@example.com\t王美\n".encode("utf-16")
    report = import_people(actor=admin, data=data, dry_run=False)
    assert report.ok, report.errors
    assert User.objects.get(email="mei@example.com").full_name == "王美"


def test_import_strips_whitespace_and_warns_about_unknown_columns(admin):
    report = import_people(
        actor=admin, data="  email , name ,Shoe size\n  a@example.com ,  Ann Lee  , 42\n", dry_run=False
    )
    assert report.ok
    assert report.warnings == ["Column C (“Shoe size”) is not a column Townhall knows, so it was ignored."]
    assert User.objects.get(email="a@example.com").full_name == "Ann Lee"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"  \r\n\r\n", "The file is empty."),
        (b"email,name\r\n", "header but no people"),
        (b"email,name\n,,\n", "header but no people"),
        (b"name,title\nAnn,Boss\n", "no “email” column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary data"),
        (bytes(range(1, 256)) * 8, "binary data"),
        (codecs.BOM_UTF8 + b"email\n\xff\xfe\xfa", "UTF-8 but is not"),
    ],
)
def test_import_file_problems_are_reported_not_raised(admin, data, message):
    before = _state()
    report = import_people(actor=admin, data=data, dry_run=False)
    assert not report.ok
    assert message in report.errors[0].message
    assert report.errors[0].line is None
    assert _state() == before


def test_import_reports_unreadable_csv_with_its_line(admin):
    data = "email,name,title\na@example.com,A,ok\nb@example.com,B," + "x" * 200_000 + "\n"
    report = import_people(actor=admin, data=data, dry_run=False)
    assert (report.errors[0].line, "could not be read as CSV" in report.errors[0].message) == (3, True)
    assert not User.objects.filter(email="a@example.com").exists()


def test_import_refuses_files_over_the_limit(admin, settings):
    settings.TOWNHALL_CSV_MAX_BYTES = 1024
    data = ("email,name\n" + "".join(f"p{i}@example.com,Person {i}\n" for i in range(100))).encode()
    assert len(data) > 1024
    report = import_people(actor=admin, data=data, dry_run=False)
    assert "larger than 1 KB" in report.errors[0].message
    assert not User.objects.filter(email="p1@example.com").exists()


def test_import_refused_to_non_admins(member, guest):
    for actor in (member, guest, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            import_people(actor=actor, data=b"email,name\na@example.com,A\n", dry_run=True)  # type: ignore[arg-type]
    assert not User.objects.filter(email="a@example.com").exists()


def test_import_queries_do_not_grow_with_rows(admin, django_assert_max_num_queries):
    rows = "".join(
        f"p{i}@example.com,Person {i},Dept {i % 5},Team {i % 3},City {i % 4},{'p0@example.com' if i else ''},S{i % 7};Shared\n"
        for i in range(300)
    )
    # The import itself takes ~40; the department-community resync it triggers costs a
    # few per department (5 here), never per row.
    with django_assert_max_num_queries(80):
        report = import_people(
            actor=admin, data="email,name,department,team,location,manager_email,skills\n" + rows, dry_run=False
        )
    assert report.ok and report.created == 300
    assert Profile.objects.filter(manager__email="p0@example.com").count() == 299


def test_search_text_for_matches_the_service(admin, kim):
    profile_update(
        actor=admin,
        person=kim,
        changes=ProfileChanges(
            preferred_name="Kimmy",
            title="Señor Dev",
            department="R&D",
            team="Core",
            skills=["Zig", "awk", "Élan"],
            interests=["Chess", "Zig"],
        ),
    )
    profile = profile_of(kim)
    assert search_text_for(
        full_name="Kim Lee",
        preferred_name="Kimmy",
        email="kim@example.com",
        title="Señor Dev",
        department="R&D",
        team="Core",
        skills=["Zig", "awk", "Élan"],
    ) == (profile.search_text, profile.sort_name)


def test_column_letter_names_like_a_spreadsheet():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


# --- The admin page --------------------------------------------------------------------


def _upload(client, text: bytes | str, name: str = "people.csv"):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = text.encode() if isinstance(text, str) else text
    return client.post(reverse("people_import:upload"), {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_import_page_hidden_from_non_admins(client, member_client, member):
    for c in (client, member_client):
        assert c.get(reverse("people_import:upload")).status_code == 404
        assert _upload(c, "email,name\na@example.com,A\n").status_code == 404
        assert c.post(reverse("people_import:apply"), {"payload": "x"}).status_code == 404
    assert not User.objects.filter(email="a@example.com").exists()


def test_import_page_upload_preview_then_apply(admin_client, kim):
    page = admin_client.get(reverse("people_import:upload"))
    assert page.status_code == 200
    assert 'for="id_file"' in page.content.decode()

    before = _state()
    preview = _upload(admin_client, HAPPY)
    body = preview.content.decode()
    assert preview.status_code == 200
    assert "zoe@acme.example" in body and "Apply import" in body and '<th scope="col">Line</th>' in body
    assert "Senior Engineer" in body
    assert _state() == before
    payload = preview.context["payload"]

    applied = admin_client.post(reverse("people_import:apply"), {"payload": payload}, follow=True)
    assert applied.redirect_chain[-1][0] == reverse("people_import:upload")
    assert "2 created, 1 updated, 0 unchanged" in applied.content.decode()
    assert User.objects.filter(email__in=["zoe@acme.example", "boss@acme.example"]).count() == 2
    assert profile_of(kim).title == "Senior Engineer"


def test_import_page_shows_errors_with_line_numbers(admin_client):
    response = _upload(admin_client, "email,name,start_date\nok@example.com,Ok,2024-01-01\nbad,X,soon\n")
    body = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in body
    assert "<td>3</td><td>email</td>" in body and "<td>3</td><td>start_date</td>" in body
    assert "Apply import" not in body
    assert not User.objects.filter(email="ok@example.com").exists()


def test_import_page_refuses_tampered_or_foreign_preview(admin_client, admin):
    preview = _upload(admin_client, "email,name\nnew@example.com,New\n")
    payload = preview.context["payload"]
    tampered = admin_client.post(reverse("people_import:apply"), {"payload": payload[:-2] + "xx"})
    assert tampered.status_code == 400
    assert "expired or is not valid" in tampered.content.decode()
    other_admin = UserFactory(role="admin")
    from townhall.testing.clients import signed_in

    foreign = signed_in(other_admin).post(reverse("people_import:apply"), {"payload": payload})
    assert foreign.status_code == 400
    assert not User.objects.filter(email="new@example.com").exists()


def test_import_page_refuses_oversized_upload_without_reading_it(admin_client, settings):
    settings.TOWNHALL_CSV_MAX_BYTES = 2048
    response = _upload(admin_client, b"email,name\n" + b"a@example.com,A\n" * 500)
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert not User.objects.filter(email="a@example.com").exists()


def test_import_page_survives_garbage_and_missing_file(admin_client):
    garbage = _upload(admin_client, bytes(range(256)) * 10, name="photo.jpg")
    assert garbage.status_code == 400 and "binary data" in garbage.content.decode()
    missing = admin_client.post(reverse("people_import:upload"), {})
    assert missing.status_code == 400
    assert "This field is required" in missing.content.decode()


def test_import_page_requires_csrf(admin):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin, backend="townhall.accounts.backends.EmailBackend")
    assert _upload(client, "email,name\na@example.com,A\n").status_code == 403


# --- The command -------------------------------------------------------------------------


def test_import_command_dry_run_then_apply(admin, kim, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text(HAPPY)
    call_command("import_people", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "Dry run: nothing was written." in out and "Would create 2 people and update 1; 0 unchanged." in out
    assert not User.objects.filter(email="zoe@acme.example").exists()

    call_command("import_people", str(path), "--as", admin.email)
    out = capsys.readouterr().out
    assert "Created 2 people and updated 1; 0 unchanged." in out
    assert User.objects.filter(email="zoe@acme.example").exists()


def test_import_command_fails_on_errors_and_without_admin(admin, member, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("email,name\nbad,X\n")
    with pytest.raises(CommandError, match="1 error found; nothing was imported"):
        call_command("import_people", str(path))
    assert "Line 2, column email" in capsys.readouterr().err
    with pytest.raises(CommandError, match="not an active administrator"):
        call_command("import_people", str(path), "--as", member.email)
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_people", str(tmp_path / "missing.csv"))
    User.objects.filter(pk=admin.pk).update(role=Role.MEMBER)
    with pytest.raises(CommandError, match="no active administrator"):
        call_command("import_people", str(path))


@pytest.mark.slow
def test_import_5000_rows_is_bulk(admin):
    """The import's cost grows by chunk, not by row: 5,000 rows take a bounded number of
    queries (timings are for the benchmark, not for tests)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = "".join(
        f"p{i}@example.com,Person {i},Title {i % 40},Dept {i % 12},Team {i % 4},City {i % 9},"
        f"{'p' + str(i // 10) + '@example.com' if i else ''},Skill {i % 50};Skill {i % 13},2020-01-{1 + i % 28:02d}\n"
        for i in range(5000)
    )
    data = ("email,name,title,department,team,location,manager_email,skills,start_date\n" + rows).encode()
    with CaptureQueriesContext(connection) as created:
        report = import_people(actor=admin, data=data, dry_run=False)
    assert report.ok and report.created == 5000
    with CaptureQueriesContext(connection) as updated:
        report = import_people(actor=admin, data=data.replace(b",Title ", b",Senior Title "), dry_run=False)
    assert report.updated == 5000
    assert len(created) < 400 and len(updated) < 400, (len(created), len(updated))
