"""`/api/v1/notifications`."""

from __future__ import annotations

from typing import Any

import pytest

from townhall.notifications.models import Notification
from townhall.notifications.tests.conftest import World
from townhall.posts.services import post_create
from townhall.testing.clients import signed_in

pytestmark = pytest.mark.django_db


def test_api_list_count_mark_read_and_preferences(world: World, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            post_create(actor=world.ana, community=world.public, body=f"Item {n} for @bo")
    client = signed_in(world.bo)
    page = client.get("/api/v1/notifications?limit=2").json()
    assert [i["text"] for i in page["items"]] == [
        "Ana Alves mentioned you in “Item 2 for @bo”",
        "Ana Alves mentioned you in “Item 1 for @bo”",
    ]
    assert page["unread_count"] == 3 and page["items"][0]["actor"]["display_name"] == "Ana Alves"
    rest = client.get(f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    first = page["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{first}/read").status_code == 204
    assert client.get("/api/v1/notifications/unread-count").json() == {"count": 2}
    assert client.get("/api/v1/notifications?unread=true").json()["unread_count"] == 2
    assert client.post("/api/v1/notifications/read-all").json() == {"changed": 2}
    assert signed_in(world.cy).post(f"/api/v1/notifications/{first}/read").status_code == 404
    assert client.get("/api/v1/notifications?cursor=broken").status_code == 422

    prefs = client.get("/api/v1/notifications/preferences").json()
    mention = next(k for k in prefs["kinds"] if k["kind"] == "mention")
    assert mention == {"kind": "mention", "label": "Mentions of you", "in_app": True, "email": True, "digest": True}
    assert next(k for k in prefs["kinds"] if k["kind"] == "reaction")["digest"] is None
    assert prefs["digest"] == "weekly" and {c["name"] for c in prefs["communities"]} >= {"Design", "Board"}
    changed = client.put(
        "/api/v1/notifications/preferences",
        {
            "channels": [{"kind": "mention", "channel": "email", "enabled": False}],
            "digest": "daily",
            "communities": [{"community_id": world.public.pk, "level": "all"}],
        },
        content_type="application/json",
    )
    assert changed.status_code == 200
    body = changed.json()
    assert next(k for k in body["kinds"] if k["kind"] == "mention")["email"] is False
    assert body["digest"] == "daily"
    bad = client.put(
        "/api/v1/notifications/preferences",
        {"channels": [{"kind": "reaction", "channel": "digest", "enabled": True}]},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == {"channel": ["Not available for this kind."]}
    outsider = signed_in(world.cy).put(
        "/api/v1/notifications/preferences",
        {"communities": [{"community_id": world.secret.pk, "level": "all"}]},
        content_type="application/json",
    )
    assert outsider.status_code == 422
    assert Notification.objects.filter(recipient=world.bo, read_at__isnull=True).count() == 0


def test_api_needs_credentials(client: Any) -> None:
    assert client.get("/api/v1/notifications").status_code == 401
