"""Permission changes apply at once: a Hypothesis state machine over random sequences
of membership, role, account, community and post changes, made through the services;
after every step, what each person can read through the oracle
(posts.selectors.visible_posts, communities.permissions), the API (with their own
token) and a page (with their own session) must equal an independent model of who
should see what.

The model (this file, not the app) says: a post is readable when it is not deleted
and its community is not deleted and the reader is active and either a member, or a
non-guest while the community is public. A community is known to its members and,
unless secret, to every active non-guest; its moderators are its admin members and
site admins who can know it. A deactivated person reads nothing: the API answers 401
(tokens end) and pages send them to sign in (sessions end), also after reactivation
for the old session and token.

CI size: TOWNHALL_STATEFUL_EXAMPLES (default 5) sequences of up to
TOWNHALL_STATEFUL_STEPS (default 10) changes. A longer run: TOWNHALL_STATEFUL_EXAMPLES=200
TOWNHALL_STATEFUL_STEPS=30.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from townhall.accounts.models import User
from townhall.accounts.services import token_create, user_deactivate, user_reactivate
from townhall.communities import members as community_members
from townhall.communities import permissions
from townhall.communities import services as communities
from townhall.communities.models import Community, JoinRequest, Membership
from townhall.communities.selectors import readable_community_ids
from townhall.core.errors import TownhallError
from townhall.posts import services as posts
from townhall.posts.models import Post
from townhall.posts.selectors import visible_posts
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory

EXAMPLES = int(os.environ.get("TOWNHALL_STATEFUL_EXAMPLES", "5"))
STEPS = int(os.environ.get("TOWNHALL_STATEFUL_STEPS", "10"))

PEOPLE = ("owner", "ann", "ben", "gus", "root")
CHANGEABLE = ("ann", "ben", "gus")  # the owner runs both communities; root is the site admin
COMMUNITIES = ("a", "b")
VISIBILITIES = ("public", "private", "secret")
WIDTH = {"public": 2, "private": 1, "secret": 0}
TALLY = {"steps": 0, "checks": 0, "examples": 0, "applied": 0, "refused": 0}


@dataclass
class Model:
    role: dict[str, str]
    active: dict[str, bool] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # community -> person -> member/admin
    visibility: dict[str, str] = field(default_factory=dict)
    archived: dict[str, bool] = field(default_factory=dict)
    deleted: dict[str, bool] = field(default_factory=dict)
    posts: dict[int, tuple[str, bool]] = field(default_factory=dict)  # id -> (community, deleted)

    def browses(self, p: str) -> bool:
        return self.active[p] and self.role[p] != "guest"

    def reads(self, p: str, c: str) -> bool:
        if not self.active[p] or self.deleted[c]:
            return False
        return p in self.members[c] or (self.visibility[c] == "public" and self.browses(p))

    def knows(self, p: str, c: str) -> bool:
        if not self.active[p] or self.deleted[c]:
            return False
        return p in self.members[c] or (self.visibility[c] != "secret" and self.browses(p))

    def moderates(self, p: str, c: str) -> bool:
        return self.knows(p, c) and (self.members[c].get(p) == "admin" or self.role[p] in {"admin", "ic_moderator"})

    def sees_post(self, p: str, post_id: int) -> bool:
        community, deleted = self.posts[post_id]
        return not deleted and self.reads(p, community)


class PermissionChanges(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        TALLY["examples"] += 1
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        cache.clear()
        roles = {"owner": "member", "ann": "member", "ben": "member", "gus": "guest", "root": "admin"}
        self.users = {name: UserFactory(full_name=f"{name.title()} Person", role=role) for name, role in roles.items()}
        owner = self.users["owner"]
        self.community_ids = {
            "a": CommunityFactory(visibility="public", admin=owner, members=[self.users["ann"], self.users["gus"]]).pk,
            "b": CommunityFactory(visibility="private", admin=owner, members=[self.users["ben"]]).pk,
        }
        self.model = Model(
            role=roles,
            active=dict.fromkeys(PEOPLE, True),
            members={
                "a": {"owner": "admin", "ann": "member", "gus": "member"},
                "b": {"owner": "admin", "ben": "member"},
            },
            visibility={"a": "public", "b": "private"},
            archived=dict.fromkeys(COMMUNITIES, False),
            deleted=dict.fromkeys(COMMUNITIES, False),
        )
        self.pending: dict[tuple[str, str], int] = {}  # (person, community) -> join request id
        for author, where in (("ann", "a"), ("ben", "b"), ("owner", "a")):
            self._create_post(author, where)
        self.sessions = {name: signed_in(user) for name, user in self.users.items()}
        self.tokens = {name: self._token(name) for name in PEOPLE}
        self.turn = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers --------------------------------------------------------------------------

    def _user(self, name: str) -> User:
        return User.objects.get(pk=self.users[name].pk)

    def _community(self, name: str) -> Community:
        return Community.objects.get(pk=self.community_ids[name])

    def _token(self, name: str) -> str:
        _token, secret = token_create(actor=self._user(name), name="stateful", scopes=["read"])
        return secret

    def _create_post(self, author: str, where: str) -> None:
        try:
            post = posts.post_create(actor=self._user(author), community=self._community(where), body=f"By {author}")
        except TownhallError:
            assert not (self.model.reads(author, where) and author in self.model.members[where])
            return
        self.model.posts[post.pk] = (where, False)

    def _attempt(self, change: Any) -> bool:
        """Run a service call; False when it refused (then nothing may have changed)."""
        try:
            with transaction.atomic():
                change()
        except TownhallError:
            TALLY["refused"] += 1
            return False
        TALLY["applied"] += 1
        return True

    # --- rules ----------------------------------------------------------------------------

    @rule(person=st.sampled_from(CHANGEABLE), where=st.sampled_from(COMMUNITIES))
    def join(self, person: str, where: str) -> None:
        knew = self.model.knows(person, where)
        outcome: list[Any] = []
        if self._attempt(
            lambda: outcome.append(
                communities.community_join(actor=self._user(person), community=self._community(where))
            )
        ):
            assert knew, f"{person} joined {where}, which they may not know of"
            if isinstance(outcome[0], Membership):
                self.model.members[where].setdefault(person, "member")
            elif isinstance(outcome[0], JoinRequest):
                self.pending[(person, where)] = outcome[0].pk

    @rule(person=st.sampled_from(CHANGEABLE), where=st.sampled_from(COMMUNITIES))
    def approve(self, person: str, where: str) -> None:
        request_id = self.pending.pop((person, where), None)
        if request_id is None:
            return
        if self._attempt(
            lambda: community_members.request_approve(
                actor=self._user("owner"), community=self._community(where), request_id=request_id
            )
        ):
            self.model.members[where].setdefault(person, "member")

    @rule(person=st.sampled_from(CHANGEABLE), where=st.sampled_from(COMMUNITIES))
    def leave(self, person: str, where: str) -> None:
        if self._attempt(
            lambda: communities.community_leave(actor=self._user(person), community=self._community(where))
        ):
            self.model.members[where].pop(person, None)

    @rule(person=st.sampled_from(CHANGEABLE), where=st.sampled_from(COMMUNITIES))
    def remove(self, person: str, where: str) -> None:
        if self._attempt(
            lambda: community_members.member_remove(
                actor=self._user("owner"), community=self._community(where), user=self._user(person)
            )
        ):
            self.model.members[where].pop(person, None)

    @rule(person=st.sampled_from(CHANGEABLE), where=st.sampled_from(COMMUNITIES), up=st.booleans())
    def promote_or_demote(self, person: str, where: str, up: bool) -> None:
        change = community_members.member_promote if up else community_members.member_demote
        if self._attempt(
            lambda: change(actor=self._user("owner"), community=self._community(where), user=self._user(person))
        ):
            assert person in self.model.members[where]
            self.model.members[where][person] = "admin" if up else "member"

    @rule(person=st.sampled_from(CHANGEABLE))
    def deactivate_or_reactivate(self, person: str) -> None:
        if self.model.active[person]:
            if self._attempt(lambda: user_deactivate(actor=self._user("root"), user=self._user(person))):
                self.model.active[person] = False
        elif self._attempt(lambda: user_reactivate(actor=self._user("root"), user=self._user(person))):
            self.model.active[person] = True
            # The old session and token stay dead; the person signs in afresh.
            self.sessions[person] = signed_in(self._user(person))
            self.tokens[person] = self._token(person)

    @rule(where=st.sampled_from(COMMUNITIES), visibility=st.sampled_from(VISIBILITIES))
    def set_visibility(self, where: str, visibility: str) -> None:
        if self._attempt(
            lambda: communities.community_update(
                actor=self._user("owner"), community=self._community(where), visibility=visibility
            )
        ):
            self.model.visibility[where] = visibility

    @rule(where=st.sampled_from(COMMUNITIES))
    def archive_or_unarchive(self, where: str) -> None:
        change = communities.community_unarchive if self.model.archived[where] else communities.community_archive
        if self._attempt(lambda: change(actor=self._user("owner"), community=self._community(where))):
            self.model.archived[where] = not self.model.archived[where]

    @precondition(lambda self: not any(self.model.deleted.values()))
    @rule(where=st.sampled_from(COMMUNITIES), really=st.integers(0, 3))
    def delete_community(self, where: str, really: int) -> None:
        if really:  # one time in four: it ends most other changes to the community
            return
        if self._attempt(
            lambda: communities.community_delete(actor=self._user("owner"), community=self._community(where))
        ):
            self.model.deleted[where] = True

    @rule(author=st.sampled_from(("owner", *CHANGEABLE)), where=st.sampled_from(COMMUNITIES))
    def create_post(self, author: str, where: str) -> None:
        self._create_post(author, where)

    @rule(data=st.data())
    def delete_post(self, data: st.DataObject) -> None:
        post_id = data.draw(st.sampled_from(sorted(self.model.posts)))
        where, _deleted = self.model.posts[post_id]
        if self._attempt(lambda: posts.post_delete(actor=self._user("owner"), post=Post.objects.get(pk=post_id))):
            self.model.posts[post_id] = (where, True)

    @rule(data=st.data(), into=st.sampled_from(COMMUNITIES))
    def move_post(self, data: st.DataObject, into: str) -> None:
        post_id = data.draw(st.sampled_from(sorted(self.model.posts)))
        where, deleted = self.model.posts[post_id]
        widening = WIDTH[self.model.visibility[into]] > WIDTH[self.model.visibility[where]]
        if self._attempt(
            lambda: posts.post_move(
                actor=self._user("owner"), post=Post.objects.get(pk=post_id), community=self._community(into)
            )
        ):
            assert not widening, f"post {post_id} moved from {where} to a wider {into}"
            assert not self.model.archived[into]
            self.model.posts[post_id] = (into, deleted)

    # --- the invariant ------------------------------------------------------------------------

    @invariant()
    def everyone_sees_exactly_what_the_model_says(self) -> None:
        TALLY["steps"] += 1
        self.turn += 1
        tracked = sorted(self.model.posts)
        for name in PEOPLE:
            user = self._user(name)
            expected = {pk for pk in tracked if self.model.sees_post(name, pk)}
            oracle = set(visible_posts(user).filter(pk__in=tracked).values_list("pk", flat=True))
            assert oracle == expected, f"visible_posts({name}) = {sorted(oracle)}, model {sorted(expected)}"
            readable = set(readable_community_ids(user))
            for where in COMMUNITIES:
                community = self._community(where)
                assert permissions.can_view_community(user, community) == self.model.knows(name, where), (name, where)
                assert permissions.can_read_community(user, community) == self.model.reads(name, where), (name, where)
                assert (community.pk in readable) == self.model.reads(name, where), (name, where)
                moderates = permissions.can_moderate_community(user, community)
                assert moderates == self.model.moderates(name, where), (name, where, "moderate")
            api = Client(HTTP_AUTHORIZATION=f"Bearer {self.tokens[name]}")
            for pk in tracked:
                status = api.get(f"/api/v1/posts/{pk}").status_code
                want = 200 if pk in expected else (404 if self.model.active[name] else 401)
                assert status == want, f"API post {pk} as {name}: {status}, model {want}"
            pk = tracked[self.turn % len(tracked)]
            status = self.sessions[name].get(f"/posts/{pk}/").status_code
            want = 200 if pk in expected else (404 if self.model.active[name] else 302)
            assert status == want, f"page of post {pk} as {name}: {status}, model {want}"
            TALLY["checks"] += 3 + 4 * len(COMMUNITIES) + len(tracked)


@pytest.mark.django_db
def test_permission_changes_apply_at_once(record_property: Any) -> None:
    run_state_machine_as_test(
        PermissionChanges,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("TOWNHALL_STATEFUL_RANDOM") != "1",
        ),
    )
    record_property(
        "summary",
        f"permission changes: {TALLY['examples']} sequences, {TALLY['applied']} changes applied "
        f"({TALLY['refused']} refused), {TALLY['steps']} states checked, "
        f"{TALLY['checks']} oracle/API/page checks against the model",
    )
