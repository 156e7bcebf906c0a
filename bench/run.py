"""Measure Townhall's main paths on a generated organisation.

    python -m bench.run                       # var/bench SQLite (generated first if empty)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/townhall_bench python -m bench.run
    python -m bench.run --size smoke          # CI smoke: small dataset, few iterations (< 2 min)
    python -m bench.run --http http://127.0.0.1:8000   # also over HTTP against `townhall serve`

In-process (server-side time): every request goes through Django's full handler and
middleware with the test Client, signed in as a random member (seeded), after a
warm-up; p50/p95/p99 over the iterations, queries per request counted on a separate
pass (CaptureQueriesContext) so counting never slows the timed requests.

Scenarios: home feed first and next page (Latest and Top), a community feed, post
create (a mention and a topic: notifications and real-time events on commit), comment
create, reaction, the notification list (page and API), search (bench/search.py's
scenarios: single word, two words, phrase, grouped page, suggestions; a full reindex
first when the index does not cover the dataset) and SSE delivery (bench/sse.py: N
held streams on one `townhall serve` process, post create -> event on every stream).
Floors in the same run: the database floor (the SQL the home page ran, replayed raw
on the same connection) and the framework floor (an empty view through the same
middleware), reported as ratios. One table on stdout (p50/p95/p99, req/s, queries
per request, peak memory of the process: this one, or the server for SSE) and
var/bench/results-<vendor>-<db>-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

from bench.generate import (
    BENCH_DIR,
    SIZES,
    database_url,
    dataset_path,
    db_name,
    generate,
    preset_url,
    reset_database,
    setup_django,
)

CURSOR = re.compile(r"(?:[?&;])cursor=([A-Za-z0-9_\-]+)")


@dataclass
class Result:
    name: str
    times_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    status: set[int] = field(default_factory=set)
    note: str = ""
    # Peak resident memory of the process that did the work, in MB: this process
    # (ru_maxrss, so far) for in-process scenarios, the server for SSE delivery.
    peak_mb: float | None = None
    # Throughput when it is not one request after another (SSE: deliveries per second).
    per_s: float | None = None

    def pct(self, p: float) -> float | None:
        if not self.times_ms:
            return None
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    def summary(self) -> dict[str, Any]:
        mean = sum(self.times_ms) / len(self.times_ms) if self.times_ms else None
        return {
            "name": self.name,
            "n": len(self.times_ms),
            "p50_ms": _r(self.pct(50)),
            "p95_ms": _r(self.pct(95)),
            "p99_ms": _r(self.pct(99)),
            "mean_ms": _r(mean),
            "req_per_s": self.per_s if self.per_s is not None else (round(1000 / mean, 1) if mean else None),
            "queries_min": min(self.queries) if self.queries else None,
            "queries_max": max(self.queries) if self.queries else None,
            "status": sorted(self.status),
            "peak_rss_mb": None if self.peak_mb is None else round(self.peak_mb),
            "note": self.note,
        }


def reset_peak_rss() -> bool:
    """Start a new peak: Linux resets VmHWM to the current RSS on "5" in clear_refs.
    False where that is not possible (the peak is then the process's since start)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's peak resident memory since reset_peak_rss() (VmHWM), else since
    it started (ru_maxrss, KB on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


class Bench:
    def __init__(
        self,
        *,
        iterations: int,
        warmup: int,
        members: int,
        seed: int,
        writes: bool,
        verbose: bool = False,
        notifications: int = 30,
    ) -> None:
        from django.conf import settings
        from django.db import connection
        from django.test import Client, override_settings

        self.connection = connection
        self.iterations = iterations
        self.warmup = warmup
        self.rng = Random(seed)
        self.writes = writes
        self.verbose = verbose
        self.notifications = notifications  # seeded per member when they have fewer
        self._override = override_settings(ROOT_URLCONF="bench.urls", DEBUG=False)
        self._override.enable()
        assert not settings.DEBUG
        self.results: list[Result] = []
        self.members = self._members(members)
        self.clients: list[Any] = []
        for user in self.members:
            client = Client()
            client.force_login(user)
            self.clients.append(client)

    def close(self) -> None:
        self._override.disable()

    def _members(self, count: int) -> list[Any]:
        from townhall.accounts.models import Role, User

        ids = list(
            User.objects.filter(is_active=True, role=Role.MEMBER, guidelines_version_accepted__gte=1)
            .order_by("id")
            .values_list("id", flat=True)
        )
        chosen = sorted(self.rng.sample(ids, k=min(count, len(ids))))
        by_id = User.objects.in_bulk(chosen)
        return [by_id[i] for i in chosen]

    # --- measuring ---------------------------------------------------------------

    def measure(
        self, name: str, request: Callable[[int], Any], *, count_queries: bool = True, note: str = ""
    ) -> Result:
        """Run `request(member_index)` warmup + iterations times over the members."""
        from django.test.utils import CaptureQueriesContext

        result = Result(name, note=note)
        n = len(self.clients)
        reset_peak_rss()
        try:
            for i in range(self.warmup):
                request(i % n)
            for i in range(self.iterations):
                started = time.perf_counter()
                response = request(i % n)
                result.times_ms.append((time.perf_counter() - started) * 1000)
                if response is not None and hasattr(response, "status_code"):
                    result.status.add(response.status_code)
        except Exception as exc:  # one broken scenario must not lose the others' figures
            result.status.add(500)
            result.note = f"{type(exc).__name__}: {exc}"[:300]
            count_queries = False
        if count_queries:
            for i in range(min(n, 10)):
                with CaptureQueriesContext(self.connection) as captured:
                    request(i)
                result.queries.append(len(captured.captured_queries))
        result.peak_mb = peak_rss_mb()
        self.results.append(result)
        self.say(result)
        return result

    def say(self, result: Result) -> None:
        row = result.summary()
        if self.verbose:
            print(
                f"  {row['name']}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, queries {row['queries_max']}",
                flush=True,
            )

    def get(self, index: int, url: str) -> Any:
        return self.clients[index].get(url)

    # --- scenarios -----------------------------------------------------------------

    def run(self) -> None:
        from django.urls import NoReverseMatch, reverse

        from townhall.communities.models import Community, Membership

        home = reverse("feed:home")
        # The next page: the cursor the first page links to, per member and order.
        next_urls: dict[tuple[int, str], str] = {}
        found = {"latest": 0, "top": 0}
        for index in range(len(self.clients)):
            for order in ("latest", "top"):
                body = self.get(index, f"{home}?order={order}").content.decode()
                match = CURSOR.search(body)
                next_urls[(index, order)] = (
                    f"{home}?order={order}&cursor={match.group(1)}" if match else f"{home}?order={order}"
                )
                found[order] += bool(match)
        self.measure("empty view (framework floor)", lambda i: self.get(i, "/__bench__/empty"))
        latest = self.measure("home feed, Latest, first page", lambda i: self.get(i, f"{home}?order=latest"))
        self.measure(
            "home feed, Latest, next page",
            lambda i: self.get(i, next_urls[(i, "latest")]),
            note=f"{found['latest']}/{len(self.clients)} members have a next page",
        )
        self.measure("home feed, Top, first page", lambda i: self.get(i, f"{home}?order=top"))
        self.measure(
            "home feed, Top, next page",
            lambda i: self.get(i, next_urls[(i, "top")]),
            note=f"{found['top']}/{len(self.clients)} members have a next page",
        )
        self.database_floor(home, latest)
        self.queries_by_page_size()

        # A community each member belongs to (not All company, not archived).
        slugs = []
        for user in self.members:
            seat = (
                Membership.objects.filter(
                    user=user, community__is_all_company=False, community__archived_at__isnull=True
                )
                .order_by("-community__member_count")
                .values_list("community__slug", flat=True)
                .first()
            )
            slugs.append(seat or Community.objects.filter(is_all_company=True).values_list("slug", flat=True).first())
        self.measure("community feed, first page", lambda i: self.get(i, f"/c/{slugs[i]}/"))
        try:
            company = reverse("feed:company")
            self.measure("company feed, first page", lambda i: self.get(i, company))
        except NoReverseMatch:
            pass
        if self.writes:
            self.write_scenarios(slugs)
        self.notification_scenarios()

    # --- notifications -----------------------------------------------------------------

    def seed_notifications(self, *, per_member: int = 30) -> int:
        """The generator writes no notifications: give each measured member who has
        fewer than `per_member` some from their own history, through the real service
        (notify(), with `at=` as the demo loader does, no email): comments on their
        newest posts and reactions to them (batched), the older ones read."""
        from django.utils import timezone

        from townhall.notifications.kinds import Kind
        from townhall.notifications.models import Notification
        from townhall.notifications.services import notify
        from townhall.posts.models import Comment, Post
        from townhall.reactions.models import Reaction

        seeded = 0
        for user in self.members:
            if Notification.objects.filter(recipient=user).count() >= per_member:
                continue
            posts = list(
                Post.objects.filter(author=user, deleted_at__isnull=True)
                .order_by("-created_at")
                .values_list("id", flat=True)[:30]
            )
            comments = (
                Comment.objects.filter(post_id__in=posts, deleted_at__isnull=True)
                .exclude(author=user)
                .order_by("-created_at")
                .values_list("id", "author_id", "created_at")[: per_member * 2 // 3]
            )
            for comment_id, author_id, at in comments:
                notify(kind=Kind.REPLY_POST, recipient_ids=[user.pk], actor_id=author_id, target_type="comment",
                       target_id=comment_id, at=at, send_email=False)  # fmt: skip
            reactions = (
                Reaction.objects.filter(target_type="post", target_id__in=posts)
                .exclude(user=user)
                .order_by("created_at")
                .values_list("user_id", "target_id", "created_at")[:per_member]
            )
            for actor_id, post_id, at in reactions:
                notify(kind=Kind.REACTION, recipient_ids=[user.pk], actor_id=actor_id, target_type="post",
                       target_id=post_id, group_key=f"reaction:post:{post_id}", at=at, send_email=False)  # fmt: skip
            newest = list(
                Notification.objects.filter(recipient=user).order_by("-updated_at").values_list("id", flat=True)[:10]
            )
            Notification.objects.filter(recipient=user, read_at__isnull=True).exclude(id__in=newest).update(
                read_at=timezone.now()
            )
            seeded += 1
        return seeded

    def notification_scenarios(self) -> None:
        from django.urls import reverse

        from townhall.notifications.models import Notification

        seeded = self.seed_notifications(per_member=self.notifications)
        counts = [Notification.objects.filter(recipient=user, in_app=True).count() for user in self.members]
        note = (
            f"{min(counts)}-{max(counts)} notifications per member ({seeded} members seeded through notify())"
            if counts
            else ""
        )
        centre = reverse("notifications:centre")
        self.measure("notification list (centre page)", lambda i: self.get(i, centre), note=note)
        self.measure("notification list (API)", lambda i: self.get(i, "/api/v1/notifications"))

    # --- search and real time (the harnesses of bench/search.py and bench/sse.py) ---------

    def search_scenarios(self, *, members: int, queries: int, seed: int) -> dict[str, Any]:
        """bench/search.py's scenarios, in this run's table. Reindexes first when the
        index does not cover the posts (the generator writes past the services)."""
        from bench.search import SearchBench
        from townhall.posts.models import Post
        from townhall.search.index import reindex
        from townhall.search.models import Document

        report: dict[str, Any] = {}
        posts = Post.objects.filter(deleted_at__isnull=True).count()
        if Document.objects.filter(kind="post").count() < 0.9 * posts:
            print(f"Search index: full reindex of {posts:,} posts (first run on this dataset) ...", flush=True)
            started = time.perf_counter()
            by_kind = reindex()
            report = {
                "reindex_seconds": round(time.perf_counter() - started, 1),
                "documents": sum(n for n, _ in by_kind.values()),
            }
            print(f"  {report['documents']:,} documents in {report['reindex_seconds']} s", flush=True)
        search = SearchBench(iterations=self.iterations, warmup=self.warmup, members=members, seed=seed)
        try:
            words = search.run(queries)
        finally:
            search.close()
        for result in search.results:
            result.name = f"search: {result.name}"
        self.results += search.results
        report["sample_queries"] = {key: values[:5] for key, values in words.items()}
        return report

    def queries_by_page_size(self) -> None:
        """Queries for a home page (selectors + cards) at several page sizes: the count
        must not grow with the page size."""
        from django.test.utils import CaptureQueriesContext

        from townhall.feed.selectors import home_feed, hydrate

        self.page_size_queries: dict[int, list[int]] = {}
        for limit in (5, 20, 50):
            counts = []
            for user in self.members[:5]:
                with CaptureQueriesContext(self.connection) as captured:
                    page = home_feed(viewer=user, order="latest", limit=limit)
                    hydrate(viewer=user, posts=page.items)
                counts.append(len(captured.captured_queries))
            self.page_size_queries[limit] = counts
        if self.verbose:
            print(f"  queries for home_feed + hydrate by page size: {self.page_size_queries}", flush=True)

    def database_floor(self, url: str, page: Result) -> None:
        """Replay the SQL the home page ran, raw, on the same connection."""
        from django.test.utils import CaptureQueriesContext

        per_member: list[list[tuple[str, float]]] = []
        for index in range(min(len(self.clients), 10)):
            with CaptureQueriesContext(self.connection) as captured:
                self.get(index, f"{url}?order=latest")
            per_member.append([(q["sql"], float(q["time"])) for q in captured.captured_queries])
        reset_peak_rss()
        floor = Result("home feed, Latest: its SQL replayed raw (database floor)")
        feed_only = Result("home feed, Latest: the feed query alone (UNION of arms)")
        cursor = self.connection.cursor()
        for i in range(self.warmup + self.iterations):
            queries = per_member[i % len(per_member)]
            started = time.perf_counter()
            feed_ms = 0.0
            for sql, _ in queries:
                if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue  # transaction control and the seen-marks write are not the page's reads
                mark = time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                if " UNION " in sql:
                    feed_ms += (time.perf_counter() - mark) * 1000
            if i >= self.warmup:
                floor.times_ms.append((time.perf_counter() - started) * 1000)
                feed_only.times_ms.append(feed_ms)
        cursor.close()
        floor.queries = [len(q) for q in per_member]
        floor.peak_mb = feed_only.peak_mb = peak_rss_mb()
        self.results += [floor, feed_only]
        self.say(floor)
        self.say(feed_only)
        self.slowest_sql = max(per_member[0], key=lambda q: q[1])[0] if per_member and per_member[0] else ""

    def write_scenarios(self, slugs: list[str]) -> None:
        from django.urls import reverse

        from townhall.posts.models import Post

        def first_post(index: int) -> int | None:
            user = self.members[index]
            return (
                Post.objects.filter(community__slug=slugs[index], deleted_at__isnull=True)
                .exclude(author=user)
                .order_by("-created_at")
                .values_list("id", flat=True)
                .first()
            )

        targets = [first_post(i) for i in range(len(self.members))]
        counter = iter(range(10**9))
        htmx = {"HTTP_HX_REQUEST": "true"}  # what the browser sends: the response is the new card
        create = reverse("posts:create")

        def post_create(i: int) -> Any:
            other = self.members[(i + 1) % len(self.members)].email.split("@")[0]
            data = {
                "body": f"Benchmark post {next(counter)} for @{other} #benchmark",
                "destination": f"community:{slugs[i]}",
            }
            return self.clients[i].post(create, data, **htmx)

        self.measure("post create (mention, topic; htmx)", post_create)
        comment_urls = [reverse("posts:comment_add", args=[t]) if t else None for t in targets]
        react_urls = [reverse("posts:react", args=[t]) if t else None for t in targets]

        def comment_create(i: int) -> Any:
            url = comment_urls[i]
            return self.clients[i].post(url, {"body": f"Benchmark comment {next(counter)}"}, **htmx) if url else None

        kinds = ("like", "love", "celebrate", "insightful", "curious", "funny")

        def react(i: int) -> Any:
            url = react_urls[i]
            return self.clients[i].post(url, {"kind": kinds[next(counter) % len(kinds)]}, **htmx) if url else None

        self.measure("comment create (htmx)", comment_create)
        self.measure("reaction set/change (htmx)", react)

    def report(self) -> list[dict[str, Any]]:
        rows = [r.summary() for r in self.results]
        by = {r["name"]: r for r in rows}
        empty = by.get("empty view (framework floor)", {}).get("p50_ms")
        page = by.get("home feed, Latest, first page", {}).get("p50_ms")
        floor = by.get("home feed, Latest: its SQL replayed raw (database floor)", {}).get("p50_ms")
        for row in rows:
            row["x_framework_floor"] = round(row["p50_ms"] / empty, 1) if empty and row["p50_ms"] else None
        self.ratios = {
            "home_latest_p50_over_database_floor_p50": round(page / floor, 2) if page and floor else None,
            "home_latest_p50_over_framework_floor_p50": round(page / empty, 2) if page and empty else None,
        }
        return rows


def sse_result(*, streams: int, posts: int, url: str, redis: str) -> tuple[Result, dict[str, Any]]:
    """bench/sse.py's delivery run (its own organisation, a `townhall serve` process)
    as one row: post create -> event received on every stream. SQLite runs use a
    temporary SQLite file; PostgreSQL runs a database of their own beside the
    dataset's (<name>_sse, reset each time)."""
    from bench.sse import delivery

    sse_url = ""
    if not url.startswith("sqlite"):
        sse_url = preset_url(url, "sse")
        reset_database(sse_url)
    broker = "Redis" if redis else "database"
    name = f"SSE delivery: post create -> event, {streams} streams ({broker} broker)"
    result = Result(name)
    try:
        figures = delivery(streams, posts=posts, database_url=sse_url, redis=redis)
    except Exception as exc:  # the table keeps the other scenarios' figures
        result.status.add(500)
        result.note = f"{type(exc).__name__}: {exc}"[:300]
        return result, {}
    result.times_ms = figures.pop("latencies_ms")
    result.peak_mb = figures["server_peak_rss_mb"]
    result.per_s = figures["deliveries_per_s"]
    result.status.add(200 if figures["connected"] == streams and not figures["missed"] else 599)
    result.note = (
        f"{figures['connected']}/{streams} streams connected in {figures['connect_seconds']} s, "
        f"{figures['posts']} posts, {figures['missed']} missed; {figures['kb_per_connection']} KB per stream; "
        "req/s = streams served per second while one event fans out; peak = the server process"
    )
    return result, figures


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    header = f"{'scenario':66} {'p50':>8} {'p95':>8} {'p99':>8} {'req/s':>8} {'queries':>9} {'peak MB':>8} status"
    print(header)
    print("-" * len(header))
    for row in rows:
        q = "" if row["queries_min"] is None else (
            str(row["queries_min"]) if row["queries_min"] == row["queries_max"] else f"{row['queries_min']}-{row['queries_max']}"
        )  # fmt: skip

        def f(v: float | None) -> str:
            return "" if v is None else f"{v:.1f}"

        peak = "" if row.get("peak_rss_mb") is None else str(row["peak_rss_mb"])
        print(f"{row['name'][:66]:66} {f(row['p50_ms']):>8} {f(row['p95_ms']):>8} {f(row['p99_ms']):>8} "
              f"{f(row['req_per_s']):>8} {q:>9} {peak:>8} {','.join(map(str, row['status']))}")  # fmt: skip
    for row in rows:
        if row.get("note"):
            print(f"  note, {row['name']}: {row['note']}")


# --- over HTTP ---------------------------------------------------------------------


def http_run(base: str, emails: list[str], password: str, iterations: int, warmup: int) -> list[dict[str, Any]]:
    """GET the read scenarios from a running server, signed in through /signin."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    openers = []
    for email in emails:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/signin").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1) if token else "", "email": email, "password": password}
        ).encode()
        request = urllib.request.Request(f"{base}/signin", data=data, headers={"Referer": f"{base}/signin"})  # noqa: S310
        with opener.open(request) as response:
            response.read()
            if "/signin" in response.geturl():
                raise SystemExit(f"Could not sign in as {email} over HTTP (wrong demo password?).")
        openers.append(opener)
    results = []
    for name, path in (
        ("HTTP: healthz (framework floor)", "/healthz"),
        ("HTTP: home feed, Latest, first page", "/?order=latest"),
        ("HTTP: home feed, Top, first page", "/?order=top"),
    ):
        result = Result(name)
        for i in range(warmup + iterations):
            opener = openers[i % len(openers)]
            started = time.perf_counter()
            with opener.open(f"{base}{path}") as response:
                response.read()
                status = response.status
            if i >= warmup:
                result.times_ms.append((time.perf_counter() - started) * 1000)
                result.status.add(status)
        results.append(result.summary())
    return results


# --- entry point -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", choices=sorted(SIZES), help="generate this preset first (smoke: own database, short run)"
    )
    parser.add_argument("--database-url")
    parser.add_argument("--iterations", type=int, help="timed requests per scenario (default 200; smoke 20)")
    parser.add_argument("--warmup", type=int, help="untimed requests first (default 20; smoke 3)")
    parser.add_argument("--members", type=int, default=50, help="random members to sign in as (default 50)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-writes", action="store_true", help="skip post/comment/reaction create")
    parser.add_argument("--no-search", action="store_true", help="skip the search scenarios (and the reindex)")
    parser.add_argument("--search-queries", type=int, help="distinct queries per search scenario (100; smoke 20)")
    parser.add_argument(
        "--sse-streams", type=int, help="held streams for SSE delivery (default 1,000; smoke 20; 0 skips it)"
    )
    parser.add_argument("--sse-posts", type=int, help="posts delivered to the streams (default 5; smoke 2)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", ""),
        help="REDIS_URL for the SSE server (default: $REDIS_URL; empty: the database broker)",
    )
    parser.add_argument("--http", metavar="URL", help="also measure over HTTP against a running townhall serve")
    parser.add_argument("--out", type=Path, help="JSON file (default var/bench/results-<db>-<date>.json)")
    args = parser.parse_args(argv)
    smoke = args.size == "smoke"
    url = database_url(args.database_url)
    if args.size and args.size != "full":
        # A preset other than full lives in its own database beside the configured one,
        # rebuilt on every run: the full dataset is never touched by a smoke run.
        url = preset_url(url, args.size)
        reset_database(url)
    setup_django(url)
    import logging

    from django.core.management import call_command
    from django.db import connection

    logging.getLogger("django.request").setLevel(logging.ERROR)  # expected 404s are not news

    from townhall.accounts.models import User

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    from townhall.config.runtime import tune_garbage_collector

    tune_garbage_collector()  # as `townhall serve` does at start-up
    dataset: dict[str, Any] = {}
    if not User.objects.exists():
        preset = args.size or "full"
        print(f"Generating the {preset} dataset into {db_name(url)} ...", flush=True)
        dataset = generate(SIZES[preset], progress=lambda m: print(f"  {m}", flush=True))
        dataset.pop("password", None)
        dataset_path(url).write_text(json.dumps(dataset, indent=2) + "\n")
    elif dataset_path(url).exists():
        dataset = json.loads(dataset_path(url).read_text())
    iterations = args.iterations or (20 if smoke else 200)
    warmup = args.warmup if args.warmup is not None else (3 if smoke else 20)
    members = min(args.members, 10) if smoke else args.members
    bench = Bench(
        iterations=iterations, warmup=warmup, members=members, seed=args.seed, writes=not args.no_writes, verbose=True
    )
    started = time.perf_counter()
    search_report: dict[str, Any] = {}
    try:
        bench.run()
        if not args.no_search:
            search_report = bench.search_scenarios(
                members=min(members, 20), queries=args.search_queries or (20 if smoke else 100), seed=args.seed
            )
    finally:
        bench.close()
    sse_figures: dict[str, Any] = {}
    streams = args.sse_streams if args.sse_streams is not None else (20 if smoke else 1000)
    if streams:
        print(f"SSE delivery: {streams} streams on one `townhall serve` process ...", flush=True)
        sse_row, sse_figures = sse_result(
            streams=streams, posts=args.sse_posts or (2 if smoke else 5), url=url, redis=args.redis_url
        )
        bench.results.append(sse_row)
    rows = bench.report()
    vendor = connection.vendor
    title = (
        f"Townhall bench on {vendor} ({db_name(url)}): {User.objects.count():,} people; "
        f"{iterations} timed requests per scenario after {warmup} warm-up, {len(bench.members)} members; ms"
    )
    print_table(rows, title)
    print(f"home Latest p50 / database floor p50: {bench.ratios['home_latest_p50_over_database_floor_p50']}x; "
          f"/ framework floor p50: {bench.ratios['home_latest_p50_over_framework_floor_p50']}x")  # fmt: skip
    http_rows: list[dict[str, Any]] = []
    if args.http:
        from townhall.directory.demo import saved_password

        password = saved_password(BENCH_DIR / "demo-credentials.txt") or ""
        http_rows = http_run(args.http.rstrip("/"), [m.email for m in bench.members[:10]], password, iterations, warmup)
        print_table(http_rows, f"Over HTTP against {args.http} (client-side time, ms)")
    # The measuring process's peak over the scenarios (each resets it; generation excluded).
    peaks = [r.peak_mb for r in bench.results if r.peak_mb is not None and not r.name.startswith("SSE")]
    peak_mb = max(peaks) if peaks else peak_rss_mb()
    server_peak = f"; SSE server process {sse_figures['server_peak_rss_mb']:.0f} MB" if sse_figures else ""
    print(f"peak memory: this process {peak_mb:.0f} MB over the scenarios{server_peak}; "
          f"measured in {time.perf_counter() - started:.0f} s")  # fmt: skip
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "vendor": vendor,
        "database": db_name(url),
        "machine": machine(),
        "dataset": dataset,
        "iterations": iterations,
        "warmup": warmup,
        "members": len(bench.members),
        "results": rows,
        "ratios": bench.ratios,
        "http": http_rows,
        "peak_rss_mb": round(peak_mb),
        "slowest_home_query": getattr(bench, "slowest_sql", ""),
        "search": search_report,
        "sse": sse_figures,
        "queries_by_page_size": getattr(bench, "page_size_queries", {}),
    }
    label = "smoke" if smoke else Path(db_name(url)).stem
    out = args.out or BENCH_DIR / f"results-{vendor}-{label}-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Results in {out}")
    bad = [r["name"] for r in rows if any(s >= 500 for s in r["status"])]
    if bad:
        print(f"Server errors in: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
