"""Counters stay exact with concurrent writers (PostgreSQL, READ COMMITTED): the rows
a count depends on are locked before counting (posts.services._refresh_topic_counts,
refresh_engagement). Without the locks, writers on one topic or one post counted
with snapshots that missed each other's rows (found by tests/flows/test_faults.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from townhall.communities.selectors import all_company
from townhall.posts.models import Post, Topic
from townhall.posts.services import comment_create, post_create
from townhall.reactions.services import reaction_set
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 6
ROUNDS = 10


def test_concurrent_writers_keep_topic_comment_and_reaction_counts_exact() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite runs one writer at a time (BEGIN IMMEDIATE)")
    users = [UserFactory() for _ in range(WRITERS)]
    company = all_company()
    target = post_create(actor=users[0], community=company, body="the target")
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        user = users[index]
        try:
            barrier.wait(timeout=30)
            for n in range(ROUNDS):
                post_create(actor=user, community=company, body=f"round {n} #race")
                comment_create(actor=user, post=Post.objects.get(pk=target.pk), body=f"comment {index}-{n}")
            reaction_set(actor=user, target_type="post", target_id=target.pk, kind="like")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert Topic.objects.get(slug="race").post_count == WRITERS * ROUNDS
    target.refresh_from_db()
    assert target.comment_count == WRITERS * ROUNDS
    assert target.reaction_count == WRITERS
