"""`/api/v1/communities`: every operation, its refusals, and secret communities
answering exactly like missing ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from townhall.accounts.models import User
from townhall.accounts.services import token_create
from townhall.communities import selectors
from townhall.communities.models import Community, CommunityInvitation, JoinRequest, Membership
from townhall.testing.communities_factories import CommunityFactory, MembershipFactory, invitation, join_request
from townhall.testing.factories import UserFactory
from townhall.testing.responses import stable_headers

pytestmark = pytest.mark.django_db

BASE = "/api/v1/communities"


class Api:
    """A token-authenticated JSON client for one user."""

    def __init__(self, user: User, *scopes: str) -> None:
        _, secret = token_create(actor=user, name="test", scopes=list(scopes or ("read", "write")))
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, **self.headers)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(method, path, data, content_type="application/json", **self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.send("POST", path, body)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return dict(body["error"])


# --- list, get, create, update --------------------------------------------------------------


def test_list_returns_visible_communities_with_viewer_flags(member: User) -> None:
    CommunityFactory(name="Open", members=[member])
    CommunityFactory(name="Closed", visibility="private")
    CommunityFactory(name="Hidden", visibility="secret")
    body = Api(member).get(BASE).json()
    assert [c["name"] for c in body["items"]] == ["All company", "Closed", "Open"]
    closed = body["items"][1]
    assert closed["visibility"] == "private" and closed["viewer"]["can_request"] is True
    assert body["items"][2]["viewer"]["is_member"] is True and body["next_cursor"] is None


def test_list_filters_and_cursor(member: User) -> None:
    for n in range(5):
        CommunityFactory(name=f"Team {n}", kind="team")
    api = Api(member)
    first = api.get(BASE, kind="team", limit=3).json()
    assert [c["name"] for c in first["items"]] == ["Team 0", "Team 1", "Team 2"]
    second = api.get(BASE, kind="team", limit=3, cursor=first["next_cursor"]).json()
    assert [c["name"] for c in second["items"]] == ["Team 3", "Team 4"]
    assert [c["name"] for c in api.get(BASE, q="team 4").json()["items"]] == ["Team 4"]
    assert [c["name"] for c in api.get(BASE, mine="true").json()["items"]] == ["All company"]
    assert assert_error(api.get(BASE, cursor="junk"), 422, "invalid")["fields"] == {
        "cursor": ["The cursor is not valid; start again from the first page."]
    }
    assert_error(api.get(BASE, kind="cult"), 422, "invalid")
    assert_error(api.get(BASE, limit=500), 422, "invalid")


def test_get_create_update(member: User) -> None:
    api = Api(member)
    created = api.post(BASE, {"name": "API club", "kind": "project", "visibility": "private"})
    assert created.status_code == 201
    body = created.json()
    assert body["slug"] == "api-club" and body["viewer"]["is_admin"] is True and body["member_count"] == 1
    assert api.get(f"{BASE}/api-club").json()["name"] == "API club"
    patched = api.send("PATCH", f"{BASE}/api-club", {"description": "Now described", "visibility": "secret"})
    assert patched.status_code == 200
    assert (patched.json()["description"], patched.json()["visibility"]) == ("Now described", "secret")
    assert_error(api.send("PATCH", f"{BASE}/api-club", {"name": None}), 422, "invalid")
    assert_error(api.send("PATCH", f"{BASE}/api-club", {"kind": "department"}), 422, "invalid")


def test_create_validation_and_guests(member: User, guest: User) -> None:
    assert_error(Api(member).post(BASE, {"name": ""}), 422, "invalid")
    assert_error(Api(member).post(BASE, {"name": "x", "kind": "department"}), 422, "invalid")
    assert_error(Api(guest).post(BASE, {"name": "Guest club"}), 403, "forbidden")


def test_update_is_refused_to_members(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), members=[member])
    assert_error(Api(member).send("PATCH", f"{BASE}/{community.slug}", {"name": "Hijack"}), 403, "forbidden")


def test_read_only_tokens_cannot_write(member: User) -> None:
    community = CommunityFactory()
    api = Api(member, "read")
    assert api.get(f"{BASE}/{community.slug}").status_code == 200
    assert_error(api.post(f"{BASE}/{community.slug}/join"), 401, "unauthenticated")


def test_cover_removal(member: User) -> None:
    community = CommunityFactory(admin=member, cover="communities/old.webp")
    assert Api(member).send("DELETE", f"{BASE}/{community.slug}/cover").json()["cover_url"] is None
    assert not Community.objects.get(pk=community.pk).cover


# --- join, leave, mute ---------------------------------------------------------------------------


def test_join_public_private_and_leave(member: User) -> None:
    owner = UserFactory()
    public = CommunityFactory(admin=owner)
    private = CommunityFactory(admin=owner, visibility="private")
    api = Api(member)
    joined = api.post(f"{BASE}/{public.slug}/join").json()
    assert joined["status"] == "joined" and joined["community"]["viewer"]["is_member"] is True
    requested = api.post(f"{BASE}/{private.slug}/requests", {"message": "please"}).json()
    assert requested["status"] == "requested" and requested["community"]["viewer"]["has_pending_request"] is True
    assert JoinRequest.objects.get(community=private, user=member).message == "please"
    assert api.post(f"{BASE}/{private.slug}/join").json()["status"] == "requested"  # the same request
    assert api.post(f"{BASE}/{public.slug}/leave").status_code == 204
    assert not Membership.objects.filter(community=public, user=member).exists()
    assert_error(api.post(f"{BASE}/{public.slug}/leave"), 422, "invalid")
    assert_error(api.post(f"{BASE}/{selectors.all_company().slug}/leave"), 422, "invalid")


def test_mute(member: User) -> None:
    community = CommunityFactory(members=[member])
    api = Api(member)
    assert api.post(f"{BASE}/{community.slug}/mute", {"muted": True}).json()["viewer"]["is_muted"] is True
    assert api.post(f"{BASE}/{community.slug}/mute", {"muted": False}).json()["viewer"]["is_muted"] is False
    assert_error(api.post(f"{BASE}/{CommunityFactory().slug}/mute", {"muted": True}), 422, "invalid")


# --- members ----------------------------------------------------------------------------------------


def test_members_list_and_management(member: User) -> None:
    owner = UserFactory(full_name="Owner Zed")
    community = CommunityFactory(admin=owner, members=[member])
    api = Api(owner)
    body = api.get(f"{BASE}/{community.slug}/members").json()
    assert [(m["user"]["id"], m["role"]) for m in body["items"]] == [(owner.pk, "admin"), (member.pk, "member")]
    promoted = api.post(f"{BASE}/{community.slug}/members/{member.pk}/promote")
    assert promoted.json()["role"] == "admin"
    assert api.post(f"{BASE}/{community.slug}/members/{member.pk}/demote").json()["role"] == "member"
    assert api.send("DELETE", f"{BASE}/{community.slug}/members/{member.pk}").status_code == 204
    assert_error(api.send("DELETE", f"{BASE}/{community.slug}/members/{member.pk}"), 404, "not_found")
    assert_error(api.send("DELETE", f"{BASE}/{community.slug}/members/{owner.pk}"), 422, "invalid")


def test_members_cursor_and_limits(member: User) -> None:
    community = CommunityFactory(admin=member)
    for _ in range(4):
        MembershipFactory(community=community)
    api = Api(member)
    first = api.get(f"{BASE}/{community.slug}/members", limit=3).json()
    second = api.get(f"{BASE}/{community.slug}/members", limit=3, cursor=first["next_cursor"]).json()
    assert len(first["items"]) == 3 and len(second["items"]) == 2 and second["next_cursor"] is None
    assert_error(api.get(f"{BASE}/{community.slug}/members", cursor="junk"), 422, "invalid")
    assert_error(api.get(f"{BASE}/{community.slug}/members", limit=0), 422, "invalid")


def test_member_management_is_refused_to_members(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    api = Api(member)
    assert_error(api.send("DELETE", f"{BASE}/{community.slug}/members/{owner.pk}"), 403, "forbidden")
    assert_error(api.post(f"{BASE}/{community.slug}/members/{member.pk}/promote"), 403, "forbidden")
    private = CommunityFactory(visibility="private")
    assert_error(api.get(f"{BASE}/{private.slug}/members"), 403, "forbidden")


# --- requests and invitations -------------------------------------------------------------------------


def test_requests_approve_and_decline(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="private")
    first = join_request(community, member, "hello")
    second = join_request(community, UserFactory())
    api = Api(owner)
    listed = api.get(f"{BASE}/{community.slug}/requests").json()
    assert [r["id"] for r in listed] == [first.pk, second.pk] and listed[0]["message"] == "hello"
    approved = api.post(f"{BASE}/{community.slug}/requests/{first.pk}/approve")
    assert approved.json()["user"]["id"] == member.pk
    assert api.post(f"{BASE}/{community.slug}/requests/{second.pk}/decline").status_code == 204
    assert_error(api.post(f"{BASE}/{community.slug}/requests/{second.pk}/approve"), 404, "not_found")
    assert_error(Api(member).get(f"{BASE}/{community.slug}/requests"), 403, "forbidden")


def test_invite_accept_and_decline(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="secret", name="Secret")
    api = Api(owner)
    created = api.post(f"{BASE}/{community.slug}/invitations", {"user_id": member.pk})
    assert created.status_code == 201 and created.json()["user"]["id"] == member.pk
    mine = Api(member)
    listed = mine.get(f"{BASE}/invitations").json()
    assert [i["community"]["name"] for i in listed] == ["Secret"]
    accepted = mine.post(f"{BASE}/invitations/{listed[0]['id']}/accept")
    assert accepted.json()["viewer"]["is_member"] is True
    other = UserFactory()
    sent = invitation(community, other, invited_by=owner)
    assert_error(mine.post(f"{BASE}/invitations/{sent.pk}/decline"), 404, "not_found")
    assert Api(other).post(f"{BASE}/invitations/{sent.pk}/decline").status_code == 204
    assert not CommunityInvitation.objects.filter(user=other).exists()


def test_invite_refusals(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    gone = UserFactory(is_active=False)
    api = Api(owner)
    for user_id in (987654, gone.pk):
        error = assert_error(api.post(f"{BASE}/{community.slug}/invitations", {"user_id": user_id}), 422, "invalid")
        assert error["fields"] == {"user_id": [error["message"]]} and "No one" in error["message"]
    assert_error(api.post(f"{BASE}/{community.slug}/invitations", {"user_id": member.pk}), 422, "invalid")
    assert_error(Api(member).post(f"{BASE}/{community.slug}/invitations", {"user_id": owner.pk}), 403, "forbidden")


# --- archive and delete ----------------------------------------------------------------------------------


def test_archive_unarchive_delete(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    api = Api(owner)
    archived = api.post(f"{BASE}/{community.slug}/archive").json()
    assert archived["archived"] is True and archived["viewer"]["can_post"] is False
    assert_error(Api(UserFactory()).post(f"{BASE}/{community.slug}/join"), 422, "invalid")
    assert api.post(f"{BASE}/{community.slug}/unarchive").json()["archived"] is False
    assert_error(Api(member).send("DELETE", f"{BASE}/{community.slug}"), 403, "forbidden")
    assert api.send("DELETE", f"{BASE}/{community.slug}").status_code == 204
    assert_error(api.get(f"{BASE}/{community.slug}"), 404, "not_found")
    assert_error(Api(member).get(f"{BASE}/{community.slug}"), 404, "not_found")


# --- secret communities answer like missing ones ------------------------------------------------------------

OPERATIONS: list[tuple[str, str, Any]] = [
    ("GET", "{slug}", None),
    ("PATCH", "{slug}", {"name": "x"}),
    ("DELETE", "{slug}", None),
    ("DELETE", "{slug}/cover", None),
    ("POST", "{slug}/archive", None),
    ("POST", "{slug}/unarchive", None),
    ("POST", "{slug}/join", None),
    ("POST", "{slug}/requests", {"message": "hi"}),
    ("POST", "{slug}/leave", None),
    ("POST", "{slug}/mute", {"muted": True}),
    ("GET", "{slug}/members", None),
    ("DELETE", "{slug}/members/{owner}", None),
    ("POST", "{slug}/members/{owner}/promote", None),
    ("POST", "{slug}/members/{owner}/demote", None),
    ("GET", "{slug}/requests", None),
    ("POST", "{slug}/requests/{request}/approve", None),
    ("POST", "{slug}/requests/{request}/decline", None),
    ("POST", "{slug}/invitations", {"user_id": 1}),
]


@pytest.mark.parametrize("role", ["member", "former_member", "admin", "guest"])
@pytest.mark.parametrize(("method", "template", "body"), OPERATIONS, ids=[f"{m} {t}" for m, t, _ in OPERATIONS])
def test_secret_community_endpoints_answer_like_a_missing_slug(
    role: str, method: str, template: str, body: Any
) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="secret", slug="canary-secret", description="CANARY")
    pending = join_request(community, UserFactory())
    viewer = UserFactory(role="member" if role == "former_member" else role)
    if role == "former_member":
        MembershipFactory(community=community, user=viewer)
        Membership.objects.filter(community=community, user=viewer).delete()
    api = Api(viewer)
    hidden = api.send(
        method, f"{BASE}/" + template.format(slug=community.slug, owner=owner.pk, request=pending.pk), body
    )
    missing = api.send(method, f"{BASE}/" + template.format(slug="never-was", owner=owner.pk, request=pending.pk), body)
    assert hidden.status_code == 404
    assert hidden.content == missing.content
    assert stable_headers(hidden) == stable_headers(missing)
    assert Community.objects.get(pk=community.pk).deleted_at is None


def test_secret_community_is_absent_from_lists_and_invitations(member: User) -> None:
    CommunityFactory(visibility="secret", name="Canary", description="CANARY")
    api = Api(member)
    for params in ({}, {"q": "canary"}, {"mine": "true"}):
        assert "anary" not in api.get(BASE, **params).content.decode()
    assert api.get(f"{BASE}/invitations").json() == []


def test_deactivated_callers_get_401(member: User) -> None:
    api = Api(member)
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert_error(api.get(BASE), 401, "unauthenticated")
