"""Communities in real time: what communities tell realtime (registered in
CommunitiesConfig.ready()).

- guard "community": who among some people may read a community's posts now (the
  communities oracle, can_read_community, with their seats loaded in one query). For
  events about a place rather than a post: `post.removed` on the old community of a
  moved post (posts/live.py) must still reach the people who lost sight of the post
  when it moved, which the "post" guard would drop. Such events carry only ids their
  readers already had on screen.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from townhall.accounts.models import User
from townhall.communities.models import Community, Membership
from townhall.communities.permissions import Seat, can_read_community, remember_seat
from townhall.realtime import registry

# Active people as the guards' checks see them (id, role), kept per process: a guard
# call meets the same hundreds of connected people event after event, and making a
# User instance costs more than the check. Read-only: the checks note seats on the
# community, never on the person. A plain dict cleared when full, as core/display.py.
_SHELLS: dict[tuple[int, str], User] = {}
MAX_SHELLS = 20_000
# from_db takes the values in the model's field order, whatever the names' order.
_SHELL_FIELDS = [f.attname for f in User._meta.concrete_fields if f.attname in {"id", "is_active", "role"}]


def _shell(uid: int, role: str) -> User:
    person = _SHELLS.get((uid, role))
    if person is None:
        if len(_SHELLS) >= MAX_SHELLS:
            _SHELLS.clear()
        known = {"id": uid, "is_active": True, "role": role}
        values = tuple(known[name] for name in _SHELL_FIELDS)
        person = _SHELLS[(uid, role)] = User.from_db(None, _SHELL_FIELDS, values)
    return person


def people_seated(user_ids: list[int], community: Community | None) -> list[User]:
    """The active people among `user_ids`, with their seats in `community` (if any)
    remembered for the permission checks that follow. One statement whatever their
    number, written here rather than by the ORM: every guard call runs it for everyone
    connected to a channel (hundreds of ids per event), and building, compiling and
    reading it through two querysets cost ~10 ms a call at 700 people (docs/performance.md,
    "Ninth session"). Only what the checks read is loaded: id, role and the seat."""
    ids = sorted({int(uid) for uid in user_ids})
    if not ids:
        return []
    users, seats = User._meta.db_table, Membership._meta.db_table
    # One parameter for all the ids: the statement's text never changes, and no limit
    # on the number of parameters applies.
    id_param: Any = ids
    among = "u.id = ANY(%s)"
    if connection.vendor != "postgresql":
        id_param, among = json.dumps(ids), "u.id IN (SELECT value FROM json_each(%s))"
    if community is None:
        sql = f"SELECT u.id, u.role, NULL, NULL, NULL FROM {users} u WHERE {among} AND u.is_active"  # noqa: S608  # nosec B608 - table names from models; values are parameters
        params: list[Any] = [id_param]
    else:
        sql = (
            f"SELECT u.id, u.role, m.role, m.synced, m.muted FROM {users} u "  # noqa: S608  # nosec B608 - table names from models; values are parameters
            f"LEFT JOIN {seats} m ON m.user_id = u.id AND m.community_id = %s WHERE {among} AND u.is_active"
        )
        params = [community.pk, id_param]
    with connection.cursor() as db:
        db.execute(sql, params)
        rows = db.fetchall()
    people = []
    for uid, role, seat_role, synced, muted in rows:
        person = _shell(uid, role)
        if community is not None:
            remember_seat(community, person, Seat(seat_role, bool(synced), bool(muted)) if seat_role else None)
        people.append(person)
    return people


def readers(user_ids: list[int], community_id: int) -> set[int]:
    """The people among `user_ids` who may read the community now. Two queries (the
    community, the people with their seats in it) whatever the number of people."""
    community = Community.objects.filter(pk=community_id, deleted_at__isnull=True).first()
    if community is None:
        return set()
    return {person.pk for person in people_seated(user_ids, community) if can_read_community(person, community)}


def register() -> None:
    registry.register_guard("community", readers)
