"""Communities in search. A community's document carries its own id as
`community_id` (so `in:slug` finds it too); who may find it is decided at query time
from the live rows (visible_community_ids: secret ones only for members and invitees,
deleted ones for nobody), so a visibility change applies at once. Services call
community_changed so names and descriptions follow after commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q
from django.urls import reverse

from townhall.accounts.permissions import is_signed_in
from townhall.communities.models import Community
from townhall.communities.selectors import visibility_label, visible_community_ids
from townhall.search import index
from townhall.search.registry import DocumentData, Hit, Source, register


def _data(community: Community) -> DocumentData:
    return DocumentData(
        object_id=community.pk,
        title=community.name,
        body=community.description,
        handle=community.slug,
        community_id=community.pk,
        created_at=community.created_at,
        engagement=community.member_count,
    )


def community_document(community_id: int) -> DocumentData | None:
    community = Community.objects.filter(pk=community_id, deleted_at__isnull=True).first()
    return None if community is None else _data(community)


def all_community_documents() -> Iterator[DocumentData]:
    for community in Community.objects.filter(deleted_at__isnull=True).order_by("pk").iterator(chunk_size=2000):
        yield _data(community)


def community_scope(viewer: Any) -> Q | None:
    if not is_signed_in(viewer):
        return None
    return Q(object_id__in=visible_community_ids(viewer))


def present_communities(viewer: Any, ids: list[int]) -> dict[int, Hit]:
    communities = Community.objects.filter(pk__in=visible_community_ids(viewer)).filter(pk__in=ids)
    return {
        community.pk: Hit(
            title=community.name,
            url=reverse("feed:community", args=[community.slug]),
            text=community.description,
            meta=f"{visibility_label(community.visibility)} community · {community.member_count} "
            + ("member" if community.member_count == 1 else "members"),
        )
        for community in communities
    }


def community_changed(community: Community) -> None:
    """After commit: the community's document (removed once it is deleted)."""
    index.index_on_commit("community", [community.pk])


def register_sources() -> None:
    register(
        Source(
            kind="community",
            label="Communities",
            singular="community",
            build=community_document,
            build_all=all_community_documents,
            scope=community_scope,
            present=present_communities,
            is_name=True,
            position=20,
        )
    )
