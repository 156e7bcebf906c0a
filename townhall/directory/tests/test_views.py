from __future__ import annotations

import re
from datetime import date, time
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from townhall.accounts.models import User
from townhall.directory.forms import ProfileForm
from townhall.directory.models import Profile
from townhall.directory.services import ProfileChanges, profile_update
from townhall.media.tests.test_images import jpeg_with_exif, png_claiming_size
from townhall.testing.clients import signed_in
from townhall.testing.factories import UserFactory, profile_of
from townhall.testing.responses import stable_body, stable_headers

LIST = reverse("directory:list")
HTMX = {
    "HTTP_HX_REQUEST": "true",
    "HTTP_HX_TARGET": "people-results",
    "HTTP_HX_CURRENT_URL": "http://testserver/people/",
}


def person(full_name: str, *, active: bool = True, **changes: Any) -> User:
    user = UserFactory(full_name=full_name)
    if changes:
        profile_update(actor=user, person=user, changes=ProfileChanges(**changes))
    if not active:
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.refresh_from_db()
    return user


def profile_url(user: User) -> str:
    return reverse("directory:profile", args=[user.pk])


def edit_url(user: User) -> str:
    return reverse("directory:edit", args=[user.pk])


def card_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="person-name" href="/people/(\d+)/"', html)]


def card_names(html: str) -> list[str]:
    return [unescape(name) for name in re.findall(r'class="person-name" href="/people/\d+/"[^>]*>([^<]+)</a>', html)]


def text(response: Any) -> str:
    return response.content.decode()


def same_page(one: Any, other: Any) -> bool:
    """Same body and headers, but for the CSRF token, which is masked afresh per response."""

    def normal(response: Any) -> tuple[str, dict[str, str]]:
        return stable_body(response), stable_headers(response)

    return normal(one) == normal(other)


def form_data(user: User, **overrides: Any) -> dict[str, Any]:
    """What the edit form posts back when nothing is touched, plus `overrides`."""
    profile = Profile.objects.select_related("user", "department", "team", "location", "manager").get(user=user)
    data: dict[str, Any] = {}
    for name, value in ProfileForm.initial_for(profile).items():
        if isinstance(value, time):
            value = value.strftime("%H:%M")
        elif isinstance(value, date):
            value = value.isoformat()
        data[name] = "" if value is None else value
    data.update(overrides)
    return data


def snapshot(user: User) -> dict[str, Any]:
    profile = Profile.objects.select_related("user").get(user=user)
    fields = {
        f.attname: getattr(profile, f.attname) for f in Profile._meta.concrete_fields if f.attname != "updated_at"
    }
    return {"name": profile.user.full_name, **fields, "skills": list(profile.skills.values_list("name", flat=True))}


def media_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- The directory list ---------------------------------------------------------------


@pytest.mark.django_db
def test_people_list_finds_accented_name_by_partial_query(member_client: Client) -> None:
    person("José Álvarez")
    person("Maria Jones")

    response = member_client.get(LIST, {"q": "jos"})

    assert response.status_code == 200
    assert card_names(text(response)) == ["José Álvarez"]
    assert 'value="jos"' in text(response)


@pytest.mark.django_db
def test_people_list_finds_by_title_word_and_by_skill(member_client: Client) -> None:
    person("Ada Lovelace", title="Principal Engineer", skills=["Rust", "Compilers", "Go", "SQL"])
    person("Grace Hopper", title="Head of Sales", skills=["Negotiation"])

    by_title = text(member_client.get(LIST, {"q": "engineer"}))
    by_skill = text(member_client.get(LIST, {"q": "negotiat"}))

    assert card_names(by_title) == ["Ada Lovelace"]
    assert card_names(by_skill) == ["Grace Hopper"]
    # Up to three skills per card, each a search link; the rest counted.
    assert by_title.count('class="pill" href="/people/?q=') == 3
    assert "+1 more" in by_title


@pytest.mark.django_db
def test_people_list_filters_by_department_location_and_team(member_client: Client) -> None:
    ada = person("Ada Lovelace", department="Engineering", team="Platform", location="Helsinki")
    person("Grace Hopper", department="Engineering", team="Apps", location="Espoo")
    person("Alan Turing", department="Research", location="Helsinki")
    chosen = profile_of(ada)

    page = text(member_client.get(LIST))
    by_department = text(member_client.get(LIST, {"department": chosen.department_id}))
    by_both = text(member_client.get(LIST, {"department": chosen.department_id, "location": chosen.location_id}))
    by_team = text(member_client.get(LIST, {"team": chosen.team_id}))

    assert f'<option value="{chosen.department_id}">Engineering</option>' in page
    assert "Platform (Engineering)" in page
    assert card_names(by_department) == ["Ada Lovelace", "Grace Hopper"]
    assert card_names(by_both) == ["Ada Lovelace"]
    assert card_names(by_team) == ["Ada Lovelace"]


@pytest.mark.django_db
def test_people_list_htmx_search_returns_only_the_results(member_client: Client) -> None:
    person("José Álvarez")

    response = member_client.get(LIST, {"q": "jose"}, **HTMX)

    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body and "<form" not in body
    assert card_names(body) == ["José Álvarez"]
    assert '<span id="people-status" hx-swap-oob="innerHTML">Showing 1 person.</span>' in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_people_list_page_has_search_as_you_type_and_plain_form(member_client: Client) -> None:
    person("Ada Lovelace", department="Engineering", team="Platform", location="Helsinki")

    body = text(member_client.get(LIST))

    assert 'hx-trigger="input changed delay:250ms, search"' in body
    assert f'<form class="card directory-search" method="get" action="{LIST}"' in body
    assert '<label for="people-q">Search people</label>' in body
    for name in ("department", "location", "team"):
        assert f'<label for="people-{name}">' in body


@pytest.mark.django_db
def test_people_list_show_more_pages_through_everyone_without_repeats_or_gaps(
    member: User, member_client: Client
) -> None:
    for index in range(30):
        person(f"Person Alpha{index:02d}")
    everyone = sorted(Profile.objects.filter(user__is_active=True).values_list("sort_name", "user_id"))
    expected = [user_id for _, user_id in everyone]

    first = text(member_client.get(LIST))
    seen = card_ids(first)
    next_link = re.search(r'href="(\?cursor=[^"]+)" hx-get="\?cursor=[^"]+" hx-target="#people-more"', first)
    pages = 1
    while next_link:
        more = text(
            member_client.get(LIST + unescape(next_link.group(1)), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="people-more")
        )
        assert 'hx-swap-oob="beforeend:#people-cards"' in more
        assert "autofocus" in more  # focus moves to the first new card
        seen += card_ids(more)
        next_link = re.search(r'href="(\?cursor=[^"]+)"', more)
        pages += 1

    assert pages == 2
    assert seen == expected


@pytest.mark.django_db
def test_people_list_next_page_works_without_javascript(member_client: Client) -> None:
    for index in range(30):
        person(f"Person Beta{index:02d}", department="Sales")

    first = text(member_client.get(LIST, {"q": "beta"}))
    href = unescape(re.search(r'href="([^"]+)" hx-get="[^"]+" hx-target="#people-more"', first).group(1))  # type: ignore[union-attr]
    params = parse_qs(urlsplit(href).query)
    second = text(member_client.get(LIST + href))

    assert params["q"] == ["beta"] and "cursor" in params
    assert len(card_names(first)) == 24
    assert card_names(second) == [f"Person Beta{index:02d}" for index in range(24, 30)]
    assert "Back to the first results" in second
    assert "Show more people" not in second


@pytest.mark.django_db
def test_people_list_bad_cursor_and_stale_filters_fall_back_gracefully(member_client: Client) -> None:
    person("Ada Lovelace")

    response = member_client.get(LIST, {"cursor": "garbage!!", "department": "abc", "location": "999"})

    assert response.status_code == 200
    assert "here is the first page again" in text(response)
    assert "Ada Lovelace" in card_names(text(response))


@pytest.mark.django_db
def test_people_list_shows_empty_state_with_a_hint(member_client: Client) -> None:
    body = text(member_client.get(LIST, {"q": "zzzz-nobody"}))

    assert "No one matches" in body
    assert "Try fewer letters" in body
    assert card_names(body) == []


@pytest.mark.django_db
def test_people_list_hides_deactivated_people_from_members_but_not_admins(
    member_client: Client, admin_client: Client
) -> None:
    person("Gone Person", active=False)

    assert card_names(text(member_client.get(LIST, {"q": "gone"}))) == []
    for_admin = text(admin_client.get(LIST, {"q": "gone"}))
    assert card_names(for_admin) == ["Gone Person"]
    assert "Deactivated" in for_admin


@pytest.mark.django_db
def test_people_list_guest_sees_only_themself_and_no_filters(guest: User) -> None:
    person("Ada Lovelace", department="Secret Projects")

    body = text(signed_in(guest).get(LIST))

    assert card_names(body) == [guest.full_name]
    assert "Secret Projects" not in body
    assert 'name="department"' not in body


@pytest.mark.django_db
def test_people_list_requires_sign_in(client: Client) -> None:
    response = client.get(LIST, {"q": "a"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:signin"))


@pytest.mark.django_db
def test_people_list_query_count_is_constant(member: User, member_client: Client) -> None:
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert member_client.get(LIST).status_code == 200
        return len(captured)

    member_client.get(LIST)  # the first request of a session also creates the organisation row
    boss = person("Boss Person")
    person("Few One", department="Sales", location="Oslo", team="North", skills=["A", "B"], manager_id=boss.pk)
    few = queries_for_page()
    for index in range(20):
        person(f"Many {index}", department=f"Dept {index}", location="Oslo", team="South", skills=["C", "D", "E", "F"])
    many = queries_for_page()

    assert few == many
    # Session, user, organisation, 3 filter lists, the page, its skills, the viewer's avatar.
    assert many <= 10, many  # 10 since the header shows the notification badge (one query)


# --- The profile page -----------------------------------------------------------------


@pytest.mark.django_db
def test_profile_shows_details_with_escaped_bio_and_skill_links(member_client: Client) -> None:
    ada = person(
        "Ada Lovelace",
        preferred_name="Ada",
        pronouns="she/her",
        title="Analyst",
        department="Engineering",
        team="Engines",
        location="London",
        phone="+44 20 1234",
        bio="First line <script>alert(1)</script>\nSecond line",
        skills=["Mathematics"],
        interests=["Poetry"],
        timezone="Europe/London",
        working_hours_start=time(9, 30),
        working_hours_end=time(17),
        start_date=date(2020, 2, 3),
    )

    body = text(member_client.get(profile_url(ada)))

    for expected in (
        "Ada Lovelace",
        "she/her",
        "Analyst",
        "Engineering",
        "Engines",
        "London",
        "09:30–17:00",
        "3 February 2020",
        "Europe/London",
    ):
        assert expected in body
    assert f'href="mailto:{ada.email}"' in body
    assert 'href="tel:+44201234"' in body
    assert "<script>alert(1)</script>" not in body
    assert "First line &lt;script&gt;alert(1)&lt;/script&gt;<br>Second line" in body
    assert 'href="/people/?q=Mathematics"' in body
    assert "Poetry" in body


@pytest.mark.django_db
def test_profile_shows_manager_chain_top_first_and_direct_reports(member_client: Client) -> None:
    ceo = person("Carol Ceo")
    vp = person("Victor Vp", manager_id=ceo.pk)
    lead = person("Lena Lead", manager_id=vp.pk)
    person("Rita Report", manager_id=lead.pk)

    body = text(member_client.get(profile_url(lead)))
    org = body[body.index('id="org-chart"') :]

    assert org.index("Carol Ceo") < org.index("Victor Vp") < org.index("Lena Lead") < org.index("Rita Report")
    assert f'<dt>Manager</dt><dd><a href="{profile_url(vp)}">Victor Vp</a></dd>' in body


@pytest.mark.django_db
def test_profile_edit_button_only_for_self_and_admins(
    member: User, member_client: Client, admin_client: Client
) -> None:
    other = person("Other Person")

    assert f'href="{edit_url(member)}">Edit profile' in text(member_client.get(profile_url(member)))
    assert "Edit profile</a>" not in text(member_client.get(profile_url(other))).split("</header>", 1)[1]
    assert f'href="{edit_url(other)}">Edit profile' in text(admin_client.get(profile_url(other)))


@pytest.mark.django_db
def test_profile_hidden_and_missing_answer_the_same_404(
    member_client: Client, guest: User, admin_client: Client
) -> None:
    gone = person("Gone Canary-7f3a", active=False)
    colleague = person("Colleague Canary-91bc")

    hidden = member_client.get(profile_url(gone))
    missing = member_client.get(reverse("directory:profile", args=[987_654]))
    guest_hidden = signed_in(guest).get(profile_url(colleague))
    guest_missing = signed_in(guest).get(reverse("directory:profile", args=[987_654]))

    assert hidden.status_code == missing.status_code == 404
    assert same_page(hidden, missing)
    assert "Canary-7f3a" not in text(hidden)
    assert guest_hidden.status_code == 404
    assert same_page(guest_hidden, guest_missing)
    assert "Canary-91bc" not in text(guest_hidden)
    assert admin_client.get(profile_url(gone)).status_code == 200


@pytest.mark.django_db
def test_profile_query_count_is_bounded(member: User, member_client: Client) -> None:
    ceo = person("Carol Ceo", skills=["X"])
    vp = person("Victor Vp", manager_id=ceo.pk)
    lead = person("Lena Lead", manager_id=vp.pk, skills=["A", "B"], interests=["C"], department="D", location="L")
    for index in range(10):
        person(f"Report {index}", manager_id=lead.pk)

    member_client.get(profile_url(member))  # the first request of a session also creates the organisation row

    with CaptureQueriesContext(connection) as captured:
        assert member_client.get(profile_url(lead)).status_code == 200

    # Session, user, organisation, the viewer's own profile; the profile with its
    # skills and interests; one per manager above; the reports, however many; whether
    # the viewer follows them.
    assert len(captured) <= 12, [q["sql"] for q in captured]  # incl. the notification badge


# --- Editing a profile ----------------------------------------------------------------


@pytest.mark.django_db
def test_profile_edit_form_is_prefilled_and_every_input_has_a_label(member: User, member_client: Client) -> None:
    profile_update(actor=member, person=member, changes=ProfileChanges(title="Analyst", skills=["Go", "SQL"]))

    body = text(member_client.get(edit_url(member)))

    assert 'enctype="multipart/form-data"' in body
    assert 'value="Analyst"' in body and 'value="Go, SQL"' in body
    assert 'accept="image/*"' in body
    assert '<option value="UTC" selected>UTC</option>' in body
    ids = re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', body)
    ids = [i for i in ids if i != "top-q"]
    assert len(ids) >= 17
    for field_id in ids:
        assert f'for="{field_id}"' in body, field_id
    assert '<datalist id="departments-list">' in body and 'list="departments-list"' in body


@pytest.mark.django_db
def test_profile_edit_own_profile_saves_and_redirects(member: User, member_client: Client) -> None:
    boss = person("Boss Person")
    data = form_data(
        member,
        full_name="José Álvarez",
        title="Data Engineer",
        department="Data",
        team="Pipelines",
        location="Tampere",
        manager=boss.email,
        skills="Python, SQL,  python",
        interests="Chess",
        timezone="Europe/Helsinki",
        working_hours_start="08:00",
        working_hours_end="16:00",
        start_date="2025-01-15",
        bio="Hello\r\nthere",
    )

    response = member_client.post(edit_url(member), data, follow=True)

    assert response.redirect_chain == [(profile_url(member), 302)]
    assert "Your profile is saved." in text(response)
    profile = profile_of(member)
    assert profile.user.full_name == "José Álvarez"
    assert profile.manager_id == boss.pk
    assert profile.team is not None and profile.team.name == "Pipelines"
    assert sorted(profile.skills.values_list("name", flat=True)) == ["Python", "SQL"]
    assert (profile.timezone, profile.working_hours_start, profile.start_date) == (
        "Europe/Helsinki",
        time(8),
        date(2025, 1, 15),
    )
    assert profile.bio == "Hello\nthere"


@pytest.mark.django_db
def test_profile_edit_of_someone_else_by_a_member_is_refused_and_changes_nothing(member_client: Client) -> None:
    other = person("Other Person", title="Original")
    before = snapshot(other)

    shown = member_client.get(edit_url(other))
    posted = member_client.post(edit_url(other), form_data(other, title="Hacked", full_name="Hacked"))

    assert shown.status_code == 403
    assert posted.status_code == 403
    assert snapshot(other) == before


@pytest.mark.django_db
def test_profile_edit_of_a_hidden_person_is_404(member_client: Client, guest: User) -> None:
    gone = person("Gone Person", active=False)
    colleague = person("Colleague")

    assert member_client.get(edit_url(gone)).status_code == 404
    assert member_client.post(edit_url(gone), {"full_name": "x"}).status_code == 404
    assert signed_in(guest).get(edit_url(colleague)).status_code == 404


@pytest.mark.django_db
def test_profile_edit_by_admin_changes_anyone(admin_client: Client) -> None:
    other = person("Other Person")

    response = admin_client.post(edit_url(other), form_data(other, title="Promoted by admin"))

    assert response.status_code == 302
    assert profile_of(other).title == "Promoted by admin"
    assert "The profile is saved." in text(admin_client.get(response["Location"]))


@pytest.mark.django_db
def test_profile_edit_rejects_a_manager_loop_and_changes_nothing(member: User, member_client: Client) -> None:
    report = person("Rita Report", manager_id=member.pk)
    before = snapshot(member)

    response = member_client.post(edit_url(member), form_data(member, title="Changed", manager=report.email))

    body = text(response)
    assert response.status_code == 400
    assert "Nothing was saved." in body
    assert "already reports to" in body
    assert 'aria-describedby="id_manager_helptext id_manager_error"' in body
    assert 'id="id_manager_error"' in body
    assert snapshot(member) == before


@pytest.mark.django_db
def test_profile_edit_rejects_a_bad_timezone(member: User, member_client: Client) -> None:
    before = snapshot(member)

    response = member_client.post(edit_url(member), form_data(member, title="Changed", timezone="Mars/Base"))

    assert response.status_code == 400
    assert 'aria-invalid="true"' in text(response)
    assert "Time zone:" in text(response)
    assert snapshot(member) == before


@pytest.mark.django_db
def test_profile_edit_rejects_an_oversized_image(member: User, member_client: Client, settings: Any) -> None:
    big = SimpleUploadedFile("huge.jpg", b"\xff\xd8\xff" + b"0" * settings.TOWNHALL_AVATAR_MAX_BYTES, "image/jpeg")
    before = snapshot(member)

    response = member_client.post(edit_url(member), {**form_data(member, title="Changed"), "avatar": big})

    assert response.status_code == 400
    assert "The image is too large (10 MB at most)." in text(response)
    assert snapshot(member) == before
    assert media_files(settings) == []


@pytest.mark.django_db
def test_profile_edit_rejects_text_pretending_to_be_a_png(member: User, member_client: Client, settings: Any) -> None:
    fake = SimpleUploadedFile("photo.png", b"GIF89a? no: just <b>text</b>", "image/png")

    response = member_client.post(edit_url(member), {**form_data(member, title="Changed"), "avatar": fake})

    assert response.status_code == 400
    assert "That file is not an image we can read." in text(response)
    assert profile_of(member).title == ""
    assert media_files(settings) == []


@pytest.mark.django_db
def test_profile_edit_rejects_a_pixel_flood_image(member: User, member_client: Client, settings: Any) -> None:
    bomb = SimpleUploadedFile("bomb.png", png_claiming_size(100_000, 100_000), "image/png")

    response = member_client.post(edit_url(member), {**form_data(member, title="Changed"), "avatar": bomb})

    assert response.status_code == 400
    assert "The image has too many pixels." in text(response)
    assert not profile_of(member).avatar
    assert media_files(settings) == []


@pytest.mark.django_db
def test_profile_edit_reencodes_a_jpeg_with_exif_to_webp_and_serves_it(member: User, member_client: Client) -> None:
    photo = SimpleUploadedFile("holiday.jpg", jpeg_with_exif((1200, 800)), "image/jpeg")

    response = member_client.post(edit_url(member), {**form_data(member), "avatar": photo})

    assert response.status_code == 302
    avatar = profile_of(member).avatar
    assert avatar.name.endswith(".webp") and "holiday" not in avatar.name
    served = member_client.get(avatar.url)
    content = b"".join(served.streaming_content)  # type: ignore[attr-defined]
    assert served.status_code == 200
    assert served["Content-Type"] == "image/webp"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    assert b"Exif" not in content and b"CanonTestMaker" not in content
    from PIL import Image

    with Image.open(avatar.path) as image:
        assert image.size == (256, 256)
    assert f'src="{avatar.url}"' in text(member_client.get(profile_url(member)))


@pytest.mark.django_db
def test_profile_edit_removes_the_photo(
    member: User, member_client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    photo = SimpleUploadedFile("me.jpg", jpeg_with_exif((100, 100)), "image/jpeg")
    member_client.post(edit_url(member), {**form_data(member), "avatar": photo})
    assert 'name="remove_avatar"' in text(member_client.get(edit_url(member)))

    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(edit_url(member), {**form_data(member), "remove_avatar": "on"})

    assert response.status_code == 302
    assert not profile_of(member).avatar
    assert media_files(settings) == []


@pytest.mark.django_db
def test_profile_edit_needs_a_csrf_token(member: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(member, backend="townhall.accounts.backends.EmailBackend")

    response = client.post(edit_url(member), form_data(member, title="Forged"))

    assert response.status_code == 403
    assert profile_of(member).title == ""
