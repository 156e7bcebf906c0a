"""Writes to the people directory: profiles, avatars, reference data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import IO, TypeVar

from django.db import IntegrityError, models, transaction

from townhall.accounts.models import User
from townhall.accounts.permissions import check_edit_profile
from townhall.accounts.services import user_update_names
from townhall.core.errors import ValidationFailed
from townhall.directory import search_docs
from townhall.directory.hooks import run_department_changed
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.permissions import can_view_person
from townhall.directory.selectors import timezone_names
from townhall.directory.text import search_text_for
from townhall.media.images import reencode_image

AVATAR_SIDE = 256
MAX_TAGS = 30
NAME_MAX = 120

M = TypeVar("M", bound=models.Model)


def profile_create_for_user(user: User) -> None:
    """Hook run inside the user's creating transaction: every user has a profile."""
    profile, _ = Profile.objects.get_or_create(user=user)
    profile_refresh_search(profile=profile)


def profile_refresh_search(*, profile: Profile) -> None:
    """Recompute the folded text the directory search matches against (see text.search_text_for)."""
    user = profile.user
    search_text, sort_name = search_text_for(
        full_name=user.full_name,
        preferred_name=user.preferred_name,
        email=user.email,
        title=profile.title,
        department=profile.department.name if profile.department_id and profile.department else "",
        team=profile.team.name if profile.team_id and profile.team else "",
        skills=profile.skills.values_list("name", flat=True) if profile.pk else [],
    )
    Profile.objects.filter(pk=profile.pk).update(search_text=search_text, sort_name=sort_name)
    profile.search_text, profile.sort_name = search_text, sort_name
    search_docs.person_changed(profile.user_id)


def clean_tags(raw: list[str] | str, *, label: str) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    names: list[str] = []
    for item in items:
        name = " ".join(str(item).split())
        if not name:
            continue
        if len(name) > 60:
            raise ValidationFailed(
                f"Each of the {label} must be 60 characters or fewer.",
                fields={label: [f"Each of the {label} must be 60 characters or fewer."]},
            )
        if name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationFailed(
            f"List at most {MAX_TAGS} {label}.", fields={label: [f"List at most {MAX_TAGS} {label}."]}
        )
    return names


def _get_or_create_named(find: Callable[[], M | None], create: Callable[[], M]) -> M:
    """Find a row by its case-insensitive name, or create it. A concurrent creator
    wins the unique constraint; then the savepoint rolls back and we read theirs."""
    existing = find()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found


def _tag_named(name: str) -> Tag:
    return _get_or_create_named(
        lambda: Tag.objects.filter(name__iexact=name).first(), lambda: Tag.objects.create(name=name)
    )


def _tags(names: list[str]) -> list[Tag]:
    return [_tag_named(name) for name in names]


def _clean_name(name: str) -> str:
    return " ".join(name.split())[:NAME_MAX]


def department_named(name: str) -> Department | None:
    name = _clean_name(name)
    if not name:
        return None
    return _get_or_create_named(
        lambda: Department.objects.filter(name__iexact=name).first(), lambda: Department.objects.create(name=name)
    )


def location_named(name: str) -> Location | None:
    name = _clean_name(name)
    if not name:
        return None
    return _get_or_create_named(
        lambda: Location.objects.filter(name__iexact=name).first(), lambda: Location.objects.create(name=name)
    )


def team_named(name: str, *, department: Department | None) -> Team | None:
    name = _clean_name(name)
    if not name or department is None:
        return None
    return _get_or_create_named(
        lambda: Team.objects.filter(department=department, name__iexact=name).first(),
        lambda: Team.objects.create(department=department, name=name),
    )


def check_manager(*, person: User, manager: User | None) -> None:
    """A manager must be another active person, and never someone in one's own
    reporting line (that would make the org chart a loop)."""
    if manager is None:
        return
    if manager.pk == person.pk:
        raise ValidationFailed("A person cannot be their own manager.", fields={"manager": ["Choose someone else."]})
    if not manager.is_active:
        raise ValidationFailed(
            "The manager's account is deactivated.", fields={"manager": ["That person's account is deactivated."]}
        )
    seen: set[int] = set()
    current: int | None = manager.pk
    while current is not None and current not in seen:
        if current == person.pk:
            raise ValidationFailed(
                f"{manager.display_name} reports to {person.display_name}; that would make a loop.",
                fields={
                    "manager": [f"{manager.display_name} already reports to {person.display_name}, directly or not."]
                },
            )
        seen.add(current)
        current = Profile.objects.filter(user_id=current).values_list("manager_id", flat=True).first()


@dataclass
class ProfileChanges:
    """Fields an edit sets; None leaves a field as it is (an empty string clears it)."""

    full_name: str | None = None
    preferred_name: str | None = None
    pronouns: str | None = None
    title: str | None = None
    department: str | None = None
    team: str | None = None
    location: str | None = None
    manager_id: int | None = None
    # The manager by email (what people type); "" clears the manager.
    manager_email: str | None = None
    clear_manager: bool = False
    phone: str | None = None
    bio: str | None = None
    skills: list[str] | None = None
    interests: list[str] | None = None
    timezone: str | None = None
    working_hours_start: time | None = None
    working_hours_end: time | None = None
    clear_working_hours: bool = False
    start_date: date | None = None
    clear_start_date: bool = False
    remove_avatar: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)


_LIMITS = {
    "pronouns": 40,
    "title": 120,
    "phone": 40,
    "bio": 2000,
    "preferred_name": 80,
    "full_name": 150,
    "department": NAME_MAX,
    "team": NAME_MAX,
    "location": NAME_MAX,
}


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        name, messages = next(iter(errors.items()))
        raise ValidationFailed(f"{name.replace('_', ' ').capitalize()}: {messages[0]}", fields=errors)


def _validate(changes: ProfileChanges) -> None:
    errors: dict[str, list[str]] = {}
    for name, limit in _LIMITS.items():
        value = getattr(changes, name)
        if value is not None and len(value.strip()) > limit:
            errors[name] = [f"At most {limit} characters."]
    if changes.full_name is not None and not changes.full_name.strip():
        errors["full_name"] = ["Enter a name."]
    if changes.timezone is not None and changes.timezone not in timezone_names():
        errors["timezone"] = ["Choose a time zone from the list, like Europe/Helsinki."]
    if (changes.working_hours_start is None) != (changes.working_hours_end is None) and not changes.clear_working_hours:
        errors["working_hours_end"] = ["Give both the start and the end of working hours."]
    elif changes.working_hours_start is not None and changes.working_hours_start == changes.working_hours_end:
        errors["working_hours_end"] = ["Working hours cannot start and end at the same time."]
    if changes.start_date is not None and not date(1950, 1, 1) <= changes.start_date <= date(2100, 1, 1):
        errors["start_date"] = ["Enter a real start date."]
    _raise_if(errors)


def _resolve_manager(
    *, actor: User, person: User, profile: Profile, changes: ProfileChanges
) -> tuple[bool, User | None]:
    """(changed, new manager) from the requested change, validated. Only people the
    actor may see can be named, so a probe by id or email reveals nobody hidden."""
    if changes.manager_id is not None:
        manager = User.objects.filter(pk=changes.manager_id).first()
        missing = "That manager does not exist."
    elif changes.manager_email is not None:
        email = changes.manager_email.strip().lower()
        if not email:
            return profile.manager_id is not None, None
        if profile.manager_id and profile.manager and profile.manager.email == email:
            return False, profile.manager  # unchanged, even if they are now hidden from the actor
        manager = User.objects.filter(email=email).first()
        missing = "No one in the directory has that email."
    elif changes.clear_manager:
        return profile.manager_id is not None, None
    else:
        return False, None
    if manager is None or not can_view_person(actor, manager):
        raise ValidationFailed(missing, fields={"manager": [missing]})
    check_manager(person=person, manager=manager)
    return True, manager


def profile_update(*, actor: User, person: User, changes: ProfileChanges, avatar: IO[bytes] | None = None) -> Profile:
    """Apply `changes` (and a new avatar, or its removal) to `person`'s profile.

    Only the person or an admin may (PermissionDenied otherwise). Everything is
    validated (the image and the reporting line included) before anything is
    written, then written in one transaction; a ValidationFailed changes nothing.
    After commit, the replaced or removed photo file is deleted.
    """
    check_edit_profile(actor, person)
    _validate(changes)
    skills = clean_tags(changes.skills, label="skills") if changes.skills is not None else None
    interests = clean_tags(changes.interests, label="interests") if changes.interests is not None else None
    current = Profile.objects.select_related("manager", "department").get(user=person)
    manager_changed, manager = _resolve_manager(actor=actor, person=person, profile=current, changes=changes)
    if changes.team is not None and changes.team.strip():
        if changes.department is not None:
            has_department = bool(changes.department.strip())
        else:
            has_department = current.department_id is not None
        if not has_department:
            _raise_if({"team": ["Give the department the team belongs to."]})
    avatar_file = reencode_image(avatar, max_side=AVATAR_SIDE, square=True, field="avatar") if avatar else None

    new_avatar_name: str | None = None
    try:
        with transaction.atomic():
            profile = Profile.objects.select_for_update().get(user=person)
            old_department_id = profile.department_id
            if changes.full_name is not None or changes.preferred_name is not None:
                user_update_names(
                    actor=actor,
                    user=person,
                    full_name=changes.full_name if changes.full_name is not None else person.full_name,
                    preferred_name=changes.preferred_name
                    if changes.preferred_name is not None
                    else person.preferred_name,
                )
            for name in ("pronouns", "title", "phone", "bio", "timezone"):
                value = getattr(changes, name)
                if value is not None:
                    setattr(profile, name, value.strip())
            if changes.department is not None:
                profile.department = department_named(changes.department)
            if changes.location is not None:
                profile.location = location_named(changes.location)
            if changes.team is not None:
                profile.team = team_named(changes.team, department=profile.department)
            elif (
                changes.department is not None and profile.team and profile.team.department_id != profile.department_id
            ):
                profile.team = None
            if manager_changed:
                profile.manager = manager
            if changes.clear_working_hours:
                profile.working_hours_start = profile.working_hours_end = None
            elif changes.working_hours_start is not None:
                profile.working_hours_start = changes.working_hours_start
                profile.working_hours_end = changes.working_hours_end
            if changes.start_date is not None:
                profile.start_date = changes.start_date
            elif changes.clear_start_date:
                profile.start_date = None
            old_avatar = profile.avatar.name if profile.avatar else None
            if avatar_file is not None:
                profile.avatar.save(avatar_file.name or "avatar.webp", avatar_file, save=False)
                new_avatar_name = profile.avatar.name
            elif changes.remove_avatar:
                profile.avatar = ""  # type: ignore[assignment]
            profile.save()
            # Department communities follow the directory, in this same transaction.
            run_department_changed(person.pk, old_department_id, profile.department_id)
            if skills is not None:
                profile.skills.set(_tags(skills))
            if interests is not None:
                profile.interests.set(_tags(interests))
            profile.user = User.objects.get(pk=person.pk)
            profile_refresh_search(profile=profile)
            if old_avatar and (avatar_file is not None or changes.remove_avatar):
                storage = profile.avatar.storage
                transaction.on_commit(lambda: storage.delete(old_avatar))
    except Exception:
        # The new file was written before the rollback; no row points at it.
        if new_avatar_name:
            Profile._meta.get_field("avatar").storage.delete(new_avatar_name)  # type: ignore[attr-defined]
        raise
    return profile


def profile_remove_avatar(*, actor: User, person: User) -> None:
    """Remove `person`'s photo (the person or an admin); the file goes after commit."""
    check_edit_profile(actor, person)
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get(user=person)
        if profile.avatar:
            name, storage = profile.avatar.name, profile.avatar.storage
            Profile.objects.filter(pk=profile.pk).update(avatar="")
            transaction.on_commit(lambda: storage.delete(name))
