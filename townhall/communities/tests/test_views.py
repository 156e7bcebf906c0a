"""The communities pages: directory, create, members, settings, requests, invite,
join/leave/mute and invitations; secret communities never show through them."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from PIL import Image

from townhall.accounts.models import User
from townhall.communities import selectors
from townhall.communities.models import Community, CommunityInvitation, JoinRequest, Membership
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import CommunityFactory, MembershipFactory, invitation, join_request
from townhall.testing.factories import UserFactory
from townhall.testing.responses import stable_body, stable_headers

pytestmark = pytest.mark.django_db

LIST = reverse("communities:list")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/communities/"}


def text(response: Any) -> str:
    return response.content.decode()


def normal(response: Any) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers, but for the CSRF token (masked afresh per response)."""
    return response.status_code, stable_body(response), stable_headers(response)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def card_names(html: str) -> list[str]:
    return re.findall(r'class="community-card-name" id="community-\d+-name"><a href="/c/[^/]+/">([^<]+)</a>', html)


def png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (600, 200), "teal").save(out, format="PNG")
    return SimpleUploadedFile("c.png", out.getvalue(), content_type="image/png")


# --- the directory -------------------------------------------------------------------------


def test_list_shows_public_and_private_but_secret_only_to_members(member: User, member_client: Client) -> None:
    CommunityFactory(name="Open runners")
    CommunityFactory(name="Closed board", visibility="private")
    CommunityFactory(name="Hidden merger", visibility="secret")
    CommunityFactory(name="My secret club", visibility="secret", members=[member])
    html = text(member_client.get(LIST))
    assert card_names(html) == ["All company", "Closed board", "My secret club", "Open runners"]
    assert "Hidden merger" not in html


def test_list_search_kind_and_mine(member: User, member_client: Client) -> None:
    CommunityFactory(name="Python guild", kind="learning", description="Snakes and types")
    CommunityFactory(name="Go guild", kind="learning", members=[member])
    CommunityFactory(name="Board games", kind="interest", description="Dice and python-free fun")
    assert card_names(text(member_client.get(LIST, {"q": "guild"}))) == ["Go guild", "Python guild"]
    assert card_names(text(member_client.get(LIST, {"q": "python"}))) == ["Board games", "Python guild"]
    assert card_names(text(member_client.get(LIST, {"kind": "learning", "q": "py"}))) == ["Python guild"]
    assert card_names(text(member_client.get(LIST, {"mine": "on"}))) == ["All company", "Go guild"]
    assert "No communities match" in text(member_client.get(LIST, {"q": "zzz"}))
    # A bad kind is ignored rather than failing.
    assert member_client.get(LIST, {"kind": "bogus"}).status_code == 200


def test_list_htmx_answers_with_results_only_and_pages_by_cursor(member_client: Client) -> None:
    for n in range(30):
        CommunityFactory(name=f"Club {n:02d}")
    response = member_client.get(LIST, **HTMX, HTTP_HX_TARGET="community-results")
    html = text(response)
    assert "<html" not in html and len(card_names(html)) == 24
    assert "HX-Request" in response["Vary"]
    cursor = re.search(r'href="\?cursor=([^"]+)"', html)
    assert cursor
    more = text(member_client.get(LIST, {"cursor": cursor.group(1)}, **HTMX, HTTP_HX_TARGET="communities-more"))
    assert len(card_names(more)) == 7  # 30 clubs + All company
    assert "beforeend:#community-cards" in more
    # An expired or forged cursor falls back to the first page.
    assert "had expired" in text(member_client.get(LIST, {"cursor": "garbage"}))


def test_list_query_count_does_not_grow_with_communities(
    member: User, member_client: Client, django_assert_max_num_queries
) -> None:
    for n in range(3):
        CommunityFactory(name=f"Few {n}", members=[member])
    with django_assert_max_num_queries(14) as few:  # incl. the notification badge
        member_client.get(LIST)
    owner = UserFactory()
    for n in range(20):
        community = CommunityFactory(name=f"Many {n}", visibility=["public", "private"][n % 2], admin=owner)
        if n % 3 == 0:
            MembershipFactory(community=community, user=member)
        if n % 5 == 0:
            invitation(community, member)
    with django_assert_max_num_queries(len(few.captured_queries)):
        member_client.get(LIST)


def test_list_is_for_signed_in_people(client: Client) -> None:
    response = client.get(LIST)
    assert response.status_code == 302 and "/signin" in response["Location"]


def test_list_shows_guests_only_their_communities(guest: User) -> None:
    CommunityFactory(name="Public for staff")
    CommunityFactory(name="Guest room", members=[guest])
    html = text(signed_in(guest).get(LIST))
    assert card_names(html) == ["Guest room"]
    assert "New community" not in html


# --- create ----------------------------------------------------------------------------------


def test_create_page_makes_a_community_with_a_cover(member: User, member_client: Client) -> None:
    assert member_client.get(reverse("communities:create")).status_code == 200
    response = member_client.post(
        reverse("communities:create"),
        {"name": "Cyclists", "description": "Two wheels", "kind": "interest", "visibility": "private", "cover": png()},
    )
    assert response.status_code == 302 and response["Location"] == "/c/cyclists/"
    community = Community.objects.get(slug="cyclists")
    assert community.cover.name.endswith(".webp")
    assert Membership.objects.get(community=community).role == "admin"


def test_create_page_shows_errors_and_writes_nothing(member_client: Client) -> None:
    bad = SimpleUploadedFile("c.png", b"nope", content_type="image/png")
    response = member_client.post(
        reverse("communities:create"), {"name": "Valid", "kind": "team", "visibility": "public", "cover": bad}
    )
    assert response.status_code == 400
    assert "not an image we can read" in text(response)
    response = member_client.post(reverse("communities:create"), {"name": "", "kind": "team", "visibility": "public"})
    assert response.status_code == 400
    assert not Community.objects.filter(is_all_company=False).exists()


def test_create_page_is_refused_to_guests(guest: User) -> None:
    client = signed_in(guest)
    assert client.get(reverse("communities:create")).status_code == 403
    assert (
        client.post(reverse("communities:create"), {"name": "x", "kind": "team", "visibility": "public"}).status_code
        == 403
    )


# --- joining, leaving, muting ------------------------------------------------------------------


def test_join_public_then_leave_with_messages(member: User, member_client: Client) -> None:
    community = CommunityFactory(name="Walkers", admin=UserFactory())
    response = member_client.post(reverse("communities:join", args=[community.slug]), {"next": "/communities/"})
    assert response["Location"] == "/communities/"
    assert "You are now a member of Walkers." in messages_of(response)
    assert Membership.objects.filter(community=community, user=member).exists()
    response = member_client.post(reverse("communities:leave", args=[community.slug]))
    assert response["Location"] == f"/c/{community.slug}/"
    assert not Membership.objects.filter(community=community, user=member).exists()


def test_join_refuses_outside_urls_for_next(member_client: Client) -> None:
    community = CommunityFactory()
    response = member_client.post(reverse("communities:join", args=[community.slug]), {"next": "https://evil.example/"})
    assert response["Location"] == f"/c/{community.slug}/"


def test_join_private_sends_a_request(member: User, member_client: Client) -> None:
    community = CommunityFactory(name="Board", visibility="private", admin=UserFactory())
    response = member_client.post(reverse("communities:join", args=[community.slug]), {"message": "Hi"})
    assert "Your request to join Board is sent" in messages_of(response)[0]
    assert JoinRequest.objects.get(community=community, user=member).message == "Hi"


def test_join_from_a_card_with_htmx_swaps_the_card(member: User, member_client: Client) -> None:
    community = CommunityFactory(name="Bakers")
    response = member_client.post(reverse("communities:join", args=[community.slug]), **HTMX)
    html = text(response)
    assert response.status_code == 200 and f'id="community-{community.pk}"' in html
    assert "You are now a member of Bakers." in html and "Leave" in html
    assert 'name="next" value="/communities/"' in html  # the page the card is on, not the action URL


def test_leaving_a_secret_community_goes_back_to_the_directory(member: User, member_client: Client) -> None:
    community = CommunityFactory(visibility="secret", members=[member], admin=UserFactory())
    response = member_client.post(
        reverse("communities:leave", args=[community.slug]), {"next": f"/c/{community.slug}/"}
    )
    assert response["Location"] == LIST


def test_leave_refusal_is_a_message(member_client: Client) -> None:
    company = selectors.all_company()
    response = member_client.post(reverse("communities:leave", args=[company.slug]))
    assert response.status_code == 302
    assert "cannot be left" in messages_of(response)[0]


def test_mute_and_unmute(member: User, member_client: Client) -> None:
    community = CommunityFactory(members=[member])
    member_client.post(reverse("communities:mute", args=[community.slug]), {"muted": "1"})
    assert Membership.objects.get(community=community, user=member).muted
    member_client.post(reverse("communities:mute", args=[community.slug]), {"muted": "0"})
    assert not Membership.objects.get(community=community, user=member).muted


def test_actions_are_post_only(member_client: Client) -> None:
    community = CommunityFactory()
    for name in ("join", "leave", "mute"):
        assert member_client.get(reverse(f"communities:{name}", args=[community.slug])).status_code == 405


# --- members -----------------------------------------------------------------------------------------


def test_members_page_lists_admins_first_with_actions_for_admins(member: User) -> None:
    owner = UserFactory(full_name="Zed Owner")
    community = CommunityFactory(admin=owner, members=[member, UserFactory(full_name="Amy Able")])
    html = text(signed_in(owner).get(reverse("communities:members", args=[community.slug])))
    names = re.findall(r'class="person-name" href="/people/\d+/">([^<]+)<', html)
    assert names[0] == "Zed Owner" and names[1] == "Amy Able"
    assert "Make admin" in html and "Remove<span" in html
    plain = text(signed_in(member).get(reverse("communities:members", args=[community.slug])))
    assert "Make admin" not in plain and "Remove<span" not in plain


def test_members_page_is_for_readers(member: User) -> None:
    community = CommunityFactory(visibility="private", admin=UserFactory())
    assert signed_in(member).get(reverse("communities:members", args=[community.slug])).status_code == 403
    assert (
        signed_in(UserFactory(role="admin")).get(reverse("communities:members", args=[community.slug])).status_code
        == 200
    )


def test_members_page_query_count_is_constant(
    member: User, member_client: Client, django_assert_max_num_queries
) -> None:
    community = CommunityFactory(admin=member)
    url = reverse("communities:members", args=[community.slug])
    with django_assert_max_num_queries(14) as few:
        member_client.get(url)
    for _ in range(15):
        MembershipFactory(community=community)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = member_client.get(url)
    assert text(response).count('class="member-row"') == 16


def test_members_page_paginates(member_client: Client, member: User) -> None:
    community = CommunityFactory(admin=member)
    for _ in range(55):
        MembershipFactory(community=community)
    url = reverse("communities:members", args=[community.slug])
    html = text(member_client.get(url))
    assert html.count('class="member-row"') == 50
    cursor = re.search(r'href="\?cursor=([^"]+)"', html)
    assert cursor
    assert text(member_client.get(url, {"cursor": cursor.group(1)})).count('class="member-row"') == 6
    assert member_client.get(url, {"cursor": "junk"}).status_code == 200


def test_member_actions_promote_demote_remove(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    client = signed_in(owner)
    url = reverse("communities:member_action", args=[community.slug, member.pk])
    client.post(url, {"action": "promote"})
    assert Membership.objects.get(community=community, user=member).role == "admin"
    client.post(url, {"action": "demote"})
    assert Membership.objects.get(community=community, user=member).role == "member"
    response = client.post(url, {"action": "remove"})
    assert response["Location"] == reverse("communities:members", args=[community.slug])
    assert not Membership.objects.filter(community=community, user=member).exists()
    assert client.post(url, {"action": "remove"}).status_code == 404  # no longer a member
    assert "Choose remove" in messages_of(client.post(url, {"action": "explode"}))[0]


def test_member_actions_are_refused_to_members(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    url = reverse("communities:member_action", args=[community.slug, owner.pk])
    assert signed_in(member).post(url, {"action": "remove"}).status_code == 403
    assert Membership.objects.filter(community=community, user=owner).exists()


def test_member_action_refusal_is_a_message(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    response = signed_in(owner).post(
        reverse("communities:member_action", args=[community.slug, owner.pk]), {"action": "demote"}
    )
    assert "needs an admin" in messages_of(response)[0]


# --- settings ------------------------------------------------------------------------------------------


def test_settings_edit_archive_unarchive_delete(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, name="Old name", members=[member])
    client = signed_in(owner)
    url = reverse("communities:settings", args=[community.slug])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "action": "save",
            "name": "New name",
            "description": "d",
            "kind": "team",
            "visibility": "private",
            "cover": png(),
        },
    )
    assert response.status_code == 302
    community.refresh_from_db()
    assert (community.name, community.kind, community.visibility) == ("New name", "team", "private")
    assert community.cover
    client.post(url, {"action": "archive"})
    community.refresh_from_db()
    assert community.is_archived
    assert "archived" in text(client.get(url))
    client.post(url, {"action": "unarchive"})
    community.refresh_from_db()
    assert not community.is_archived
    assert client.post(url, {"action": "delete"}).status_code == 400  # not confirmed
    response = client.post(url, {"action": "delete", "confirm": "on"})
    assert response["Location"] == LIST
    assert signed_in(member).get(reverse("communities:members", args=[community.slug])).status_code == 404


def test_settings_show_validation_errors(member: User) -> None:
    community = CommunityFactory(admin=member)
    response = signed_in(member).post(
        reverse("communities:settings", args=[community.slug]),
        {"action": "save", "name": "x" * 101, "kind": "team", "visibility": "public"},
    )
    assert response.status_code == 400 and "field-invalid" in text(response)


def test_settings_are_refused_to_members(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), members=[member])
    client = signed_in(member)
    url = reverse("communities:settings", args=[community.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "delete", "confirm": "on"}).status_code == 403
    assert Community.objects.get(pk=community.pk).deleted_at is None


def test_all_company_settings_hide_kind_visibility_and_delete(admin: User) -> None:
    html = text(signed_in(admin).get(reverse("communities:settings", args=[selectors.all_company().slug])))
    assert 'name="visibility"' not in html and 'value="delete"' not in html


# --- requests --------------------------------------------------------------------------------------------


def test_requests_page_and_decisions(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="private")
    first = join_request(community, member, "Let me in")
    second = join_request(community, UserFactory())
    client = signed_in(owner)
    html = text(client.get(reverse("communities:requests", args=[community.slug])))
    assert "Let me in" in html and html.count('class="member-row"') == 2
    response = client.post(
        reverse("communities:request_decide", args=[community.slug, first.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    assert Membership.objects.filter(community=community, user=member).exists()
    response = client.post(
        reverse("communities:request_decide", args=[community.slug, second.pk]), {"decision": "decline"}, **HTMX
    )
    assert "declined" in text(response) and "<html" not in text(response)
    second.refresh_from_db()
    assert second.status == "declined"
    assert (
        client.post(
            reverse("communities:request_decide", args=[community.slug, second.pk]), {"decision": "approve"}
        ).status_code
        == 404
    )


def test_requests_are_refused_to_members(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), visibility="private", members=[member])
    pending = join_request(community, UserFactory())
    client = signed_in(member)
    assert client.get(reverse("communities:requests", args=[community.slug])).status_code == 403
    assert (
        client.post(
            reverse("communities:request_decide", args=[community.slug, pending.pk]), {"decision": "approve"}
        ).status_code
        == 403
    )


# --- invitations ---------------------------------------------------------------------------------------------


def test_invite_by_email_then_accept_from_the_invitations_page(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="secret", name="Skunkworks")
    client = signed_in(owner)
    page = text(client.get(reverse("communities:invite", args=[community.slug])))
    assert f'<option value="{member.email}">' in page
    response = client.post(reverse("communities:invite", args=[community.slug]), {"email": member.email.upper()})
    assert response.status_code == 302
    sent = CommunityInvitation.objects.get(community=community, user=member)
    mine = signed_in(member)
    assert "Skunkworks" in text(mine.get(reverse("communities:invitations")))
    assert "Invitations <span" in text(mine.get(LIST))
    response = mine.post(reverse("communities:invitation_decide", args=[sent.pk]), {"decision": "accept"})
    assert response["Location"] == f"/c/{community.slug}/"
    assert Membership.objects.filter(community=community, user=member).exists()


def test_invite_unknown_or_hidden_email_is_the_same_error(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner)
    gone = UserFactory(is_active=False)
    client = signed_in(owner)
    url = reverse("communities:invite", args=[community.slug])
    unknown = client.post(url, {"email": "nobody@example.com"})
    hidden = client.post(url, {"email": gone.email})
    assert unknown.status_code == hidden.status_code == 400
    assert "No one in the directory has that email." in text(unknown)
    assert "No one in the directory has that email." in text(hidden)


def test_invite_is_refused_to_members(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), members=[member])
    assert signed_in(member).get(reverse("communities:invite", args=[community.slug])).status_code == 403


def test_invitation_decline_with_htmx_and_other_peoples_invitations(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner)
    sent = invitation(community, member, invited_by=owner)
    stranger = signed_in(UserFactory())
    assert (
        stranger.post(reverse("communities:invitation_decide", args=[sent.pk]), {"decision": "accept"}).status_code
        == 404
    )
    response = signed_in(member).post(
        reverse("communities:invitation_decide", args=[sent.pk]), {"decision": "decline"}, **HTMX
    )
    assert "You declined the invitation" in text(response)
    assert not CommunityInvitation.objects.exists()


# --- the header partial -----------------------------------------------------------------------------------------


def _header_html(viewer: User, community: Community) -> str:
    request = RequestFactory().get(f"/c/{community.slug}/")
    request.user = viewer
    header = selectors.community_header(
        viewer=viewer, community=selectors.community_get(viewer=viewer, slug=community.slug)
    )
    return render_to_string("communities/_header.html", {"header": header}, request=request)


def test_header_shows_the_right_action_for_each_viewer(member: User) -> None:
    owner = UserFactory()
    private = CommunityFactory(admin=owner, visibility="private", name="Inner circle", description="We <b>talk</b>")
    html = _header_html(member, private)
    assert '<h1 id="community-name">Inner circle</h1>' in html
    assert "Ask to join" in html and "Only members can read its posts." in html
    assert "We &lt;b&gt;talk&lt;/b&gt;" in html
    join_request(private, member)
    assert "Request sent" in _header_html(member, private)
    owner_html = _header_html(owner, private)
    assert "Settings" in owner_html and "Invite" in owner_html and 'Requests <span class="badge">1' in owner_html
    public = CommunityFactory(name="Open", members=[member])
    member_html = _header_html(member, public)
    assert "Leave" in member_html and "Mute" in member_html and "Settings" not in member_html
    secret = CommunityFactory(visibility="secret", admin=owner)
    invitation(secret, member, invited_by=owner)
    assert "Accept invitation" in _header_html(member, secret)


def test_header_shows_archived_and_fixed_communities(member: User) -> None:
    community = CommunityFactory(members=[member])
    Community.objects.filter(pk=community.pk).update(archived_at="2026-01-01T00:00:00Z")
    assert "This community is archived." in _header_html(member, community)
    company_html = _header_html(member, selectors.all_company())
    assert "Leave" not in company_html


# --- secret communities leave no trace --------------------------------------------------------------------------


def _secret_world() -> tuple[Community, User]:
    owner = UserFactory()
    community = CommunityFactory(
        admin=owner, visibility="secret", name="Canary merger talks", slug="canary-merger", description="CANARY-TEXT"
    )
    join_request(community, UserFactory())
    return community, owner


PAGES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/c/{slug}/members", {}),
    ("GET", "/c/{slug}/settings", {}),
    ("GET", "/c/{slug}/requests", {}),
    ("GET", "/c/{slug}/invite", {}),
    ("POST", "/c/{slug}/settings", {"action": "delete", "confirm": "on"}),
    ("POST", "/c/{slug}/invite", {"email": "someone@example.com"}),
    ("POST", "/c/{slug}/join", {}),
    ("POST", "/c/{slug}/leave", {}),
    ("POST", "/c/{slug}/mute", {"muted": "1"}),
    ("POST", "/c/{slug}/members/{owner}", {"action": "remove"}),
    ("POST", "/c/{slug}/requests/{request}", {"decision": "approve"}),
]


@pytest.mark.parametrize("role", ["member", "former_member", "admin", "ic_moderator", "guest"])
@pytest.mark.parametrize(("method", "template", "data"), PAGES, ids=[f"{m} {t}" for m, t, _ in PAGES])
def test_secret_community_pages_answer_like_a_missing_slug(
    role: str, method: str, template: str, data: dict[str, Any]
) -> None:
    community, owner = _secret_world()
    viewer = UserFactory(role="member" if role == "former_member" else role)
    if role == "former_member":
        MembershipFactory(community=community, user=viewer)
        Membership.objects.filter(community=community, user=viewer).delete()
    client = signed_in(viewer)
    request_id = JoinRequest.objects.get(community=community).pk
    hidden_url = template.format(slug=community.slug, owner=owner.pk, request=request_id)
    missing_url = template.format(slug="never-existed", owner=owner.pk, request=request_id)
    send = client.get if method == "GET" else client.post
    hidden, missing = send(hidden_url, data), send(missing_url, data)
    assert hidden.status_code == 404
    assert normal(hidden) == normal(missing)
    assert "CANARY" not in text(hidden) and "Canary" not in text(hidden)
    assert Community.objects.get(pk=community.pk).deleted_at is None


def test_secret_community_leaves_no_trace_in_the_directory(member: User, member_client: Client) -> None:
    _secret_world()
    for params in ({}, {"q": "canary"}, {"q": "merger"}, {"kind": "interest"}, {"mine": "on"}):
        html = text(member_client.get(LIST, params))
        assert "Canary merger" not in html and "CANARY-TEXT" not in html and "canary-merger" not in html
    assert "anary" not in text(member_client.get(reverse("communities:invitations")))
