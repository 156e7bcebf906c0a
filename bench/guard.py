"""The cost of one live-update guard call: who among N connected people may see an event.

    python -m bench.guard                      # var/bench SQLite, 700 people
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/townhall_bench python -m bench.guard --people 700 1000

Every event a server process delivers passes its guard once, for everyone connected to
the event's channels (realtime/hub.py `dispatch`), one event after another: at 1,000
members each holding a stream, a popular post's events are checked for hundreds of
people several times a second, in every process. This calls `registry.allowed` for the
newest community posts and profile posts of the generated organisation, and for their
communities, with the first N people as the connected ones, and reports p50/p95/mean
per call (and how many were let through, to compare runs of different code). In
process, on the benchmark database; nothing is written.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from typing import Any

from bench.generate import database_url, db_name, setup_django


def measure(*, people: list[int], posts: int, rounds: int) -> list[dict[str, Any]]:
    """One row per count of connected people: p50/p95/mean ms per guard call, how many
    calls, and how many people were let through per round."""
    from townhall.accounts.models import User
    from townhall.posts.models import Post
    from townhall.realtime import registry

    in_places = list(
        Post.objects.filter(community__isnull=False, deleted_at__isnull=True)
        .order_by("-id")
        .values_list("id", "community_id")[:posts]
    )
    on_profiles = list(
        Post.objects.filter(community__isnull=True, deleted_at__isnull=True)
        .order_by("-id")
        .values_list("id", flat=True)[: max(1, posts // 4)]
    )
    calls = [("post", pk) for pk, _ in in_places] + [("post", pk) for pk in on_profiles]
    calls += [("community", cid) for cid in dict.fromkeys(cid for _, cid in in_places)]
    rows = []
    for count in people:
        ids = list(User.objects.order_by("id").values_list("id", flat=True)[:count])
        times: list[float] = []
        let_through = 0
        for _ in range(rounds):
            for kind, pk in calls:
                started = time.perf_counter()
                allowed = registry.allowed(kind, pk, ids)
                times.append((time.perf_counter() - started) * 1000)
                let_through += len(allowed)
        times.sort()
        rows.append(
            {
                "people": len(ids),
                "calls": len(times),
                "p50_ms": statistics.median(times) if times else None,
                "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))] if times else None,
                "mean_ms": statistics.mean(times) if times else None,
                "let_through": let_through // max(1, rounds),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--people", type=int, nargs="+", default=[700], help="connected people per call")
    parser.add_argument("--posts", type=int, default=40, help="community posts (and a quarter as many profile posts)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = database_url(args.database_url)
    setup_django(url)

    from django.db import connection

    print(f"Guard calls on {connection.vendor} ({db_name(url)}), {platform.processor() or platform.machine()}")
    for row in measure(people=args.people, posts=args.posts, rounds=args.rounds):
        print(
            f"  {row['people']:>6} people: p50 {row['p50_ms']:.2f} ms, p95 {row['p95_ms']:.2f} ms, "
            f"mean {row['mean_ms']:.2f} ms over {row['calls']} calls ({row['let_through']} let through per round)"
        )


if __name__ == "__main__":
    main()
