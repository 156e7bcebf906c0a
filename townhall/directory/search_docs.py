"""People in search. Who may find whom is people_visible_to at query time (guests
only themselves, deactivated people only for admins), so a deactivation applies at
once. profile_refresh_search (every profile write) calls person_changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from townhall.accounts.permissions import is_signed_in
from townhall.directory.models import Profile
from townhall.directory.selectors import people_visible_to
from townhall.search import index
from townhall.search.registry import DocumentData, Hit, Source, register

RELATED = ("user", "department", "team", "location")


def _data(profile: Profile, skills: list[str]) -> DocumentData:
    user = profile.user
    also = user.full_name if user.preferred_name and user.preferred_name != user.full_name else ""
    parts = [
        also,
        profile.title,
        profile.department.name if profile.department else "",
        profile.team.name if profile.team else "",
        profile.location.name if profile.location else "",
        ", ".join(skills),
    ]
    return DocumentData(
        object_id=user.pk,
        title=user.display_name,
        body=" · ".join(part for part in parts if part),
        handle=user.email.split("@")[0],
        created_at=user.date_joined,
    )


def person_document(user_id: int) -> DocumentData | None:
    profile = Profile.objects.select_related(*RELATED).filter(user_id=user_id).first()
    if profile is None:
        return None
    return _data(profile, sorted(profile.skills.values_list("name", flat=True)))


def all_person_documents() -> Iterator[DocumentData]:
    through = Profile.skills.through
    last = 0
    while batch := list(Profile.objects.select_related(*RELATED).filter(user_id__gt=last).order_by("user_id")[:2000]):
        ids = [profile.user_id for profile in batch]
        skills: dict[int, list[str]] = {}
        for user_id, name in through.objects.filter(profile_id__in=ids).values_list("profile_id", "tag__name"):
            skills.setdefault(user_id, []).append(name)
        for profile in batch:
            yield _data(profile, sorted(skills.get(profile.user_id, [])))
        last = ids[-1]


def person_scope(viewer: Any) -> Q | None:
    if not is_signed_in(viewer):
        return None
    # Tested row by row (EXISTS): a name search checks a few dozen people, and an IN
    # list made PostgreSQL hash every visible profile first (10,000: ~9.5 ms of a
    # suggestion's 30).
    return Q(Exists(people_visible_to(viewer).filter(user_id=OuterRef("object_id"))))


def present_people(viewer: Any, ids: list[int]) -> dict[int, Hit]:
    profiles = people_visible_to(viewer).filter(user_id__in=ids)
    hits = {}
    for profile in profiles:
        details = [profile.title, profile.department.name if profile.department else ""]
        hits[profile.user_id] = Hit(
            title=profile.user.display_name,
            url=reverse("directory:profile", args=[profile.user_id]),
            meta=" · ".join(part for part in details if part) or "Person",
            avatar=profile.user,
        )
    return hits


def person_changed(user_id: int) -> None:
    """After commit: the person's document (name, title, team, skills)."""
    index.index_on_commit("person", [user_id])


def register_sources() -> None:
    register(
        Source(
            kind="person",
            label="People",
            singular="person",
            build=person_document,
            build_all=all_person_documents,
            scope=person_scope,
            present=present_people,
            is_name=True,
            position=10,
        )
    )
