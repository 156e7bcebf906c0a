"""The authorization matrix: every route x every role x object state -> expected status.

`MATRIX` maps each URL name to its cases. A case names the object state it targets,
the method, and the expected status for each role. `test_authz_matrix.py` runs every
case and fails when a route exists that the matrix does not list.

People states: `self`, `other`, `gone` (deactivated person), `missing` (never existed).
Community states (and the posts, comments and topics in them): `public`, `private`,
`secret`, `archived` (a public community made read-only), `deleted` (soft-deleted),
`moved` (public when people read, reacted, commented and followed its topic; private
now), `missing`; for content also `deleted_post`, `deleted_comment`, `mine` (the role
holder's own post or comment in the public community) and `mine_archived`.

Who the role holders are (see `build_world`): `member` belongs to the public and the
private community (never the secret one); `guest` was invited into the public
community only; `former_member` left the private community and `removed_member` was
removed from it (both still belong to the public one); `ic_moderator` and `admin`
belong to no community but moderate every community they can see; `deactivated` was a
member of the public and the private community and keeps a live session and a live
API token. Nobody holding a role belongs to the secret or the deleted community, so
everything in them must answer exactly like something that never existed.

`KNOWN_BUGS` lists the (route, state, role) readings the app gets wrong today; they
run as strict xfails, so a fix shows up as a failure until the entry is removed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.signals import got_request_exception
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.test.client import ClientHandler

ROLES = (
    "anonymous",
    "deactivated",
    "guest",
    "member",
    "former_member",
    "removed_member",
    "ic_moderator",
    "admin",
)
SIGNED_OUT = ("anonymous", "deactivated")
SITE_MODERATORS = ("ic_moderator", "admin")
# Planted in every object no role holder may see (test_canaries.py looks for them).
SECRET_CANARY = "Qz7SecretCanary"  # secret community, deleted community, deleted post/comment
PRIVATE_CANARY = "Kw4PrivateCanary"  # content of the private community (only `member` may read it)
MISSING_ID = 987654
MISSING_SLUG = "never-existed"


def expect(
    *,
    out: int,
    guest: int,
    member: int,
    admin: int,
    ic: int | None = None,
    former: int | None = None,
) -> dict[str, int]:
    """Expected status per role; a deactivated person's live session counts as signed
    out. Former and removed members of the private community are members elsewhere, so
    they default to `member` (give `former` where the private community matters)."""
    return {
        "anonymous": out,
        "deactivated": out,
        "guest": guest,
        "member": member,
        "former_member": member if former is None else former,
        "removed_member": member if former is None else former,
        "ic_moderator": member if ic is None else ic,
        "admin": admin,
    }


def same(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int, *, out: int) -> dict[str, int]:
    return {role: out if role in SIGNED_OUT else status for role in ROLES}


PAGE = expect(out=302, guest=200, member=200, admin=200)
ADMIN_PAGE = expect(out=404, guest=404, member=404, admin=200)
ADMIN_POST = expect(out=404, guest=404, member=404, admin=302)
API = expect(out=401, guest=200, member=200, admin=200)

# --- access levels ------------------------------------------------------------------
# What each signed-in role holder may do with a community (and so with its content):
# "none" - may not know it exists; "view" - sees its header only; "read" - reads its
# posts without belonging; "member" - belongs to it.
_EVERYONE_NONE = dict.fromkeys(ROLES[2:], "none")
_PUBLIC = {
    "guest": "member",
    "member": "member",
    "former_member": "member",
    "removed_member": "member",
    "ic_moderator": "read",
    "admin": "read",
}
LEVELS: dict[str, dict[str, str]] = {
    "public": _PUBLIC,
    "private": {
        "guest": "none",
        "member": "member",
        "former_member": "view",
        "removed_member": "view",
        "ic_moderator": "view",
        "admin": "view",
    },
    "archived": {**_PUBLIC, "guest": "none", "former_member": "read", "removed_member": "read"},
    "secret": _EVERYONE_NONE,
    # Public once, private now (member belongs; the others read it while it was public).
    "moved": {
        "guest": "none",
        "member": "member",
        "former_member": "view",
        "removed_member": "view",
        "ic_moderator": "view",
        "admin": "view",
    },
    "deleted": _EVERYONE_NONE,
    "missing": _EVERYONE_NONE,
    "deleted_post": _EVERYONE_NONE,
    "deleted_comment": _EVERYONE_NONE,
    # A share of a hidden post, in the public community: the share is as visible as
    # the public community; the original never shows through it.
    "share_secret": _PUBLIC,
    "share_private": _PUBLIC,
    # The role holder's own post (comment) in the public / archived community.
    "mine": dict.fromkeys(ROLES[2:], "member"),
    "mine_archived": {**dict.fromkeys(ROLES[2:], "member"), "guest": "none"},
}
COMMUNITY_STATES = ("public", "private", "secret", "archived", "deleted", "missing")
POST_STATES = (*COMMUNITY_STATES, "deleted_post")
COMMENT_STATES = (*POST_STATES, "deleted_comment")
TOPIC_STATES = ("public", "private", "secret", "missing")


def on(
    state: str,
    *,
    out: int,
    hidden: int = 404,
    view: int | None = None,
    read: int | None = None,
    member: int | None = None,
    mod_view: int | None = None,
    mod_read: int | None = None,
    **roles: int,
) -> dict[str, int]:
    """Expected status per role for a route on a community (or its content) in
    `state`, by each role's access level (LEVELS). `view` defaults to `hidden` (content
    of a community one only sees the header of is hidden), `read` and `member` to each
    other; `mod_view` / `mod_read` apply to site moderators at that level (they may run
    every community they can see). Keyword arguments named after roles override."""
    if read is None and member is None:
        raise TypeError("give read or member")
    read = member if read is None else read
    member = read if member is None else member
    view = hidden if view is None else view
    by_level = {"none": hidden, "view": view, "read": read, "member": member}
    result: dict[str, int] = {}
    for role in ROLES:
        if role in SIGNED_OUT:
            result[role] = out
            continue
        level = LEVELS[state][role]
        status = by_level[level]
        if role in SITE_MODERATORS and level == "view" and mod_view is not None:
            status = mod_view
        if role in SITE_MODERATORS and level == "read" and mod_read is not None:
            status = mod_read
        result[role] = status
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise TypeError(f"unknown roles {unknown}")
    return result | roles


# --- cases ---------------------------------------------------------------------------

Path = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Case:
    state: str
    method: str
    path: Path
    expected: dict[str, int]
    data: dict[str, Any] = field(default_factory=dict)
    json: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # Send `data` as multipart with one PNG under this field name.
    upload: str = ""


def _path(template: str, state: str = "-") -> Path:
    """`template` with `<s>` replaced by the state, then formatted with the world:
    "/c/{slug[<s>]}/members" -> "/c/town-square/members"."""
    filled = template.replace("<s>", state)
    return lambda w: filled.format(**w)


def get(path: Path | str, expected: dict[str, int], state: str = "-", **headers: str) -> Case:
    return Case(state, "GET", _path(path, state) if isinstance(path, str) else path, expected, headers=headers)


def post(path: Path | str, expected: dict[str, int], state: str = "-", **data: Any) -> Case:
    return Case(state, "POST", _path(path, state) if isinstance(path, str) else path, expected, data)


def api(method: str, path: Path | str, expected: dict[str, int], state: str = "-", **data: Any) -> Case:
    return Case(state, method, _path(path, state) if isinstance(path, str) else path, expected, data, json=True)


def upload(path: str, expected: dict[str, int], state: str) -> Case:
    """A multipart POST with one PNG under `images` (the API's image endpoints)."""
    return Case(state, "POST", _path(path, state), expected, {"alt_text": "a picture"}, upload="images")


def each(
    method: str,
    template: str,
    states: tuple[str, ...],
    *,
    api: bool = False,
    data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    per_state: dict[str, dict[str, int]] | None = None,
    **rule: Any,
) -> list[Case]:
    """One case per state: `template` with `<s>` for the state, expectations from on()
    (`rule`), and `per_state` overrides (a state -> role -> status)."""
    out = 401 if api else 302
    cases = []
    for state in states:
        expected = on(state, out=out, **rule) | (per_state or {}).get(state, {})
        filled = {k: v.replace("<s>", state) if isinstance(v, str) else v for k, v in (data or {}).items()}
        cases.append(Case(state, method, _path(template, state), expected, filled, api, dict(headers or {})))
    return cases


def _profile_cases(
    suffix: str, *, member_other: int, admin_other: int, member_gone: int, guest_other: int = 404
) -> list[Case]:
    return [
        get(lambda w: f"/people/{w['self']}/{suffix}", PAGE, "self"),
        get(
            lambda w: f"/people/{w['other']}/{suffix}",
            expect(out=302, guest=guest_other, member=member_other, admin=admin_other),
            "other",
        ),
        get(
            lambda w: f"/people/{w['gone']}/{suffix}",
            expect(out=302, guest=404, member=member_gone, admin=admin_other),
            "gone",
        ),
        get(lambda w: f"/people/{w['missing']}/{suffix}", expect(out=302, guest=404, member=404, admin=404), "missing"),
    ]


def _person_posts(
    suffix: str, *, self_ok: int, other: int, admin_gone: int, guest_self: int | None = None, **data: Any
) -> list[Case]:
    """A web POST about a person (following)."""
    guest_self = self_ok if guest_self is None else guest_self
    return [
        post(
            "/people/{self}/" + suffix, expect(out=302, guest=guest_self, member=self_ok, admin=self_ok), "self", **data
        ),
        post("/people/{other}/" + suffix, expect(out=302, guest=404, member=other, admin=other), "other", **data),
        post("/people/{gone}/" + suffix, expect(out=302, guest=404, member=404, admin=admin_gone), "gone", **data),
        post("/people/{missing}/" + suffix, signed_in(404, out=302), "missing", **data),
    ]


def _api_person(method: str, suffix: str, *, ok: int, other_member: int, other_admin: int, **data: Any) -> list[Case]:
    return [
        api(
            method,
            lambda w: f"/api/v1/people/{w['self']}{suffix}",
            expect(out=401, guest=ok, member=ok, admin=ok),
            "self",
            **data,
        ),
        api(
            method,
            lambda w: f"/api/v1/people/{w['other']}{suffix}",
            expect(out=401, guest=404, member=other_member, admin=other_admin),
            "other",
            **data,
        ),
        api(
            method,
            lambda w: f"/api/v1/people/{w['gone']}{suffix}",
            expect(out=401, guest=404, member=404, admin=other_admin),
            "gone",
            **data,
        ),
        api(
            method,
            lambda w: f"/api/v1/people/{w['missing']}{suffix}",
            expect(out=401, guest=404, member=404, admin=404),
            "missing",
            **data,
        ),
    ]


# --- the rules, route by route -------------------------------------------------------------

C = COMMUNITY_STATES
P = POST_STATES
K = COMMENT_STATES
T = TOPIC_STATES
SHARES = ("share_secret", "share_private")
VISIBLE = {"view": 200, "read": 200}  # the community itself (header, API object) for whoever may know of it
READ = {"read": 200}  # content: only where the community's posts are readable


def moderate(status: int, *, denied: int = 403) -> dict[str, int]:
    """Those who run a community (site moderators, for what they can see) get `status`;
    those who only see it get `denied`; those who may not know of it 404."""
    return {"view": denied, "read": denied, "member": denied, "mod_view": status, "mod_read": status}


def _readers_of_archived(status: int) -> dict[str, dict[str, int]]:
    """The archived community's readers (everyone signed in but the guest) get `status`."""
    return {"archived": {role: status for role in ROLES[2:] if role != "guest"}}


MODERATE = moderate(200)
# The former member followed the moved community's topic while it was public: a topic
# one follows stays known (its page lists only what one may read now).
FOLLOWED = {"moved": {"former_member": 200}}
ARCHIVED_403 = _readers_of_archived(403)
# Those already in the archived community keep their seat; the others are refused.
ARCHIVED_JOIN_422 = {"archived": dict.fromkeys(("former_member", "removed_member", *SITE_MODERATORS), 422)}
ARCHIVED_MINE_403 = {"mine_archived": ARCHIVED_403["archived"]}

COMMUNITY_WEB: dict[str, list[Case]] = {
    "communities:list": [
        get("/communities/", PAGE),
        get("/communities/?q=hush&kind=interest&mine=on", PAGE, "search"),
    ],
    "communities:create": [
        get("/communities/new", expect(out=302, guest=403, member=200, admin=200)),
        # An empty name: the form answers 400 for those who may create, 403 for guests.
        post("/communities/new", expect(out=302, guest=403, member=400, admin=400), name=""),
    ],
    "communities:invitations": [get("/communities/invitations", PAGE)],
    "communities:invitation_decide": [
        post("/communities/invitations/{self_invitation}", signed_in(302, out=302), "mine", decision="accept"),
        post("/communities/invitations/{other_invitation}", signed_in(404, out=302), "other", decision="accept"),
        post("/communities/invitations/{other_invitation}", signed_in(404, out=302), "other", decision="decline"),
        post("/communities/invitations/{missing}", signed_in(404, out=302), "missing", decision="accept"),
    ],
    "communities:members": each("GET", "/c/{slug[<s>]}/members", C, view=403, read=200, mod_view=200),
    "communities:member_action": [
        *each("POST", "/c/{slug[<s>]}/members/{peer}", C, data={"action": "remove"}, **moderate(302)),
        # Someone who does not belong: absent for those who run it, still 403 for the others.
        *each("POST", "/c/{slug[<s>]}/members/{outsider}", ("private",), data={"action": "remove"}, **moderate(404)),
    ],
    "communities:settings": [
        *each("GET", "/c/{slug[<s>]}/settings", C, **MODERATE),
        *each("POST", "/c/{slug[<s>]}/settings", C, data={"action": "archive"}, **moderate(302)),
    ],
    "communities:requests": each("GET", "/c/{slug[<s>]}/requests", C, **MODERATE),
    "communities:request_decide": [
        # The private community's pending request paired with every community: hidden
        # parents answer 404, and a request never resolves through another community.
        # Archived: refused with a message before the request is looked up.
        *each(
            "POST",
            "/c/{slug[<s>]}/requests/{request[private]}",
            C,
            data={"decision": "approve"},
            per_state={"public": dict.fromkeys(SITE_MODERATORS, 404)},
            **moderate(302),
        ),
        *each(
            "POST",
            "/c/{slug[<s>]}/requests/{request[<s>]}",
            ("archived",),
            data={"decision": "decline"},
            **moderate(302),
        ),
        *each("POST", "/c/{slug[<s>]}/requests/{missing}", ("private",), data={"decision": "decline"}, **moderate(404)),
    ],
    "communities:invite": [
        *each("GET", "/c/{slug[<s>]}/invite", C, **MODERATE),
        # Archived: the form shows the refusal (400).
        *each(
            "POST",
            "/c/{slug[<s>]}/invite",
            C,
            data={"email": "otto@example.com"},
            per_state={"archived": dict.fromkeys(SITE_MODERATORS, 400)},
            **moderate(302),
        ),
    ],
    # Join / leave / mute answer with a message and a redirect wherever the community
    # is visible (refusals included); hidden ones are 404.
    "communities:join": each("POST", "/c/{slug[<s>]}/join", C, view=302, read=302),
    "communities:leave": each("POST", "/c/{slug[<s>]}/leave", C, view=302, read=302),
    "communities:mute": each("POST", "/c/{slug[<s>]}/mute", C, view=302, read=302, data={"muted": "1"}),
}

_C = "/api/v1/communities/{slug[<s>]}"
COMMUNITY_API: dict[str, list[Case]] = {
    "api-1.0.0:community_list": [
        api("GET", "/api/v1/communities", API),
        api("GET", "/api/v1/communities?q=hush&mine=true", API, "search"),
    ],
    "api-1.0.0:community_create": [
        api("POST", "/api/v1/communities", expect(out=401, guest=403, member=201, admin=201), name="Fresh idea"),
    ],
    "api-1.0.0:community_invitations_mine": [api("GET", "/api/v1/communities/invitations", API)],
    "api-1.0.0:community_invitation_accept": [
        api("POST", "/api/v1/communities/invitations/{self_invitation}/accept", signed_in(200, out=401), "mine"),
        api("POST", "/api/v1/communities/invitations/{other_invitation}/accept", signed_in(404, out=401), "other"),
        api("POST", "/api/v1/communities/invitations/{missing}/accept", signed_in(404, out=401), "missing"),
    ],
    "api-1.0.0:community_invitation_decline": [
        api("POST", "/api/v1/communities/invitations/{self_invitation}/decline", signed_in(204, out=401), "mine"),
        api("POST", "/api/v1/communities/invitations/{other_invitation}/decline", signed_in(404, out=401), "other"),
        api("POST", "/api/v1/communities/invitations/{missing}/decline", signed_in(404, out=401), "missing"),
    ],
    "api-1.0.0:community_get": each("GET", _C, (*C, "moved"), api=True, **VISIBLE),
    "api-1.0.0:community_update": each("PATCH", _C, C, api=True, data={"description": "Changed."}, **MODERATE),
    "api-1.0.0:community_delete": each("DELETE", _C, C, api=True, **moderate(204)),
    "api-1.0.0:community_cover_delete": each("DELETE", _C + "/cover", C, api=True, **MODERATE),
    "api-1.0.0:community_archive": each("POST", _C + "/archive", C, api=True, **MODERATE),
    "api-1.0.0:community_unarchive": each("POST", _C + "/unarchive", C, api=True, **MODERATE),
    # Members get their seat back; others join (public) or ask (private); archived
    # refuses newcomers with 422.
    "api-1.0.0:community_join": each("POST", _C + "/join", C, api=True, **VISIBLE, per_state=ARCHIVED_JOIN_422),
    "api-1.0.0:community_request_create": each(
        "POST", _C + "/requests", C, api=True, data={"message": "Let me in"}, **VISIBLE, per_state=ARCHIVED_JOIN_422
    ),
    "api-1.0.0:community_requests": each("GET", _C + "/requests", C, api=True, **MODERATE),
    # Leaving or muting a community one does not belong to: 422.
    "api-1.0.0:community_leave": each("POST", _C + "/leave", C, api=True, view=422, read=422, member=204),
    "api-1.0.0:community_mute": each(
        "POST", _C + "/mute", C, api=True, data={"muted": True}, view=422, read=422, member=200
    ),
    "api-1.0.0:community_members": each("GET", _C + "/members", C, api=True, view=403, read=200, mod_view=200),
    "api-1.0.0:community_member_remove": [
        *each("DELETE", _C + "/members/{peer}", C, api=True, **moderate(204)),
        *each("DELETE", _C + "/members/{outsider}", ("private",), api=True, **moderate(404)),
    ],
    "api-1.0.0:community_member_promote": each("POST", _C + "/members/{peer}/promote", C, api=True, **MODERATE),
    "api-1.0.0:community_member_demote": each("POST", _C + "/members/{peer}/demote", C, api=True, **MODERATE),
    "api-1.0.0:community_request_approve": [
        *each(
            "POST",
            _C + "/requests/{request[private]}/approve",
            C,
            api=True,
            per_state={"public": dict.fromkeys(SITE_MODERATORS, 404), "archived": dict.fromkeys(SITE_MODERATORS, 422)},
            **MODERATE,
        ),
        *each("POST", _C + "/requests/{request[<s>]}/approve", ("archived",), api=True, **moderate(422)),
    ],
    "api-1.0.0:community_request_decline": [
        *each(
            "POST",
            _C + "/requests/{request[private]}/decline",
            C,
            api=True,
            per_state={"public": dict.fromkeys(SITE_MODERATORS, 404), "archived": dict.fromkeys(SITE_MODERATORS, 404)},
            **moderate(204),
        ),
        *each("POST", _C + "/requests/{request[<s>]}/decline", ("archived",), api=True, **moderate(204)),
    ],
    "api-1.0.0:community_invite": each(
        "POST",
        _C + "/invitations",
        C,
        api=True,
        data={"user_id": "{outsider}"},
        per_state={"archived": dict.fromkeys(SITE_MODERATORS, 422)},
        **moderate(201),
    ),
}

_P = "/api/v1/posts/{post[<s>]}"
_K = "/api/v1/comments/{comment[<s>]}"
_MINE = ("mine", "mine_archived")
POSTS_API: dict[str, list[Case]] = {
    "api-1.0.0:posts_create": [
        # Members post; readers who do not belong and those who only see the header are
        # refused (403); archived refuses everyone; hidden communities are 404.
        *each(
            "POST",
            "/api/v1/posts",
            (*C, "moved"),
            api=True,
            data={"body": "Hello there", "community": "{slug[<s>]}"},
            view=403,
            read=403,
            member=201,
            per_state=ARCHIVED_403,
        ),
        # The company feed (All company): every non-guest; guests do not know of it.
        api("POST", "/api/v1/posts", expect(out=401, guest=404, member=201, admin=201), "company", body="Hi all"),
        api(
            "POST",
            "/api/v1/posts",
            expect(out=401, guest=404, member=201, admin=201),
            "profile",
            body="Hi you",
            profile_user_id="{other}",
        ),
    ],
    # Hidden posts among the ids are ignored, with the same answer.
    "api-1.0.0:posts_seen": [
        api(
            "POST",
            "/api/v1/posts/seen",
            signed_in(204, out=401),
            "secret",
            post_ids=["{post[secret]}", "{post[deleted_post]}", "{post[public]}"],
        ),
    ],
    "api-1.0.0:posts_get": each("GET", _P, (*P, *SHARES, "mine", "moved"), api=True, **READ),
    "api-1.0.0:posts_edit": [
        *each("PATCH", _P, P, api=True, data={"body": "Edited"}, read=403),
        *each("PATCH", _P, _MINE, api=True, data={"body": "Edited"}, read=200, per_state=ARCHIVED_MINE_403),
    ],
    "api-1.0.0:posts_delete": [
        *each("DELETE", _P, P, api=True, read=403, mod_read=204),
        *each("DELETE", _P, _MINE, api=True, read=204),
    ],
    "api-1.0.0:posts_images_add": [
        *(upload(_P + "/images", on(s, out=401, read=403), s) for s in P),
        *(upload(_P + "/images", on(s, out=401, read=200) | ARCHIVED_MINE_403.get(s, {}), s) for s in _MINE),
    ],
    # Pinning is for those who run the community; archived refuses them too.
    "api-1.0.0:posts_move": each(
        "POST",
        _P + "/move",
        P,
        api=True,
        read=403,
        mod_read=204,
        per_state=ARCHIVED_403,
        data={"community": "{slug[private]}"},
    ),
    "api-1.0.0:posts_pin": each("PUT", _P + "/pin", P, api=True, read=403, mod_read=200, per_state=ARCHIVED_403),
    "api-1.0.0:posts_unpin": each("DELETE", _P + "/pin", P, api=True, read=403, mod_read=200, per_state=ARCHIVED_403),
    # Sharing into the public community: its members may; site moderators are not
    # members there (403). Into a hidden community: 404; into the archived one: 403.
    "api-1.0.0:posts_share": [
        *each("POST", _P + "/shares", P, api=True, data={"community": "{slug[public]}"}, read=201, mod_read=403),
        api(
            "POST",
            "/api/v1/posts/{post[public]}/shares",
            signed_in(404, out=401),
            "into_secret",
            community="{slug[secret]}",
        ),
        api(
            "POST",
            "/api/v1/posts/{post[public]}/shares",
            signed_in(404, out=401),
            "into_deleted",
            community="{slug[deleted]}",
        ),
        api(
            "POST",
            "/api/v1/posts/{post[public]}/shares",
            on("archived", out=401, read=403),
            "into_archived",
            community="{slug[archived]}",
        ),
    ],
    "api-1.0.0:posts_revisions": each("GET", _P + "/revisions", (*P, *SHARES), api=True, **READ),
    "api-1.0.0:comments_list": each("GET", _P + "/comments", (*P, *SHARES, "moved"), api=True, **READ),
    "api-1.0.0:comments_create": [
        *each(
            "POST", _P + "/comments", (*P, "moved"), api=True, data={"body": "Me too"}, read=201, per_state=ARCHIVED_403
        ),
        # A hidden comment paired with a visible post, and a visible comment paired with
        # another post: both absent.
        api(
            "POST",
            "/api/v1/posts/{post[public]}/comments",
            signed_in(404, out=401),
            "secret_parent",
            body="Reply",
            parent_id="{comment[secret]}",
        ),
        api(
            "POST",
            "/api/v1/posts/{post[public]}/comments",
            signed_in(404, out=401),
            "other_parent",
            body="Reply",
            parent_id="{comment[archived]}",
        ),
    ],
    "api-1.0.0:comments_edit": [
        *each("PATCH", _K, K, api=True, data={"body": "Edited"}, read=403),
        *each("PATCH", _K, _MINE, api=True, data={"body": "Edited"}, read=200, per_state=ARCHIVED_MINE_403),
    ],
    "api-1.0.0:comments_delete": [
        *each("DELETE", _K, K, api=True, read=403, mod_read=204),
        *each("DELETE", _K, _MINE, api=True, read=204),
    ],
    "api-1.0.0:comments_images_add": [
        *(upload(_K + "/images", on(s, out=401, read=403), s) for s in K),
        *(upload(_K + "/images", on(s, out=401, read=200) | ARCHIVED_MINE_403.get(s, {}), s) for s in _MINE),
    ],
    "api-1.0.0:topics_get": each(
        "GET", "/api/v1/topics/{topic[<s>]}", (*T, "moved"), api=True, **READ, per_state=FOLLOWED
    ),
    "api-1.0.0:topics_follow": each("PUT", "/api/v1/topics/{topic[<s>]}/follow", T, api=True, **READ),
    "api-1.0.0:topics_unfollow": each("DELETE", "/api/v1/topics/{topic[<s>]}/follow", T, api=True, read=204),
    "api-1.0.0:mentions_list": [
        api("GET", "/api/v1/mentions?q=pat", API),
        api("GET", "/api/v1/mentions?q=c/h", API, "search"),
    ],
    "api-1.0.0:reactions_get": [
        *each("GET", "/api/v1/reactions/post/{post[<s>]}", (*P, "moved"), api=True, **READ),
        *each("GET", "/api/v1/reactions/comment/{comment[<s>]}", (*K, "moved"), api=True, **READ),
        api("GET", "/api/v1/reactions/poll/{post[public]}", signed_in(404, out=401), "unknown_type"),
    ],
    "api-1.0.0:reactions_put": [
        *each(
            "PUT",
            "/api/v1/reactions/post/{post[<s>]}",
            (*P, "moved"),
            api=True,
            data={"kind": "love"},
            read=200,
            per_state=ARCHIVED_403,
        ),
        *each(
            "PUT",
            "/api/v1/reactions/comment/{comment[<s>]}",
            K,
            api=True,
            data={"kind": "love"},
            read=200,
            per_state=ARCHIVED_403,
        ),
        api("PUT", "/api/v1/reactions/poll/{post[public]}", signed_in(404, out=401), "unknown_type", kind="love"),
    ],
    "api-1.0.0:reactions_delete": [
        *each("DELETE", "/api/v1/reactions/post/{post[<s>]}", P, api=True, read=200, per_state=ARCHIVED_403),
        *each("DELETE", "/api/v1/reactions/comment/{comment[<s>]}", K, api=True, read=200, per_state=ARCHIVED_403),
    ],
    "api-1.0.0:reactors_list": [
        *each("GET", "/api/v1/reactions/post/{post[<s>]}/people", (*P, "moved"), api=True, **READ),
        *each("GET", "/api/v1/reactions/comment/{comment[<s>]}/people", K, api=True, **READ),
    ],
}

FEED_API: dict[str, list[Case]] = {
    "api-1.0.0:feed_home": [
        api("GET", "/api/v1/feed/home", API),
        api("GET", "/api/v1/feed/home?order=top", API, "top"),
    ],
    # Guests do not belong to All company, so they do not know of it.
    "api-1.0.0:feed_company": [
        api("GET", "/api/v1/feed/company", expect(out=401, guest=404, member=200, admin=200)),
        api("GET", "/api/v1/feed/company?order=top", expect(out=401, guest=404, member=200, admin=200), "top"),
    ],
    # A private community's posts are an empty list for those who only see its header.
    "api-1.0.0:community_posts": [
        *each("GET", _C + "/posts", (*C, "moved"), api=True, **VISIBLE),
        *each("GET", _C + "/posts?order=top", ("public", "secret"), api=True, **VISIBLE),
    ],
    "api-1.0.0:topic_posts": [
        *each("GET", "/api/v1/topics/{topic[<s>]}/posts", (*T, "moved"), api=True, **READ, per_state=FOLLOWED),
        *each("GET", "/api/v1/topics/{topic[<s>]}/posts?order=top", ("secret",), api=True, **READ),
    ],
    "api-1.0.0:person_posts": _api_person("GET", "/posts", ok=200, other_member=200, other_admin=200),
    # Following oneself: 422; guests follow nobody (404, as if absent).
    "api-1.0.0:person_follow_put": [
        api("PUT", "/api/v1/people/{self}/follow", expect(out=401, guest=404, member=422, admin=422), "self"),
        *_api_person("PUT", "/follow", ok=200, other_member=200, other_admin=200)[1:],
    ],
    # Unfollowing is idempotent and tells nothing about the person.
    "api-1.0.0:person_unfollow_delete": [
        api("DELETE", "/api/v1/people/{" + state + "}/follow", signed_in(204, out=401), state)
        for state in ("self", "other", "gone", "missing")
    ],
    "api-1.0.0:person_follow_state": _api_person("GET", "/follow", ok=200, other_member=200, other_admin=200),
    "api-1.0.0:following_list_get": [api("GET", "/api/v1/me/following", API)],
}

FEED_WEB: dict[str, list[Case]] = {
    "feed:home": [get("/", PAGE), get("/?order=top", PAGE, "top")],
    "feed:home_joiners": [get("/home/joiners", PAGE)],
    "feed:company": [
        get("/company", expect(out=302, guest=404, member=200, admin=200)),
        get("/company?order=top", expect(out=302, guest=404, member=200, admin=200), "top"),
    ],
    # The header is visible to whoever may know of the community; its posts only to readers.
    "feed:community": [
        *each("GET", "/c/{slug[<s>]}/", (*C, "moved"), **VISIBLE),
        *each("GET", "/c/{slug[<s>]}/?order=top", ("private", "secret"), **VISIBLE),
    ],
    "feed:topic": [
        *each("GET", "/topics/{topic[<s>]}/", (*T, "moved"), **READ, per_state=FOLLOWED),
        *each("GET", "/topics/{topic[<s>]}/?order=top", ("secret",), **READ),
    ],
    "feed:topic_follow": each("POST", "/topics/{topic[<s>]}/follow", T, read=302, data={"follow": "1"}),
    "feed:profile": _profile_cases("posts/", member_other=200, admin_other=200, member_gone=404),
    "feed:person_follow": _person_posts("follow", self_ok=302, other=302, admin_gone=302, guest_self=404, follow="1"),
}

_W = "/posts/{post[<s>]}"
_WK = "/posts/comments/{comment[<s>]}"
HTMX = {"HTTP_HX_REQUEST": "true"}
POSTS_WEB: dict[str, list[Case]] = {
    "posts:create": [
        get("/posts/new", PAGE),
        get("/posts/new?to=community:{slug[secret]}", PAGE, "secret"),
        *each(
            "POST",
            "/posts/new",
            C,
            data={"destination": "community:{slug[<s>]}", "body": "Hello there"},
            view=403,
            read=403,
            member=302,
            per_state=ARCHIVED_403,
        ),
        post(
            "/posts/new",
            expect(out=302, guest=404, member=302, admin=302),
            "company",
            destination="company",
            body="Hi all",
        ),
    ],
    "posts:preview": [post("/posts/preview", signed_in(200, out=302), body="Hi @pat #topic")],
    "posts:autocomplete": [
        get("/posts/autocomplete?q=pat", PAGE),
        get("/posts/autocomplete?q=c/h", PAGE, "search"),
        get("/posts/autocomplete?type=topic&q=q", PAGE, "topic"),
    ],
    "posts:detail": each("GET", _W + "/", (*P, *SHARES, "mine", "moved"), **READ),
    "posts:edit": [
        *each("GET", _W + "/edit", P, read=403),
        *each("GET", _W + "/edit", _MINE, read=200, per_state=ARCHIVED_MINE_403),
        *each("POST", _W + "/edit", P, read=403, data={"body": "Edited"}),
    ],
    "posts:delete": [
        *each("GET", _W + "/delete", P, read=403, mod_read=200),
        *each("POST", _W + "/delete", P, read=403, mod_read=302),
        *each("GET", _W + "/delete", ("mine",), read=200),
        *each("POST", _W + "/delete", ("mine",), read=302),
    ],
    "posts:pin": each("POST", _W + "/pin", P, read=403, mod_read=302, per_state=ARCHIVED_403, data={"pinned": "1"}),
    # Moving needs the right to run both communities and never widens the audience: site
    # moderators may move the public post into the private community (which they run
    # by seeing it); nobody else runs either.
    "posts:move": [
        *each("GET", _W + "/move", P, read=403, mod_read=200, per_state=ARCHIVED_403),
        *each(
            "POST",
            _W + "/move",
            P,
            read=403,
            mod_read=302,
            per_state=ARCHIVED_403,
            data={"community": "{slug[private]}"},
        ),
    ],
    # The share form offers the places one may post in; site moderators belong to
    # none of them, so their choice of the public community is invalid (400).
    "posts:share": [
        *each("GET", _W + "/share", P, **READ),
        *each("POST", _W + "/share", P, read=302, mod_read=400, data={"destination": "community:{slug[public]}"}),
    ],
    "posts:history": each("GET", _W + "/history", (*P, *SHARES), **READ),
    "posts:react": each("POST", _W + "/react", P, read=302, per_state=ARCHIVED_403, data={"kind": "like"}),
    "posts:reactors": each("GET", _W + "/reactions", P, **READ),
    "posts:comment_add": [
        *each("POST", _W + "/comments", P, read=302, per_state=ARCHIVED_403, data={"body": "Me too"}),
        post(
            "/posts/{post[public]}/comments",
            signed_in(404, out=302),
            "secret_parent",
            body="Reply",
            parent="{comment[secret]}",
        ),
    ],
    # Without htmx a comment's URL redirects to its anchor on the post page.
    "posts:comment_show": [
        *each("GET", _WK + "/", K, read=302),
        *each("GET", _WK + "/", K, read=200, headers=HTMX),
    ],
    "posts:comment_edit": [
        *each("GET", _WK + "/edit", K, read=403),
        *each("GET", _WK + "/edit", _MINE, read=200, per_state=ARCHIVED_MINE_403),
    ],
    "posts:comment_delete": [
        *each("POST", _WK + "/delete", K, read=403, mod_read=302),
        *each("POST", _WK + "/delete", ("mine",), read=302),
    ],
    "posts:comment_react": each("POST", _WK + "/react", K, read=302, per_state=ARCHIVED_403, data={"kind": "like"}),
    "posts:comment_reactors": each("GET", _WK + "/reactions", K, **READ),
}

MATRIX: dict[str, list[Case]] = {
    "core:health": [get(lambda w: "/healthz", same(200))],
    "core:ready": [get(lambda w: "/readyz", same(200))],
    # Loopback without a proxy header and no METRICS_TOKEN: the test client is on loopback
    # (core/tests/test_observability.py covers tokens, proxies and other addresses).
    "core:metrics": [get(lambda w: "/metrics", same(200))],
    "core:media": [
        get(lambda w: w["other_avatar"], expect(out=404, guest=200, member=200, admin=200), "other"),
        get(lambda w: "/media/avatars/0/none.webp", same(404), "missing"),
        get(lambda w: "/media/avatars/../../../etc/passwd", same(404), "missing"),
        get("{image[public]}", signed_in(200, out=404), "public"),
        # An image in hidden content is hidden content (see KNOWN_BUGS).
        get("{image[private]}", on("private", out=404, read=200), "private"),
        get("{image[secret]}", on("secret", out=404, read=200), "secret"),
        get("{image[deleted_post]}", on("deleted_post", out=404, read=200), "deleted_post"),
    ],
    "accounts:signin": [get(lambda w: "/signin", expect(out=200, guest=302, member=302, admin=302))],
    "accounts:signout": [post(lambda w: "/signout", same(302))],
    "accounts:password_reset": [get(lambda w: "/password-reset", same(200))],
    "accounts:password_reset_sent": [get(lambda w: "/password-reset/sent", same(200))],
    "accounts:password_reset_confirm": [get(lambda w: "/password-reset/MQ/forged-token", same(200))],
    "accounts:password_reset_done": [get(lambda w: "/password-reset/done", same(200))],
    "accounts:signup": [get(lambda w: "/signup", same(200))],
    "accounts:signup_confirm": [get(lambda w: "/signup/confirm/forged", same(400))],
    "accounts:invite": [
        get(lambda w: f"/invite/{w['invite_token']}", same(200), "other"),
        get(lambda w: "/invite/never-issued", same(404), "missing"),
    ],
    "accounts:guidelines": [get(lambda w: "/guidelines", PAGE)],
    "accounts:sessions": [get(lambda w: "/settings/sessions", PAGE)],
    "accounts:session_end": [
        post(
            lambda w: f"/settings/sessions/{w['other_session']}/end",
            expect(out=302, guest=404, member=404, admin=404),
            "other",
        ),
        post(
            lambda w: f"/settings/sessions/{w['self_session']}/end",
            expect(out=302, guest=302, member=302, admin=302),
            "self",
        ),
    ],
    "accounts:sessions_end_all": [post(lambda w: "/settings/sessions/end-all", same(302))],
    "accounts:tokens": [get(lambda w: "/settings/tokens", PAGE)],
    "accounts:token_revoke": [
        post(
            lambda w: f"/settings/tokens/{w['other_token']}/revoke",
            expect(out=302, guest=404, member=404, admin=404),
            "other",
        ),
        post(
            lambda w: f"/settings/tokens/{w['self_token']}/revoke",
            expect(out=302, guest=302, member=302, admin=302),
            "self",
        ),
    ],
    "accounts:manage": [get(lambda w: "/manage/", ADMIN_PAGE)],
    "accounts:manage_role": [post(lambda w: f"/manage/people/{w['other']}/role", ADMIN_POST, "other", role="guest")],
    "accounts:manage_deactivate": [post(lambda w: f"/manage/people/{w['other']}/deactivate", ADMIN_POST, "other")],
    "accounts:manage_reactivate": [post(lambda w: f"/manage/people/{w['gone']}/reactivate", ADMIN_POST, "gone")],
    "accounts:manage_invitations": [get(lambda w: "/manage/invitations", ADMIN_PAGE)],
    "accounts:manage_invitation_revoke": [
        post(lambda w: f"/manage/invitations/{w['invitation']}/revoke", ADMIN_POST, "other"),
    ],
    "accounts:manage_organisation": [get(lambda w: "/manage/organisation", ADMIN_PAGE)],
    "people_import:upload": [get(lambda w: "/manage/import/", ADMIN_PAGE)],
    # An empty submission: refused with a message for the admin, absent for everyone else.
    "people_import:apply": [post(lambda w: "/manage/import/apply", expect(out=404, guest=404, member=404, admin=400))],
    "directory:list": [get(lambda w: "/people/", PAGE)],
    "directory:profile": _profile_cases("", member_other=200, admin_other=200, member_gone=404),
    "directory:edit": _profile_cases("edit/", member_other=403, admin_other=200, member_gone=404),
    "api-1.0.0:api-root": [get(lambda w: "/api/v1/", same(404))],
    "api-1.0.0:openapi-json": [get(lambda w: "/api/v1/openapi.json", same(200))],
    "api-1.0.0:openapi-view": [get(lambda w: "/api/v1/docs", same(200))],
    "api-1.0.0:me_get": [api("GET", lambda w: "/api/v1/me", API)],
    "api-1.0.0:tokens_list": [api("GET", lambda w: "/api/v1/tokens", API)],
    "api-1.0.0:tokens_create": [
        api(
            "POST",
            lambda w: "/api/v1/tokens",
            expect(out=401, guest=201, member=201, admin=201),
            name="t",
            scopes=["read"],
        )
    ],
    "api-1.0.0:tokens_revoke": [
        api(
            "DELETE",
            lambda w: f"/api/v1/tokens/{w['other_token']}",
            expect(out=401, guest=404, member=404, admin=404),
            "other",
        ),
        api(
            "DELETE",
            lambda w: f"/api/v1/tokens/{w['self_token']}",
            expect(out=401, guest=204, member=204, admin=204),
            "self",
        ),
    ],
    "api-1.0.0:people_list": [api("GET", lambda w: "/api/v1/people", API)],
    "api-1.0.0:person_detail": _api_person("GET", "", ok=200, other_member=200, other_admin=200),
    "api-1.0.0:person_update": _api_person("PATCH", "", ok=200, other_member=403, other_admin=200, title="Checked"),
    "api-1.0.0:person_orgchart": _api_person("GET", "/orgchart", ok=200, other_member=200, other_admin=200),
    "api-1.0.0:departments_list": [api("GET", lambda w: "/api/v1/departments", API)],
    "api-1.0.0:locations_list": [api("GET", lambda w: "/api/v1/locations", API)],
    "api-1.0.0:teams_list": [api("GET", lambda w: "/api/v1/teams", API)],
    **COMMUNITY_WEB,
    **COMMUNITY_API,
    **POSTS_API,
    **FEED_API,
    **FEED_WEB,
    **POSTS_WEB,
    # --- notifications (one's own only: anyone else's id answers like a missing one;
    # townhall/notifications/tests cover other people's notifications) ---
    "notifications:centre": [get(lambda w: "/notifications/", PAGE)],
    "notifications:badge": [get(lambda w: "/notifications/badge", PAGE)],
    "notifications:mark_all_read": [post(lambda w: "/notifications/read-all", same(302))],
    "notifications:open": [get(lambda w: f"/notifications/{MISSING_ID}/open", signed_in(404, out=302), "missing")],
    "notifications:mark_read": [
        post(lambda w: f"/notifications/{MISSING_ID}/read", signed_in(404, out=302), "missing")
    ],
    "notifications:preferences": [get(lambda w: "/notifications/settings", PAGE)],
    # The signed token is the authority; a forged one is absent for everyone.
    "notifications:unsubscribe": [get(lambda w: "/notifications/unsubscribe/forged:token", same(404), "missing")],
    "api-1.0.0:notifications_list": [api("GET", lambda w: "/api/v1/notifications", API)],
    "api-1.0.0:notifications_unread_count": [api("GET", lambda w: "/api/v1/notifications/unread-count", API)],
    "api-1.0.0:notification_mark_read": [
        api("POST", lambda w: f"/api/v1/notifications/{MISSING_ID}/read", signed_in(404, out=401), "missing")
    ],
    "api-1.0.0:notifications_mark_all_read": [api("POST", lambda w: "/api/v1/notifications/read-all", API)],
    "api-1.0.0:notification_preferences_get": [api("GET", lambda w: "/api/v1/notifications/preferences", API)],
    "api-1.0.0:notification_preferences_put": [
        api("PUT", lambda w: "/api/v1/notifications/preferences", API, digest="weekly")
    ],
    # --- realtime: the event stream (answers 204 under this WSGI test client, after the
    # same checks as under ASGI; townhall/realtime/tests read the streams themselves).
    # A feed one may not read is absent; posts one may not see are dropped silently. ---
    "realtime:stream": [
        get(lambda w: "/events/stream", signed_in(204, out=401)),
        get(lambda w: "/events/stream?feed=home", signed_in(204, out=401), "home"),
        get(
            "/events/stream?posts={post[secret]},{post[private]},{post[deleted_post]}",
            signed_in(204, out=401),
            "secret",
        ),
        get(lambda w: "/events/stream?feed=nonsense:1", signed_in(404, out=401), "missing"),
        *each("GET", "/events/stream?feed=community:{slug[<s>]}", (*C, "moved"), api=True, read=204),
        *each("GET", "/events/stream?feed=topic:{topic[<s>]}", T, api=True, read=204),
        get(
            lambda w: f"/events/stream?feed=profile:{w['other']}",
            expect(out=401, guest=404, member=204, admin=204),
            "other",
        ),
        get(
            lambda w: f"/events/stream?feed=profile:{w['gone']}",
            expect(out=401, guest=404, member=404, admin=204),
            "gone",
        ),
    ],
    # --- search: everyone signed in may search; what they find is their business
    # (test_canaries.py reads these as every role: hidden content never shows) ---
    "search:search": [
        get("/search/?q=qz7", PAGE, "search"),
        get("/search/?q=kw4&kind=post", PAGE, "search"),
        get("/search/?q=plan+in:{slug[secret]}", PAGE, "search"),
        get("/search/?q=hush&kind=community", PAGE, "search"),
        get("/search/?q=%23qz7", PAGE, "search"),
        get("/search/?q=from:@olive", PAGE, "search"),
    ],
    "search:suggest": [
        get("/search/suggest?q=qz7", PAGE, "search"),
        get("/search/suggest?q=hush", PAGE, "search"),
        get("/search/suggest?q=kw4", PAGE, "search"),
    ],
    "api-1.0.0:search": [
        api("GET", "/api/v1/search?q=qz7", API, "search"),
        api("GET", "/api/v1/search?q=kw4&kind=comment", API, "search"),
        api("GET", "/api/v1/search?q=payroll+notes", API, "search"),
        api("GET", "/api/v1/search?q=hush", API, "search"),
        api("GET", "/api/v1/search?q=gone", API, "search"),
    ],
    "api-1.0.0:search_suggest": [
        api("GET", "/api/v1/search/suggest?q=qz7", API, "search"),
        api("GET", "/api/v1/search/suggest?q=hush", API, "search"),
    ],
}


# --- the world ---------------------------------------------------------------------------


@dataclass
class World:
    """Ids and slugs the cases' paths are formatted with, built once per test module
    (see test_authz_matrix.world) with the real services."""

    shared: dict[str, Any]
    per_role: dict[str, dict[str, Any]]
    session_keys: dict[str, str | None]  # per role (and "olive"); None: no session (anonymous)
    bearer: dict[str, str] = field(default_factory=dict)  # role -> API token secret sent as well

    def for_role(self, role: str) -> dict[str, Any]:
        merged = dict(self.shared)
        for key, value in self.per_role.get(role, {}).items():
            merged[key] = {**merged[key], **value} if isinstance(value, dict) and key in merged else value
        return merged


def _png() -> io.BytesIO:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def png_file(name: str = "photo.png") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, _png().getvalue(), content_type="image/png")


def build_world() -> World:
    """Everyone and everything the matrix and the canaries need.

    Olive Other ("other") runs every community and writes its posts; Pat Peer is a
    plain member everywhere and comments; the role holders join and leave as the
    module docstring says. Canaries go into everything no role holder may see.
    """
    from townhall.accounts import services as account_services
    from townhall.accounts.models import ApiToken, UserSession
    from townhall.communities import members
    from townhall.communities import services as communities
    from townhall.directory.follows import person_follow
    from townhall.directory.models import Follow
    from townhall.directory.selectors import person_get
    from townhall.directory.services import ProfileChanges, profile_update
    from townhall.posts import services as posts
    from townhall.posts.models import Post, Topic
    from townhall.reactions.services import reaction_set
    from townhall.testing.clients import signed_in as login
    from townhall.testing.communities_factories import invitation, join_request
    from townhall.testing.factories import UserFactory
    from townhall.testing.posts_factories import CommentFactory, PostFactory

    def live_session(person: Any) -> str:
        """A signed-in session; marked as seen far in the future, so the middleware does
        not write `last seen` on every request of every case."""
        session = login(person).session
        session["_th_seen"] = 4_000_000_000.0
        session.save()
        return str(session.session_key)

    admin = UserFactory(role="admin", full_name="World Admin", email="world.admin@example.com")
    other = UserFactory(full_name="Olive Other", email="olive@example.com")
    gone = UserFactory(full_name="Gil Gone", email="gil@example.com")
    peer = UserFactory(full_name="Pat Peer", email="pat@example.com")
    requester = UserFactory(full_name="Rey Requester", email="rey@example.com")
    invitee = UserFactory(full_name="Ivy Invitee", email="ivy@example.com")
    outsider = UserFactory(full_name="Otto Outsider", email="otto@example.com")
    account_services.user_deactivate(actor=admin, user=gone)
    profile_update(actor=other, person=other, changes=ProfileChanges(title="Analyst"), avatar=_png())
    other_session = login(other).session.session_key
    _, invite_token = account_services.invitation_create_link(actor=admin)
    account_invitation = account_services.invitation_create_email(actor=admin, email="invitee@example.com")
    other_token, _ = account_services.token_create(actor=other, name="other", scopes=["read"])

    holders = {
        "anonymous": UserFactory(full_name="Anon Ymous", email="anon@example.com"),
        "deactivated": UserFactory(full_name="Dee Activated", email="dee@example.com"),
        "guest": UserFactory(full_name="Gus Guest", email="gus@example.com", role="guest"),
        "member": UserFactory(full_name="Mem Ber", email="mem@example.com"),
        "former_member": UserFactory(full_name="Fay Former", email="fay@example.com"),
        "removed_member": UserFactory(full_name="Rem Oved", email="rem@example.com"),
        "ic_moderator": UserFactory(full_name="Ida Moderator", email="ida@example.com", role="ic_moderator"),
        "admin": admin,
    }
    member, former, removed = holders["member"], holders["former_member"], holders["removed_member"]
    deactivated, guest = holders["deactivated"], holders["guest"]

    # Communities, all run by Olive.
    def community(name: str, visibility: str = "public", description: str = "") -> Any:
        return communities.community_create(actor=other, name=name, visibility=visibility, description=description)

    public = community("Town square", description="Everyone welcome.")
    private = community("Payroll", "private", "Salaries and such.")
    secret = community("Hush", "secret", f"The {SECRET_CANARY} plans.")
    # Renamed, so the canary is in the name but not in the slug (slugs never change).
    communities.community_update(actor=other, community=secret, name=f"Hush {SECRET_CANARY}")
    archived = community("Old project", description="Finished work.")
    deleted = community("Gone club", description=f"Closed {SECRET_CANARY} club.")
    club = community("Book club", description="Reading together.")

    def seat(person: Any, place: Any) -> None:
        joined = communities.community_join(actor=person, community=place)
        if not hasattr(joined, "role"):  # a join request: approve it
            members.request_approve(actor=other, community=place, request_id=joined.pk)

    for person in (peer, member, deactivated, former, removed):
        seat(person, public)
        seat(person, private)
    for person in (peer, member):
        seat(person, archived)
        seat(person, deleted)
    for person in (guest,):  # guests join by invitation
        offer = members.community_invite(actor=other, community=public, user=person)
        members.invitation_accept(actor=person, invitation_id=offer.pk)
    offer = members.community_invite(actor=other, community=secret, user=peer)
    members.invitation_accept(actor=peer, invitation_id=offer.pk)
    other_invitation = members.community_invite(actor=other, community=secret, user=invitee)
    private_request = communities.community_join(actor=requester, community=private, message="Please")
    archived_request = join_request(archived, requester, "Please")

    # Posts by Olive, a comment by Pat on each, and Olive's reply.
    def write(place: Any, body: str, *, canary: str = "", image: bool = False) -> tuple[Any, Any, Any]:
        images = [(png_file(), f"A chart {canary}".strip())] if image else []
        made = posts.post_create(actor=other, body=body, community=place, images=images)
        comment = posts.comment_create(
            actor=peer,
            post=made,
            body=f"Agreed {canary}".strip(),
            images=[(png_file(), f"Mine {canary}")] if image else [],
        )
        reply = posts.comment_create(actor=other, post=made, body=f"Thanks {canary}".strip(), parent=comment)
        for target_type, target_id in (("post", made.pk), ("comment", comment.pk)):
            reaction_set(actor=peer, target_type=target_type, target_id=target_id, kind="like")
        return made, comment, reply

    public_post, public_comment, public_reply = write(public, "Hello town #townsquare", image=True)
    posts.post_edit(actor=other, post=public_post, body="Hello town, edited #townsquare")
    private_post, private_comment, private_reply = write(
        private, f"Payroll notes {PRIVATE_CANARY} #{PRIVATE_CANARY} @mem", canary=PRIVATE_CANARY, image=True
    )
    # Before they went, the former and the removed member wrote, reacted and read there.
    former_post = posts.post_create(actor=former, body=f"My own {PRIVATE_CANARY} note", community=private)
    for person in (former, removed):
        posts.comment_create(actor=person, post=private_post, body=f"Noted {PRIVATE_CANARY}")
        reaction_set(actor=person, target_type="post", target_id=private_post.pk, kind="love")
        posts.posts_mark_seen(viewer=person, post_ids=[private_post.pk])
    secret_post, secret_comment, secret_reply = write(
        secret, f"First draft {SECRET_CANARY} #{SECRET_CANARY}", canary=SECRET_CANARY, image=True
    )
    # The old text stays in the history: hidden along with the post.
    posts.post_edit(actor=other, post=secret_post, body=f"Plan {SECRET_CANARY} #{SECRET_CANARY} @mem @pat")
    archived_post, archived_comment, archived_reply = write(archived, "Old news")
    deleted_c_post, deleted_c_comment, deleted_c_reply = write(deleted, f"Gone {SECRET_CANARY}", canary=SECRET_CANARY)
    deleted_post, deleted_post_comment, _ = write(
        public, f"Oops {SECRET_CANARY} #{SECRET_CANARY}", canary=SECRET_CANARY, image=True
    )
    deleted_comment = posts.comment_create(actor=peer, post=public_post, body=f"Regret {SECRET_CANARY}")
    posts.comment_delete(actor=peer, comment=deleted_comment)
    # Moved from public to private: what people did while it was public stays behind.
    moved = community("Skunkworks", description="Open, for a while.")
    for person in (peer, member):
        seat(person, moved)
    moved_post, moved_comment, _ = write(moved, f"Roadmap {PRIVATE_CANARY} #movedtopic", canary=PRIVATE_CANARY)
    posts.comment_create(actor=admin, post=moved_post, body=f"Seen {PRIVATE_CANARY}")
    reaction_set(actor=holders["ic_moderator"], target_type="post", target_id=moved_post.pk, kind="celebrate")
    posts.posts_mark_seen(viewer=holders["ic_moderator"], post_ids=[moved_post.pk])
    posts.topic_follow(actor=former, topic=Topic.objects.get(slug="movedtopic"), follow=True)
    communities.community_update(actor=other, community=moved, visibility="private")
    # Shares of hidden posts into the public community: the share shows, the original never.
    share_secret = posts.post_share(actor=other, post=secret_post, community=public, body="Worth a read")
    share_private = posts.post_share(actor=other, post=private_post, community=public, body="Also this")
    # ... and the other way round: a public post shared into the secret community.
    posts.post_share(actor=peer, post=public_post, community=secret, body=f"Look {SECRET_CANARY}")

    posts.post_delete(actor=other, post=deleted_post)
    communities.community_archive(actor=other, community=archived)
    communities.community_delete(actor=other, community=deleted)
    communities.community_leave(actor=former, community=private)
    members.member_remove(actor=other, community=private, user=removed)

    # Follows: the home feed brings Olive's posts to her followers, as far as they may see them.
    for role, person in holders.items():
        if person.role == "guest":
            Follow.objects.create(follower=person, followee=other)  # a leftover row
        elif role not in ("anonymous",):
            person_follow(actor=person, person=other)
    posts.topic_follow(actor=member, topic=Topic.objects.get(slug="townsquare"), follow=True)

    images = {
        "public": public_post.images.get().image.url,
        "private": private_post.images.get().image.url,
        "secret": secret_post.images.get().image.url,
        "deleted_post": Post.objects.get(pk=deleted_post.pk).images.get().image.url,
    }
    shared: dict[str, Any] = {
        "other": other.pk,
        "gone": gone.pk,
        "peer": peer.pk,
        "outsider": outsider.pk,
        "former": former.pk,
        "missing": MISSING_ID,
        "other_avatar": person_get(viewer=other, user_id=other.pk).avatar.url,
        "other_session": UserSession.objects.get(session_key=other_session).pk,
        "other_token": other_token.pk,
        "invite_token": invite_token,
        "invitation": account_invitation.pk,
        "other_invitation": other_invitation.pk,
        "slug": {
            "public": public.slug,
            "private": private.slug,
            "secret": secret.slug,
            "archived": archived.slug,
            "deleted": deleted.slug,
            "club": club.slug,
            "moved": moved.slug,
            "missing": MISSING_SLUG,
        },
        "post": {
            "public": public_post.pk,
            "private": private_post.pk,
            "secret": secret_post.pk,
            "archived": archived_post.pk,
            "deleted": deleted_c_post.pk,
            "deleted_post": deleted_post.pk,
            "share_secret": share_secret.pk,
            "share_private": share_private.pk,
            "former_private": former_post.pk,
            "moved": moved_post.pk,
            "missing": MISSING_ID,
        },
        "comment": {
            "public": public_comment.pk,
            "private": private_comment.pk,
            "secret": secret_comment.pk,
            "archived": archived_comment.pk,
            "deleted": deleted_c_comment.pk,
            "deleted_post": deleted_post_comment.pk,
            "deleted_comment": deleted_comment.pk,
            "moved": moved_comment.pk,
            "missing": MISSING_ID,
        },
        "reply": {
            "public": public_reply.pk,
            "private": private_reply.pk,
            "secret": secret_reply.pk,
            "archived": archived_reply.pk,
            "deleted": deleted_c_reply.pk,
            "missing": MISSING_ID,
        },
        "topic": {
            "public": "townsquare",
            "private": PRIVATE_CANARY.lower(),
            "secret": SECRET_CANARY.lower(),
            "moved": "movedtopic",
            "missing": "never-used",
        },
        "request": {"private": private_request.pk, "archived": archived_request.pk, "missing": MISSING_ID},
        "image": images,
    }

    per_role: dict[str, dict[str, Any]] = {}
    session_keys: dict[str, str | None] = {}
    secrets: dict[str, tuple[int, str]] = {}
    for role, person in holders.items():
        token, secret = account_services.token_create(actor=person, name="mine", scopes=["read", "write"])
        secrets[role] = (token.pk, secret)
        mine = PostFactory(author=person, community=public, body=f"Mine, by {person.full_name}")
        mine_archived = PostFactory(author=person, community=archived, body=f"Old, by {person.full_name}")
        session_keys[role] = None if role == "anonymous" else live_session(person)
        per_role[role] = {
            "self": person.pk,
            "self_token": token.pk,
            "self_session": UserSession.objects.filter(user=person).values_list("pk", flat=True).first() or 0,
            "self_invitation": invitation(club, person, invited_by=other).pk,
            "post": {"mine": mine.pk, "mine_archived": mine_archived.pk},
            "comment": {
                "mine": CommentFactory(post=public_post, author=person).pk,
                "mine_archived": CommentFactory(post=archived_post, author=person).pk,
            },
        }
    # The deactivated person's session outlives the deactivation (it was live; the
    # deactivation ends sessions, so one is written back as if a request raced it).
    account_services.user_deactivate(actor=admin, user=deactivated)
    session_keys["deactivated"] = live_session(deactivated)
    # ... and so does their API token, which every case sends too.
    token_id, secret = secrets["deactivated"]
    ApiToken.objects.filter(pk=token_id).update(revoked_at=None)
    # Not a role: Olive runs every community and may see everything (the canaries' control).
    session_keys["olive"] = live_session(other)
    # The world is built inside one transaction that never commits, so the index
    # updates the services queue for after commit never run: build it now.
    from townhall.search.index import reindex

    reindex()
    return World(shared=shared, per_role=per_role, session_keys=session_keys, bearer={"deactivated": secret})


# (route, state, role) -> what is wrong: expected to fail until the app is fixed
# (strict xfail, so a fix makes the test fail until the entry is removed).
_MEDIA_BUG = (
    "core:media serves every stored file to anyone signed in (townhall/core/views.py media(): only "
    "is_authenticated is checked), so images of hidden posts and comments (secret or private community, "
    "deleted post) stay readable by URL for non-members, former members and site moderators"
)
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


# --- running cases -------------------------------------------------------------------------
# The world is built once per test module, inside a transaction rolled back when the
# module ends; pytest-django runs each test in a savepoint of it, so a case's writes
# are gone before the next case.

TEST_SETTINGS = {
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}


@pytest.fixture(autouse=True, name="_media_root")
def _no_media_root_per_test() -> None:  # type: ignore[override]
    """Replaces the suite's per-test media folder: the world's files live in one
    folder for the module (see `world`), and a fresh folder per case costs more than
    many of the cases."""


@pytest.fixture(scope="module", name="world_once")
def _world_once(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[World]:
    """The world, built in a transaction rolled back when the module is done, with
    the test settings (and one media folder) for the whole module."""
    media = str(tmp_path_factory.mktemp("authz-media"))
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media, **TEST_SETTINGS), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(name="world")
def _world(world_once: World) -> World:
    """The module's world (its settings stay overridden for the whole module);
    pytest-django runs each test in a savepoint of the module's transaction, so a
    case's writes are gone before the next case."""
    return world_once


_HANDLER = ClientHandler(enforce_csrf_checks=False)


class QuickClient(Client):
    """The test client minus recording every rendered template and a copy of its
    context (more work than rendering some of these pages), sharing one handler (a
    new one loads the middleware again, and WhiteNoise's scans every static file);
    errors still raise."""

    def __init__(self) -> None:
        super().__init__()
        self.handler = _HANDLER

    def request(self, **request: Any) -> HttpResponse:  # type: ignore[override]
        environ = self._base_environ(**request)
        uid = f"request-exception-{id(request)}"
        got_request_exception.connect(self.store_exc_info, dispatch_uid=uid)
        try:
            response = self.handler(environ)
        finally:
            got_request_exception.disconnect(dispatch_uid=uid)
        self.check_exception(response)
        return response


def client_for(world: World, role: str) -> Client:
    """A fresh client carrying the role's session (no state carried between cases)."""
    client = QuickClient()
    key = world.session_keys[role]
    if key:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = key
    if role in world.bearer:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.bearer[role]}"
    return client


def _fill(value: Any, w: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{" in value:
        filled = value.format(**w)
        return int(filled) if filled.isdigit() else filled
    if isinstance(value, list):
        return [_fill(item, w) for item in value]
    return value


def run(client: Client, case: Case, w: dict[str, Any]) -> HttpResponse:
    path = case.path(w)
    data = {key: _fill(value, w) for key, value in case.data.items()}
    if case.upload:
        return client.post(path, {**data, case.upload: png_file()}, **case.headers)
    if case.json:
        body = json.dumps(data) if data else ""
        return client.generic(case.method, path, body, content_type="application/json", **case.headers)
    if case.method == "GET":
        return client.get(path, **case.headers)
    return client.post(path, data, **case.headers)
