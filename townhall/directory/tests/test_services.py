from __future__ import annotations

import io
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from townhall.accounts.models import User
from townhall.core.errors import PermissionDenied, ValidationFailed
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.services import ProfileChanges, clean_tags, profile_remove_avatar, profile_update
from townhall.testing.factories import UserFactory, profile_of


def snapshot(user: User) -> dict[str, Any]:
    """Everything an edit may touch, to prove a refused edit changed nothing."""
    profile = Profile.objects.select_related("user").get(user=user)
    return {
        "full_name": profile.user.full_name,
        "preferred_name": profile.user.preferred_name,
        "fields": {
            f.attname: getattr(profile, f.attname) for f in Profile._meta.concrete_fields if f.attname != "updated_at"
        },
        "skills": sorted(profile.skills.values_list("name", flat=True)),
        "interests": sorted(profile.interests.values_list("name", flat=True)),
    }


def media_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def jpeg(size: tuple[int, int] = (300, 200)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="JPEG")
    return SimpleUploadedFile("me.jpg", out.getvalue(), content_type="image/jpeg")


@pytest.mark.django_db
def test_profile_update_sets_every_field_and_search_text(member: User) -> None:
    boss = UserFactory(full_name="Boss Person")
    changes = ProfileChanges(
        full_name="José Álvarez",
        preferred_name="Pepe",
        pronouns="he/him",
        title="Staff Engineer",
        department="Engineering",
        team="Platform",
        location="Helsinki",
        manager_email=boss.email.upper(),
        phone="+358 40 123 4567",
        bio="Line one\nLine two",
        skills=["Python", " python ", "Go"],
        interests=["Jazz"],
        timezone="Europe/Helsinki",
        working_hours_start=time(9),
        working_hours_end=time(17),
        start_date=date(2024, 3, 1),
    )

    profile_update(actor=member, person=member, changes=changes)

    profile = profile_of(member)
    assert profile.user.full_name == "José Álvarez"
    assert profile.user.display_name == "Pepe"
    assert (profile.title, profile.pronouns, profile.phone) == ("Staff Engineer", "he/him", "+358 40 123 4567")
    assert profile.department is not None and profile.department.name == "Engineering"
    assert profile.team is not None and profile.team.department_id == profile.department_id
    assert profile.location is not None and profile.location.name == "Helsinki"
    assert profile.manager_id == boss.pk
    assert sorted(profile.skills.values_list("name", flat=True)) == ["Go", "Python"]
    assert (profile.working_hours_start, profile.working_hours_end) == (time(9), time(17))
    assert profile.start_date == date(2024, 3, 1)
    for word in ("jose", "alvarez", "pepe", "staff", "engineering", "platform", "python"):
        assert word in profile.search_text
    assert "jazz" not in profile.search_text  # interests are shown, not searched
    assert profile.sort_name == "pepe"


@pytest.mark.django_db
def test_profile_update_reuses_reference_data_whatever_the_case(member: User) -> None:
    other = UserFactory()
    profile_update(actor=other, person=other, changes=ProfileChanges(department="Engineering", location="Helsinki"))

    profile_update(actor=member, person=member, changes=ProfileChanges(department=" engineering ", location="HELSINKI"))

    assert Department.objects.count() == 1
    assert Location.objects.count() == 1
    assert profile_of(member).department_id == profile_of(other).department_id


@pytest.mark.django_db
def test_profile_update_empty_strings_clear_fields(member: User) -> None:
    boss = UserFactory()
    full = ProfileChanges(
        title="T", department="D", team="X", location="L", manager_id=boss.pk, start_date=date(2024, 1, 1)
    )
    profile_update(actor=member, person=member, changes=full)

    cleared = ProfileChanges(
        title="", department="", team="", location="", manager_email="", clear_start_date=True, clear_working_hours=True
    )
    profile_update(actor=member, person=member, changes=cleared)

    profile = profile_of(member)
    assert (profile.title, profile.department, profile.team, profile.location, profile.manager) == (
        "",
        None,
        None,
        None,
        None,
    )
    assert profile.start_date is None


@pytest.mark.django_db
def test_profile_update_member_editing_someone_else_is_denied_and_changes_nothing(member: User) -> None:
    other = UserFactory()
    before = snapshot(other)

    with pytest.raises(PermissionDenied):
        profile_update(actor=member, person=other, changes=ProfileChanges(title="Hacked", full_name="Hacked"))

    assert snapshot(other) == before


@pytest.mark.django_db
def test_profile_update_admin_edits_anyone(admin: User, member: User) -> None:
    profile_update(actor=admin, person=member, changes=ProfileChanges(title="Promoted", full_name="New Name"))

    profile = profile_of(member)
    assert profile.title == "Promoted"
    assert profile.user.full_name == "New Name"


@pytest.mark.django_db
def test_profile_update_rejects_manager_loop_and_changes_nothing() -> None:
    top, middle, bottom = UserFactory(full_name="Top"), UserFactory(full_name="Middle"), UserFactory(full_name="Bottom")
    profile_update(actor=middle, person=middle, changes=ProfileChanges(manager_id=top.pk))
    profile_update(actor=bottom, person=bottom, changes=ProfileChanges(manager_id=middle.pk))
    before = snapshot(top)

    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=top, person=top, changes=ProfileChanges(title="CEO", manager_email=bottom.email))

    assert "loop" in caught.value.message
    assert "manager" in caught.value.fields
    assert snapshot(top) == before


@pytest.mark.django_db
def test_profile_update_rejects_self_as_manager(member: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=member, person=member, changes=ProfileChanges(manager_email=member.email))

    assert caught.value.fields["manager"] == ["Choose someone else."]


@pytest.mark.django_db
def test_profile_update_manager_must_be_visible_to_the_actor(member: User, admin: User) -> None:
    gone = UserFactory(is_active=False)

    with pytest.raises(ValidationFailed) as for_member:
        profile_update(actor=member, person=member, changes=ProfileChanges(manager_email=gone.email))
    with pytest.raises(ValidationFailed) as unknown:
        profile_update(actor=member, person=member, changes=ProfileChanges(manager_email="nobody@example.com"))
    with pytest.raises(ValidationFailed) as for_admin:
        profile_update(actor=admin, person=member, changes=ProfileChanges(manager_email=gone.email))

    # A member cannot tell a deactivated account from a missing one.
    assert for_member.value.message == unknown.value.message
    assert "deactivated" in for_admin.value.message


@pytest.mark.django_db
def test_profile_update_guest_cannot_probe_people_by_id(guest: User, member: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=guest, person=guest, changes=ProfileChanges(manager_id=member.pk))

    assert caught.value.message == "That manager does not exist."
    assert member.display_name not in caught.value.message


@pytest.mark.django_db
def test_profile_update_keeps_unchanged_manager_who_was_deactivated(member: User) -> None:
    boss = UserFactory()
    profile_update(actor=member, person=member, changes=ProfileChanges(manager_id=boss.pk))
    User.objects.filter(pk=boss.pk).update(is_active=False)

    profile_update(actor=member, person=member, changes=ProfileChanges(title="Still here", manager_email=boss.email))

    profile = profile_of(member)
    assert profile.title == "Still here"
    assert profile.manager_id == boss.pk


@pytest.mark.django_db
def test_profile_update_rejects_bad_timezone(member: User) -> None:
    before = snapshot(member)

    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=member, person=member, changes=ProfileChanges(title="X", timezone="Mars/Olympus_Mons"))

    assert "timezone" in caught.value.fields
    assert snapshot(member) == before


@pytest.mark.django_db
def test_profile_update_rejects_half_given_working_hours(member: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=member, person=member, changes=ProfileChanges(working_hours_start=time(9)))

    assert "working_hours_end" in caught.value.fields


@pytest.mark.django_db
def test_profile_update_team_needs_a_department(member: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=member, person=member, changes=ProfileChanges(team="Platform"))

    assert "team" in caught.value.fields
    assert not Team.objects.exists()


@pytest.mark.django_db
def test_profile_update_rejects_overlong_values(member: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=member, person=member, changes=ProfileChanges(department="D" * 121, bio="b" * 2001))

    assert set(caught.value.fields) == {"department", "bio"}
    assert not Department.objects.exists()


def test_clean_tags_dedupes_and_limits() -> None:
    assert clean_tags("Python, python ,  Go  lang,,", label="skills") == ["Python", "Go lang"]
    with pytest.raises(ValidationFailed):
        clean_tags(["x" * 61], label="skills")
    with pytest.raises(ValidationFailed):
        clean_tags([f"tag{n}" for n in range(31)], label="skills")


@pytest.mark.django_db
def test_profile_update_stores_avatar_as_webp_and_deletes_the_old_one_after_commit(
    member: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    profile_update(actor=member, person=member, changes=ProfileChanges(), avatar=jpeg())
    first = profile_of(member).avatar.name

    with django_capture_on_commit_callbacks(execute=True):
        profile_update(actor=member, person=member, changes=ProfileChanges(), avatar=jpeg((50, 80)))

    second = profile_of(member).avatar
    assert second.name != first
    assert second.name.startswith(f"avatars/{member.pk}/") and second.name.endswith(".webp")
    with Image.open(second.path) as image:
        assert (image.format, image.size) == ("WEBP", (256, 256))
    assert [p.name for p in media_files(settings)] == [Path(second.name).name]


@pytest.mark.django_db
def test_profile_update_bad_image_writes_nothing(member: User, settings: Any) -> None:
    before = snapshot(member)
    fake = SimpleUploadedFile("me.png", b"not an image at all", content_type="image/png")

    with pytest.raises(ValidationFailed) as caught:
        profile_update(actor=member, person=member, changes=ProfileChanges(title="New title"), avatar=fake)

    assert "avatar" in caught.value.fields
    assert snapshot(member) == before
    assert media_files(settings) == []


@pytest.mark.django_db
def test_profile_update_remove_avatar_clears_it_and_deletes_the_file(
    member: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    profile_update(actor=member, person=member, changes=ProfileChanges(), avatar=jpeg())

    with django_capture_on_commit_callbacks(execute=True):
        profile_update(actor=member, person=member, changes=ProfileChanges(remove_avatar=True))

    assert not profile_of(member).avatar
    assert media_files(settings) == []


@pytest.mark.django_db
def test_profile_remove_avatar_is_refused_for_someone_else(member: User, settings: Any) -> None:
    other = UserFactory()
    profile_update(actor=other, person=other, changes=ProfileChanges(), avatar=jpeg())

    with pytest.raises(PermissionDenied):
        profile_remove_avatar(actor=member, person=other)

    assert profile_of(other).avatar
    assert len(media_files(settings)) == 1


@pytest.mark.django_db
def test_profile_update_creates_each_tag_once(member: User) -> None:
    other = UserFactory()
    profile_update(actor=other, person=other, changes=ProfileChanges(skills=["Python"]))

    profile_update(actor=member, person=member, changes=ProfileChanges(skills=["PYTHON"], interests=["python"]))

    assert list(Tag.objects.values_list("name", flat=True)) == ["Python"]
