"""Moving a post into another community: who may, where to (never wider), and what
follows it (comments, search, mentions, the pin)."""

from __future__ import annotations

import pytest

from townhall.communities import services as communities
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.posts import services as posts
from townhall.posts.models import Mention
from townhall.posts.selectors import post_move_targets
from townhall.search.selectors import search
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import MembershipFactory
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(django_capture_on_commit_callbacks):
    owner = UserFactory(full_name="Olga Owner", email="olga@example.com")
    reader = UserFactory(full_name="Rita Reader", email="rita@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        square = communities.community_create(actor=owner, name="Square")
        vault = communities.community_create(actor=owner, name="Vault", visibility="private")
        attic = communities.community_create(actor=owner, name="Attic", visibility="secret")
        closed = communities.community_create(actor=owner, name="Closed", visibility="secret")
        communities.community_archive(actor=owner, community=closed)
        post = posts.post_create(actor=owner, community=square, body="Budget Walrus for @rita")
        posts.comment_create(actor=reader, post=post, body="Walrus comment")
        posts.post_pin(actor=owner, post=post, pinned=True)
    return {"owner": owner, "reader": reader, "square": square, "vault": vault, "attic": attic, "post": post}


def _finds(viewer, query="walrus"):
    return {(r.kind, r.object_id) for r in search(viewer=viewer, query=query).results}


def test_move_targets_are_run_by_the_mover_and_never_wider(place):
    targets = post_move_targets(viewer=place["owner"], post=place["post"])
    assert [c.name for c in targets] == ["Attic", "Vault"]  # not Square itself, not the archived one
    posts.post_move(actor=place["owner"], post=place["post"], community=place["vault"])
    assert [c.name for c in post_move_targets(viewer=place["owner"], post=place["post"])] == ["Attic"]
    with pytest.raises(ValidationFailed, match="at least as private"):
        posts.post_move(actor=place["owner"], post=place["post"], community=place["square"])


def test_move_refuses_non_moderators_and_hides_hidden(place, member):
    with pytest.raises(PermissionDenied):
        post_move_targets(viewer=member, post=place["post"])
    with pytest.raises(PermissionDenied):
        posts.post_move(actor=member, post=place["post"], community=place["vault"])
    MembershipFactory(community=place["vault"], user=member, role="admin")
    with pytest.raises(PermissionDenied):  # runs the target, not the source
        posts.post_move(actor=member, post=place["post"], community=place["vault"])


def test_move_into_private_disappears_for_non_members_at_once(place, member, django_capture_on_commit_callbacks):
    assert {("post", place["post"].pk)} <= _finds(member)
    with django_capture_on_commit_callbacks(execute=True):
        moved = posts.post_move(actor=place["owner"], post=place["post"], community=place["vault"])
    assert moved.pinned_at is None
    assert _finds(member) == set()  # neither the post nor its comment
    assert search(viewer=member, query="walrus").counts == {}
    kinds = {kind for kind, _ in _finds(place["owner"])}
    assert kinds == {"post", "comment"}
    # Rita was mentioned while it was public; she cannot read it now, so the mention goes.
    assert not Mention.objects.filter(post=place["post"], user=place["reader"]).exists()


def test_move_pages_and_api(place, member):
    owner = signed_in(place["owner"])
    page = owner.get(f"/posts/{place['post'].pk}/move")
    assert page.status_code == 200 and "Vault (Private)" in page.content.decode()
    bad = owner.post(f"/posts/{place['post'].pk}/move", {"community": place["square"].slug})
    assert bad.status_code == 422
    done = owner.post(f"/posts/{place['post'].pk}/move", {"community": place["vault"].slug})
    assert done.status_code == 302 and done["Location"] == f"/c/{place['vault'].slug}/"
    api = owner.post(
        f"/api/v1/posts/{place['post'].pk}/move", {"community": place["attic"].slug}, content_type="application/json"
    )
    assert api.status_code == 204
    again = owner.post(
        f"/api/v1/posts/{place['post'].pk}/move", {"community": place["vault"].slug}, content_type="application/json"
    )
    assert again.status_code == 422 and again.json()["error"]["fields"]["community"]
    outsider = signed_in(member).post(
        f"/api/v1/posts/{place['post'].pk}/move", {"community": place["vault"].slug}, content_type="application/json"
    )
    assert outsider.status_code == 404


def test_move_of_a_missing_post_is_not_found(place):
    with pytest.raises(NotFound):
        post_move_targets(viewer=UserFactory(role="guest"), post=place["post"])
