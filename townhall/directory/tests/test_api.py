"""`/api/v1/people`, the org chart and the directory's reference data."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from townhall.accounts.models import User
from townhall.accounts.services import token_create, user_deactivate
from townhall.directory.models import Department, Location, Team
from townhall.directory.services import ProfileChanges, profile_update
from townhall.testing.factories import DepartmentFactory, LocationFactory, UserFactory, profile_of

pytestmark = pytest.mark.django_db


def bearer(user: User, *scopes: str) -> dict[str, str]:
    _, secret = token_create(actor=user, name="test", scopes=list(scopes or ("read", "write")))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def patch_json(client: Client, path: str, body: Any, **headers: str) -> Any:
    return client.patch(path, data=json.dumps(body), content_type="application/json", **headers)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return dict(body["error"])


def person(name: str, **changes: Any) -> User:
    user = UserFactory(full_name=name)
    if changes:
        profile_update(actor=user, person=user, changes=ProfileChanges(**changes))
    return user


def cursor_of(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# --- GET /people -----------------------------------------------------------------


def test_people_list_returns_visible_people_by_name_with_skills(member: User, member_client: Client) -> None:
    person("Zoe Zed")
    person("Amy Able", title="Engineer", department="R&D", skills=["Python", "Django"])
    user_deactivate(actor=UserFactory(role="admin"), user=person("Gone Person"))

    response = member_client.get("/api/v1/people")

    assert response.status_code == 200
    body = response.json()
    names = [p["display_name"] for p in body["items"]]
    assert names[0] == "Amy Able"
    assert "Zoe Zed" in names
    assert "Gone Person" not in names
    assert body["next_cursor"] is None
    amy = body["items"][0]
    assert amy["title"] == "Engineer"
    assert amy["department"]["name"] == "R&D"
    assert amy["skills"] == ["Django", "Python"]


def test_people_list_matches_every_word_of_the_query(member_client: Client) -> None:
    person("José Álvarez", title="Data engineer")
    person("Joseph Other", title="Designer")

    response = member_client.get("/api/v1/people", {"q": "jose engin"})

    assert [p["display_name"] for p in response.json()["items"]] == ["José Álvarez"]


def test_people_list_filters_by_department_location_and_team(member_client: Client) -> None:
    match = person("In Team", department="Sales", team="North", location="Oslo")
    person("Other Team", department="Sales", team="South", location="Oslo")
    person("Elsewhere", department="Sales", location="Rome")
    profile = profile_of(match)

    response = member_client.get(
        "/api/v1/people",
        {"department_id": profile.department_id, "location_id": profile.location_id, "team_id": profile.team_id},
    )

    assert [p["id"] for p in response.json()["items"]] == [match.pk]


def test_people_list_shows_deactivated_people_to_admins(admin: User, admin_client: Client) -> None:
    gone = person("Gone Person")
    user_deactivate(actor=admin, user=gone)

    items = admin_client.get("/api/v1/people").json()["items"]

    assert {"id": gone.pk, "is_active": False}.items() <= next(p for p in items if p["id"] == gone.pk).items()


def test_people_list_shows_a_guest_only_themselves(guest: User) -> None:
    person("Some Colleague")

    response = Client().get("/api/v1/people", **bearer(guest, "read"))

    assert [p["id"] for p in response.json()["items"]] == [guest.pk]


def test_people_list_pages_through_everyone_without_repeats(member: User, member_client: Client) -> None:
    for n in range(11):
        person(f"Same Name {n % 3}")  # equal names: the id breaks ties
    expected = {u.pk for u in User.objects.all()}

    seen: list[int] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        body = member_client.get("/api/v1/people", params).json()
        seen.extend(p["id"] for p in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected


def test_people_list_pages_past_long_non_latin_names(member_client: Client) -> None:
    first = person("𝔄" * 150)
    second = person("漢" * 150)

    body = member_client.get("/api/v1/people", {"limit": 1}).json()
    seen = [body["items"][0]["id"]]
    while body["next_cursor"]:
        body = member_client.get("/api/v1/people", {"limit": 1, "cursor": body["next_cursor"]}).json()
        seen.extend(p["id"] for p in body["items"])

    assert {first.pk, second.pk} <= set(seen)
    assert len(seen) == len(set(seen)) == User.objects.count()


def test_people_list_limit_defaults_to_24(member_client: Client) -> None:
    for n in range(25):
        person(f"Person {n:02}")

    body = member_client.get("/api/v1/people").json()

    assert len(body["items"]) == 24
    assert body["next_cursor"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "-5", "ten", ""])
def test_people_list_limit_outside_1_to_100_answers_422(member_client: Client, limit: str) -> None:
    error = assert_error(member_client.get("/api/v1/people", {"limit": limit}), 422, "invalid")

    assert "limit" in error["fields"]


def test_people_list_limit_100_is_allowed(member_client: Client) -> None:
    assert member_client.get("/api/v1/people", {"limit": 100}).status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!",
        cursor_of(["a"]),
        cursor_of({"a": 1}),  # type: ignore[arg-type]
        cursor_of([None, None]),
        cursor_of(["name", "x"]),
        cursor_of(["name", 2**80]),
        cursor_of([["nested"], 1]),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_people_list_bad_cursor_answers_422_with_a_clear_message(member_client: Client, cursor: str) -> None:
    person("Someone Here")

    error = assert_error(member_client.get("/api/v1/people", {"cursor": cursor}), 422, "invalid")

    assert "cursor" in error["fields"]
    assert "start again from the first page" in error["message"]


def test_people_list_query_longer_than_200_characters_answers_422(member_client: Client) -> None:
    error = assert_error(member_client.get("/api/v1/people", {"q": "a" * 201}), 422, "invalid")

    assert "q" in error["fields"]
    assert member_client.get("/api/v1/people", {"q": "a" * 200}).status_code == 200


@pytest.mark.parametrize("param", ["department_id", "location_id", "team_id"])
@pytest.mark.parametrize("value", ["x", "-1", "0", "99999999999999999999999"])
def test_people_list_bad_filter_id_answers_422(member_client: Client, param: str, value: str) -> None:
    error = assert_error(member_client.get("/api/v1/people", {param: value}), 422, "invalid")

    assert param in error["fields"]


def test_people_list_query_count_is_constant_whatever_the_limit(
    member: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        person(f"Person {n:02}", department="Ops", team="Blue", location="Lima", skills=[f"skill{n}", "common"])
    auth = bearer(member, "read")
    client = Client()
    client.get("/api/v1/people", **auth)  # records the token's first use

    counts = []
    for limit in (1, 10, 100):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/people", {"limit": limit}, **auth).status_code == 200
        counts.append(len(queries))
    with django_assert_max_num_queries(3):  # token, page, skills
        client.get("/api/v1/people", {"limit": 100}, **auth)

    assert len(set(counts)) == 1, counts


def test_people_list_without_credentials_answers_401(db: None) -> None:
    assert_error(Client().get("/api/v1/people"), 401, "unauthenticated")


# --- GET /people/{id} ------------------------------------------------------------


def test_person_get_returns_the_full_profile(member: User, member_client: Client) -> None:
    boss = person("Big Boss")
    subject = person(
        "Sam Subject",
        preferred_name="Sammy",
        pronouns="they/them",
        title="Analyst",
        department="Finance",
        team="Reporting",
        location="Paris",
        phone="+33 1",
        bio="Hello",
        skills=["Excel"],
        interests=["Chess"],
        manager_id=boss.pk,
        timezone="Europe/Paris",
    )

    response = member_client.get(f"/api/v1/people/{subject.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == subject.pk
    assert body["display_name"] == "Sammy"
    assert body["full_name"] == "Sam Subject"
    assert body["department"]["name"] == "Finance"
    assert body["team"]["name"] == "Reporting"
    assert body["team"]["department_id"] == body["department"]["id"]
    assert body["location"]["name"] == "Paris"
    assert body["skills"] == ["Excel"]
    assert body["interests"] == ["Chess"]
    assert body["manager"] == {"id": boss.pk, "display_name": "Big Boss"}
    assert body["timezone"] == "Europe/Paris"
    assert body["can_edit"] is False
    assert member_client.get(f"/api/v1/people/{member.pk}").json()["can_edit"] is True


def test_person_get_deactivated_person_answers_404_like_a_missing_one(admin: User, member_client: Client) -> None:
    gone = person("Gone Person")
    user_deactivate(actor=admin, user=gone)

    hidden = member_client.get(f"/api/v1/people/{gone.pk}")
    missing = member_client.get(f"/api/v1/people/{gone.pk + 1000}")

    assert_error(hidden, 404, "not_found")
    assert hidden.content == missing.content


def test_person_get_admin_sees_deactivated_people(admin: User, admin_client: Client) -> None:
    gone = person("Gone Person")
    user_deactivate(actor=admin, user=gone)

    response = admin_client.get(f"/api/v1/people/{gone.pk}")

    assert response.status_code == 200
    assert response.json()["is_active"] is False


def test_person_get_guest_sees_only_themselves(guest: User) -> None:
    other = person("Some Colleague")
    auth = bearer(guest, "read")

    assert Client().get(f"/api/v1/people/{guest.pk}", **auth).status_code == 200
    assert_error(Client().get(f"/api/v1/people/{other.pk}", **auth), 404, "not_found")


def test_person_get_hides_a_deactivated_manager_from_members(admin: User, member_client: Client) -> None:
    boss = person("Former Boss")
    subject = person("Sam Subject", manager_id=boss.pk)
    user_deactivate(actor=admin, user=boss)

    assert member_client.get(f"/api/v1/people/{subject.pk}").json()["manager"] is None
    assert admin_client_for(admin).get(f"/api/v1/people/{subject.pk}").json()["manager"]["id"] == boss.pk


def admin_client_for(admin: User) -> Client:
    from townhall.testing.clients import signed_in

    return signed_in(admin)


@pytest.mark.parametrize("user_id", ["-1", "0", "abc", "99999999999999999999999"])
def test_person_get_invalid_id_answers_422(member_client: Client, user_id: str) -> None:
    assert_error(member_client.get(f"/api/v1/people/{user_id}"), 422, "invalid")


# --- PATCH /people/{id} ----------------------------------------------------------


def test_person_update_changes_only_the_fields_sent(member: User, member_client: Client) -> None:
    boss = person("Big Boss")
    profile_update(actor=member, person=member, changes=ProfileChanges(bio="Keep me", phone="123"))

    response = patch_json(
        member_client,
        f"/api/v1/people/{member.pk}",
        {
            "preferred_name": "Memo",
            "title": "Lead",
            "department": "Platform",
            "team": "Core",
            "location": "Berlin",
            "manager_id": boss.pk,
            "skills": ["Go", "go", "SQL"],
            "working_hours_start": "09:00",
            "working_hours_end": "17:00",
            "start_date": "2024-03-01",
            "timezone": "Europe/Berlin",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["display_name"] == "Memo"
    assert body["title"] == "Lead"
    assert (body["department"]["name"], body["team"]["name"], body["location"]["name"]) == (
        "Platform",
        "Core",
        "Berlin",
    )
    assert body["manager"]["id"] == boss.pk
    assert body["skills"] == ["Go", "SQL"]
    assert (body["working_hours_start"], body["working_hours_end"]) == ("09:00:00", "17:00:00")
    assert body["start_date"] == "2024-03-01"
    assert (body["bio"], body["phone"]) == ("Keep me", "123")
    assert member_client.get(f"/api/v1/people/{member.pk}").json() == body


def test_person_update_clears_with_empty_text_and_null(member: User, member_client: Client) -> None:
    boss = person("Big Boss")
    profile_update(
        actor=member,
        person=member,
        changes=ProfileChanges(
            title="Lead",
            manager_id=boss.pk,
            working_hours_start=_time(9),
            working_hours_end=_time(17),
            start_date=date(2020, 1, 1),
            skills=["Go"],
        ),
    )

    response = patch_json(
        member_client,
        f"/api/v1/people/{member.pk}",
        {
            "title": "",
            "manager_id": None,
            "working_hours_start": None,
            "working_hours_end": None,
            "start_date": None,
            "skills": [],
        },
    )

    body = response.json()
    assert (body["title"], body["manager"], body["start_date"], body["skills"]) == ("", None, None, [])
    assert (body["working_hours_start"], body["working_hours_end"]) == (None, None)


def _time(hour: int) -> Any:
    from datetime import time

    return time(hour)


def test_person_update_with_an_empty_object_changes_nothing(member: User, member_client: Client) -> None:
    before = member_client.get(f"/api/v1/people/{member.pk}").json()

    response = patch_json(member_client, f"/api/v1/people/{member.pk}", {})

    assert response.status_code == 200
    assert response.json() == before


def test_person_update_admin_may_edit_anyone(admin_client: Client) -> None:
    subject = person("Sam Subject")

    response = patch_json(admin_client, f"/api/v1/people/{subject.pk}", {"title": "Set by admin"})

    assert response.status_code == 200
    assert profile_of(subject).title == "Set by admin"


def test_person_update_someone_else_answers_403_and_changes_nothing(member_client: Client) -> None:
    subject = person("Sam Subject", title="Original")

    response = patch_json(member_client, f"/api/v1/people/{subject.pk}", {"title": "Hijacked"})

    assert_error(response, 403, "forbidden")
    assert profile_of(subject).title == "Original"


def test_person_update_someone_invisible_answers_404(admin: User, member_client: Client) -> None:
    gone = person("Gone Person")
    user_deactivate(actor=admin, user=gone)

    response = patch_json(member_client, f"/api/v1/people/{gone.pk}", {"title": "x"})

    assert_error(response, 404, "not_found")


def test_person_update_guest_editing_a_colleague_answers_404(guest: User) -> None:
    other = person("Some Colleague")

    response = patch_json(Client(), f"/api/v1/people/{other.pk}", {"title": "x"}, **bearer(guest))

    assert_error(response, 404, "not_found")


def test_person_update_with_a_read_only_token_answers_401(member: User) -> None:
    response = patch_json(Client(), f"/api/v1/people/{member.pk}", {"title": "x"}, **bearer(member, "read"))

    assert_error(response, 401, "unauthenticated")
    assert profile_of(member).title == ""


def test_person_update_with_a_write_token_is_allowed(member: User) -> None:
    response = patch_json(
        Client(), f"/api/v1/people/{member.pk}", {"title": "Via token"}, **bearer(member, "write", "read")
    )

    assert response.status_code == 200
    assert profile_of(member).title == "Via token"


def test_person_update_reporting_loop_answers_422_on_manager_id(member: User, member_client: Client) -> None:
    report = person("My Report", manager_id=member.pk)

    error = assert_error(
        patch_json(member_client, f"/api/v1/people/{member.pk}", {"manager_id": report.pk}), 422, "invalid"
    )

    assert "manager_id" in error["fields"]
    assert "loop" in error["message"]
    assert profile_of(member).manager_id is None


def test_person_update_unknown_manager_answers_422(member: User, member_client: Client) -> None:
    error = assert_error(
        patch_json(member_client, f"/api/v1/people/{member.pk}", {"manager_id": 987654}), 422, "invalid"
    )

    assert "manager_id" in error["fields"]


def test_person_update_hidden_manager_answers_like_an_unknown_one(
    admin: User, member: User, member_client: Client
) -> None:
    gone = person("Gone Person")
    user_deactivate(actor=admin, user=gone)
    path = f"/api/v1/people/{member.pk}"

    hidden = patch_json(member_client, path, {"manager_id": gone.pk})
    unknown = patch_json(member_client, path, {"manager_id": gone.pk + 1000})

    assert_error(hidden, 422, "invalid")
    assert hidden.content == unknown.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"working_hours_start": "09:00"}, "working_hours_end"),
        ({"working_hours_start": "09:00", "working_hours_end": None}, "working_hours_end"),
        ({"working_hours_start": "25:00", "working_hours_end": "17:00"}, "working_hours_start"),
        ({"start_date": "1900-01-01"}, "start_date"),
        ({"team": "Orphans"}, "team"),
        ({"working_hours_start": "09:00", "working_hours_end": "09:00"}, "working_hours_end"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"title": None}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"title": 42}, "title"),
        ({"title": "\ud800"}, "title"),
        ({"bio": "x" * 100_000}, "bio"),
        ({"full_name": ""}, "full_name"),
        ({"full_name": "   "}, "full_name"),
        ({"skills": "Python"}, "skills"),
        ({"skills": ["x" * 61]}, "skills.0"),
        ({"skills": [f"s{n}" for n in range(31)]}, "skills"),
        ({"skills": [1, 2]}, "skills.0"),
        ({"manager_id": "boss"}, "manager_id"),
        ({"manager_id": -3}, "manager_id"),
        ({"manager_id": 2**70}, "manager_id"),
        ({"department": ["R&D"]}, "department"),
    ],
)
def test_person_update_invalid_input_answers_422_naming_the_field(
    member: User, member_client: Client, body: dict[str, Any], field: str
) -> None:
    error = assert_error(patch_json(member_client, f"/api/v1/people/{member.pk}", body), 422, "invalid")

    assert field in error["fields"], error


@pytest.mark.parametrize("raw", ["{", "title=x", "\x00", '{"title": "a"'])
def test_person_update_malformed_json_answers_400(member: User, member_client: Client, raw: str) -> None:
    response = member_client.patch(f"/api/v1/people/{member.pk}", data=raw, content_type="application/json")

    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("raw", ["", "[]", "null", '"text"', "42"])
def test_person_update_body_that_is_not_an_object_answers_422(member: User, member_client: Client, raw: str) -> None:
    response = member_client.patch(f"/api/v1/people/{member.pk}", data=raw, content_type="application/json")

    assert_error(response, 422, "invalid")


# --- GET /people/{id}/orgchart ---------------------------------------------------


def test_person_orgchart_lists_the_chain_top_first_and_direct_reports(member_client: Client) -> None:
    ceo = person("Cee Eo")
    vp = person("Vee Pee", manager_id=ceo.pk)
    subject = person("Sam Subject", manager_id=vp.pk)
    report_b = person("Bee Report", manager_id=subject.pk)
    report_a = person("Aye Report", manager_id=subject.pk)

    response = member_client.get(f"/api/v1/people/{subject.pk}/orgchart")

    assert response.status_code == 200
    body = response.json()
    assert body["person"]["id"] == subject.pk
    assert [p["id"] for p in body["chain"]] == [ceo.pk, vp.pk]
    assert [p["id"] for p in body["reports"]] == [report_a.pk, report_b.pk]


def test_person_orgchart_leaves_out_deactivated_managers_for_members(admin: User, member_client: Client) -> None:
    boss = person("Former Boss")
    subject = person("Sam Subject", manager_id=boss.pk)
    user_deactivate(actor=admin, user=boss)

    assert member_client.get(f"/api/v1/people/{subject.pk}/orgchart").json()["chain"] == []


def test_person_orgchart_of_someone_invisible_answers_404(admin: User, member_client: Client) -> None:
    gone = person("Gone Person")
    user_deactivate(actor=admin, user=gone)

    assert_error(member_client.get(f"/api/v1/people/{gone.pk}/orgchart"), 404, "not_found")
    assert_error(member_client.get(f"/api/v1/people/{gone.pk + 1000}/orgchart"), 404, "not_found")


# --- Reference data --------------------------------------------------------------


def test_reference_lists_return_everything_by_name(member: User) -> None:
    sales = DepartmentFactory(name="Sales")
    DepartmentFactory(name="Engineering")
    LocationFactory(name="Zurich")
    LocationFactory(name="Athens")
    Team.objects.create(name="North", department=sales)
    auth = bearer(member, "read")

    departments = Client().get("/api/v1/departments", **auth).json()
    locations = Client().get("/api/v1/locations", **auth).json()
    teams = Client().get("/api/v1/teams", **auth).json()

    assert [d["name"] for d in departments] == ["Engineering", "Sales"]
    assert [x["name"] for x in locations] == ["Athens", "Zurich"]
    assert teams == [{"id": Team.objects.get().pk, "name": "North", "department_id": sales.pk}]
    assert {d["id"] for d in departments} == set(Department.objects.values_list("id", flat=True))
    assert {x["id"] for x in locations} == set(Location.objects.values_list("id", flat=True))


@pytest.mark.parametrize("path", ["/api/v1/departments", "/api/v1/locations", "/api/v1/teams"])
def test_reference_lists_are_empty_for_guests(guest: User, path: str) -> None:
    sales = DepartmentFactory(name="Sales")
    LocationFactory(name="Zurich")
    Team.objects.create(name="North", department=sales)

    response = Client().get(path, **bearer(guest, "read"))

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("path", ["/api/v1/departments", "/api/v1/locations", "/api/v1/teams"])
def test_reference_lists_without_credentials_answer_401(db: None, path: str) -> None:
    assert_error(Client().get(path), 401, "unauthenticated")
