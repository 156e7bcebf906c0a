"""The benchmark harness end to end on a tiny organisation, so `make bench` keeps
working: generate the smoke preset into the test database, then one short run."""

from __future__ import annotations

import dataclasses

import pytest

from bench.generate import SIZES, generate
from bench.run import Bench
from townhall.posts.models import Comment, Post
from townhall.reactions.models import Reaction


@pytest.mark.bench_smoke
@pytest.mark.django_db
def test_bench_smoke_generates_and_measures(var_dir):
    size = dataclasses.replace(SIZES["smoke"], posts=1_000, comments=3_000, reactions=5_000)
    figures = generate(size, credentials=var_dir / "credentials.txt", analyze=False)
    assert figures["people"] == size.people
    assert figures["posts"] == Post.objects.count() == size.posts
    assert figures["comments"] == Comment.objects.count() > size.comments // 2
    assert figures["reactions"] == Reaction.objects.count() > size.reactions // 2

    bench = Bench(iterations=3, warmup=1, members=3, seed=1, writes=True)
    try:
        bench.run()
    finally:
        bench.close()
    rows = {row["name"]: row for row in bench.report()}
    home = rows["home feed, Latest, first page"]
    assert home["n"] == 3 and home["status"] == [200] and home["queries_max"] is not None
    assert rows["empty view (framework floor)"]["status"] == [200]
    assert all(500 not in row["status"] for row in rows.values())
