"""The benchmark harness end to end on a tiny organisation, so `make bench` keeps
working: generate the smoke preset into the test database, then one short run of
every scenario of the table (feeds, writes, notification list, search, SSE delivery);
and a short load test (5 members, each holding an SSE stream) against a real
`townhall serve`."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.generate import SIZES, generate
from bench.guard import measure as measure_guard
from bench.run import Bench, sse_result
from townhall.posts.models import Comment, Post
from townhall.reactions.models import Reaction

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.bench_smoke
@pytest.mark.django_db
def test_bench_smoke_generates_and_measures(var_dir):
    size = dataclasses.replace(SIZES["smoke"], people=100, communities=15, posts=600, comments=1_500, reactions=2_500)
    figures = generate(size, credentials=var_dir / "credentials.txt", analyze=False)
    assert figures["people"] == size.people
    assert figures["posts"] == Post.objects.count() == size.posts
    assert figures["comments"] == Comment.objects.count() > size.comments // 2
    assert figures["reactions"] == Reaction.objects.count() > size.reactions // 2

    # SSE delivery runs its own organisation and server (a temporary SQLite file): in a
    # thread beside the in-process scenarios, most of it is waiting for processes to start.
    with ThreadPoolExecutor(max_workers=1) as pool:
        delivering = pool.submit(sse_result, streams=5, posts=1, url="sqlite://", redis="")
        bench = Bench(iterations=3, warmup=1, members=3, seed=1, writes=True, notifications=10)
        try:
            bench.run()
            search = bench.search_scenarios(members=3, queries=5, seed=1)
        finally:
            bench.close()
        sse, sse_figures = delivering.result(timeout=120)
    bench.results.append(sse)
    rows = {row["name"]: row for row in bench.report()}
    [guard] = measure_guard(people=[20], posts=4, rounds=1)
    assert guard["people"] == 20 and guard["calls"] > 0 and guard["let_through"] > 0
    home = rows["home feed, Latest, first page"]
    assert home["n"] == 3 and home["status"] == [200] and home["queries_max"] is not None
    assert home["peak_rss_mb"] > 0
    assert rows["empty view (framework floor)"]["status"] == [200]
    assert all(500 not in row["status"] for row in rows.values()), {k: r["note"] for k, r in rows.items()}

    # The notification list has something to list: the run seeded it through notify().
    centre = rows["notification list (centre page)"]
    assert centre["status"] == [200] and centre["queries_max"] is not None
    assert "members seeded" in centre["note"] and not centre["note"].startswith("0-")
    assert rows["notification list (API)"]["status"] == [200]

    # Search: the generator bypasses the index, so the run reindexed first.
    assert search["documents"] > size.posts
    searched = [row for name, row in rows.items() if name.startswith("search: ")]
    assert len(searched) == 7 and all(row["status"] == [200] and row["n"] == 3 for row in searched)

    # SSE delivery: one post reached all 5 streams of a real server process.
    assert sse.status == {200}, sse.note
    assert len(sse.times_ms) == 5 and sse_figures["missed"] == 0
    assert sse.peak_mb and sse.peak_mb > 20  # the server's peak RSS, not this process's


@pytest.mark.bench_smoke
def test_load_smoke_holds_members_with_streams(tmp_path):
    """bench.load on a tiny dataset: 5 members for 6 s, each holding an SSE stream; the
    ramp stops by itself and reports the members held. (About 25 s: it starts a real
    server and locust.)"""
    url = f"sqlite:///{tmp_path}/load-bench.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["BENCH_DIR"] = str(tmp_path / "bench")  # figures, credentials, results: not var/bench
    small = ["--people", "60", "--communities", "8", "--posts", "400", "--comments", "600", "--reactions", "800"]
    subprocess.run(
        [sys.executable, "-m", "bench.generate", "--size", "smoke", *small, "--database-url", url],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    load = subprocess.run(
        [sys.executable, "-m", "bench.load", "--database-url", url, "--no-migrate", "--start", "5",
         "--max-members", "5", "--warmup-seconds", "1", "--step-seconds", "6", "--max-seconds", "6",
         "--think", "0.2-0.6"],
        cwd=ROOT,
        env={**env, "TOWNHALL_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert load.returncode == 0, load.stdout[-2000:] + load.stderr[-2000:]
    out = load.stdout
    assert "Members held: " in out and "each holding an SSE stream" in out, out[-2000:]
    written = Path(out.rsplit("Figures: ", 1)[1].split()[0])
    assert written.parent == tmp_path / "bench"
    figures = json.loads(written.read_text())
    assert figures["sse"] is True and figures["streams_opened"] >= 5
    (step,) = figures["steps"]
    assert step["members"] == 5 and step["streams_open"] == 5 and step["stream_failures"] == 0
    assert step["requests"] >= 5 and step["server_errors"] == 0
    assert figures["client_errors"] == {}  # a 4xx is a broken set-up (session, CSRF, stream URL)
    # Reactions and comments go to the home page's cards, which each member's stream
    # watches: every one of them comes back as an event on the reacting member's stream.
    engaged = sum(step["by_name"].get(name, {}).get("n", 0) for name in ("reaction", "comment"))
    if engaged:
        assert figures["stream_events_total"] >= 1
    assert figures["stopped_because"] == "reached --max-members 5" or figures["stopped_because"].startswith("threshold")


def test_load_think_time_reads_ranges_presets_and_refuses_the_rest():
    import argparse

    from bench.load import think_range

    parser = argparse.ArgumentParser()
    assert think_range("1-5", parser) == (1.0, 5.0)
    assert think_range("2", parser) == (2.0, 2.0)
    assert think_range("mattermost", parser) == (1.0, 39.0)  # mean 20 s, as load-test-ng's default
    for bad in ("fast", "5-1", "-3", "1-x"):
        with pytest.raises(SystemExit):
            think_range(bad, parser)


@pytest.mark.parametrize(
    "argv",
    [
        ["--think", "slow"],
        ["--arrival-seconds", "30", "--settle-seconds", "10"],
        ["--arrival-seconds", "-1"],
    ],
)
def test_load_refuses_bad_options_before_touching_anything(argv, capsys):
    from bench.load import main

    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2  # argparse's usage error
    assert "--" in capsys.readouterr().err
