"""The authorization matrix: every route x every role x object state -> expected status.

`MATRIX` maps each URL name to its cases. A case names the object state it targets
(`self`, `other`, `gone` = deactivated person, `missing` = never existed, or `-`), the
method, and the expected status for each role. `test_authz_matrix.py` runs every
case and fails when a route exists that the matrix does not list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("anonymous", "deactivated", "guest", "member", "ic_moderator", "admin")
SIGNED_OUT = ("anonymous", "deactivated")


def expect(*, out: int, guest: int, member: int, admin: int, ic: int | None = None) -> dict[str, int]:
    """Expected status per role; a deactivated person's live session counts as signed out."""
    return {
        "anonymous": out,
        "deactivated": out,
        "guest": guest,
        "member": member,
        "ic_moderator": member if ic is None else ic,
        "admin": admin,
    }


def same(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


PAGE = expect(out=302, guest=200, member=200, admin=200)
ADMIN_PAGE = expect(out=404, guest=404, member=404, admin=200)
ADMIN_POST = expect(out=404, guest=404, member=404, admin=302)
API = expect(out=401, guest=200, member=200, admin=200)


@dataclass(frozen=True)
class Case:
    state: str
    method: str
    path: Callable[[dict[str, Any]], str]
    expected: dict[str, int]
    data: dict[str, Any] = field(default_factory=dict)
    json: bool = False


def get(path: Callable[[dict[str, Any]], str], expected: dict[str, int], state: str = "-") -> Case:
    return Case(state, "GET", path, expected)


def post(path: Callable[[dict[str, Any]], str], expected: dict[str, int], state: str = "-", **data: Any) -> Case:
    return Case(state, "POST", path, expected, data)


def api(
    method: str, path: Callable[[dict[str, Any]], str], expected: dict[str, int], state: str = "-", **data: Any
) -> Case:
    return Case(state, method, path, expected, data, json=True)


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


MATRIX: dict[str, list[Case]] = {
    "core:health": [get(lambda w: "/healthz", same(200))],
    "core:ready": [get(lambda w: "/readyz", same(200))],
    "core:media": [
        get(lambda w: w["other_avatar"], expect(out=404, guest=200, member=200, admin=200), "other"),
        get(lambda w: "/media/avatars/0/none.webp", same(404), "missing"),
        get(lambda w: "/media/avatars/../../../etc/passwd", same(404), "missing"),
    ],
    "feed:home": [get(lambda w: "/", PAGE)],
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
}
