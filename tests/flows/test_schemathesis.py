"""schemathesis against the app's own `/api/v1/openapi.json`, in process (WSGI).

Every operation gets positive cases (valid by the schema) and negative ones (invalid
by it), as a seeded member authenticated with a read+write API token; path
parameters are drawn half the time from ids and slugs that exist, so the happy paths
run too, not only 404s. Checks: no 5xx (not_a_server_error), every status code is one
the schema declares for the operation (status_code_conformance), every body matches
its declared schema (response_schema_conformance, content_type_conformance), and
negative data is refused (negative_data_rejection).

CI size: TOWNHALL_SCHEMATHESIS_EXAMPLES examples per operation and mode (default 6).
A longer run: TOWNHALL_SCHEMATHESIS_EXAMPLES=100.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from townhall.accounts.models import User
from townhall.accounts.services import token_create
from townhall.communities.models import Community
from townhall.testing.communities_factories import CommunityFactory, invitation, join_request
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import CommentFactory, PostFactory

EXAMPLES = int(os.environ.get("TOWNHALL_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]

# Path parameter -> values that exist in the seeded world (filled by the fixture).
KNOWN: dict[str, list[Any]] = {}
CALLS: Counter[str] = Counter()
FAILING: set[str] = set()
# Operations whose negative cases pydantic's lax parsing accepts on purpose.
LAX = {
    # `before=0` (a date) is read as 1970-01-01: pydantic takes unix timestamps for
    # dates. Harmless, and townhall/api/search.py belongs to the search helper.
    "GET /api/v1/search": "date parameters accept unix timestamps",
}


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half the time, point a path parameter at something that exists."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.one_of(st.just(value), st.sampled_from(KNOWN[name])) if KNOWN.get(name) else st.just(value)
            for name, value in path_parameters.items()
        }
    )


def _seed() -> tuple[User, str]:
    """A member who belongs to, moderates and wrote things the API can act on."""
    me = UserFactory(full_name="Sam Schema", email="sam@example.com")
    other = UserFactory(full_name="Otto Other")
    admin = UserFactory(full_name="Ada Admin", role="admin")
    mine = CommunityFactory(name="Schema Lab", slug="schema-lab", admin=me, members=[other])
    theirs = CommunityFactory(name="Other Place", slug="other-place", admin=other, members=[me])
    private = CommunityFactory(name="Quiet Room", slug="quiet-room", visibility="private", admin=other)
    posts = [PostFactory(author=me, community=mine, body="Hello #schema"), PostFactory(author=other, community=theirs)]
    comments = [CommentFactory(post=posts[0], author=other), CommentFactory(post=posts[1], author=me)]
    join_request(mine, admin)
    invite = invitation(private, me, invited_by=other)
    token, secret = token_create(actor=me, name="schemathesis", scopes=["read", "write"])
    spare, _ = token_create(actor=me, name="spare", scopes=["read"])
    from townhall.communities.models import JoinRequest
    from townhall.posts.models import Topic

    Topic.objects.get_or_create(slug="schema", defaults={"name": "schema"})
    KNOWN.update(
        {
            "post_id": [p.pk for p in posts],
            "comment_id": [c.pk for c in comments],
            "slug": [c.slug for c in Community.objects.all()] + ["schema"],
            "user_id": [me.pk, other.pk, admin.pk],
            "token_id": [spare.pk],  # never the one the run uses
            "invitation_id": [invite.pk],
            "request_id": list(JoinRequest.objects.values_list("pk", flat=True)),
            "notification_id": [],
            "target_type": ["post", "comment"],
            "target_id": [p.pk for p in posts] + [c.pk for c in comments],
        }
    )
    assert token.pk not in KNOWN["token_id"]
    return me, secret


def _load_schema() -> Any:
    """The schema `/api/v1/openapi.json` serves (test_served_schema_is_the_one_tested
    checks they are the same), bound to the WSGI app for in-process calls."""
    import json

    from townhall.api.management.commands.openapi_snapshot import live_schema_text
    from townhall.config.wsgi import application

    loaded = schemathesis.openapi.from_dict(json.loads(live_schema_text()))
    loaded.app = application
    loaded.location = "/api/v1/openapi.json"
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES, no_shrink=True
    )
    return loaded


schema = _load_schema()


@pytest.fixture
def api_secret(db: Any) -> Iterator[str]:
    """A seeded world and the token of its member; requests go through the WSGI app
    inside the test's transaction (as Django's test client does, the handler must not
    close the connection between requests)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _me, secret = _seed()
        yield secret
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_served_schema_is_the_one_tested(client: Any) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json()["paths"].keys() == schema.raw_schema["paths"].keys()
    assert served.json() == schema.raw_schema


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: Any, api_secret: str) -> None:
    label = case.operation.label
    CALLS[label] += 1
    checks = [check for check in CHECKS if not (label in LAX and check is negative_data_rejection)]
    try:
        case.call_and_validate(headers={"Authorization": f"Bearer {api_secret}"}, checks=checks)
    except Exception:
        FAILING.add(label)
        raise


def test_schemathesis_summary(record_property: Any) -> None:
    """What the run covers. Under xdist the operations run on several workers, so the
    request count is this process's share."""
    methods = {"get", "put", "post", "patch", "delete"}
    operations = sum(1 for item in schema.raw_schema["paths"].values() for method in item if method in methods)
    record_property(
        "summary",
        f"schemathesis: {operations} operations x (positive + negative) x up to {EXAMPLES} examples; "
        f"{sum(CALLS.values())} requests in this process, {len(FAILING)} operations failing here",
    )
