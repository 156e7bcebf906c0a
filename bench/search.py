"""Measure search on a generated organisation (separate from bench/run.py).

    python -m bench.search                                   # var/bench SQLite (the full dataset)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/townhall_bench python -m bench.search
    python -m bench.search --database-url sqlite:///var/bench/search-smoke.sqlite3   # generated with bench.generate
    python -m bench.search --size smoke                      # (re)build the smoke preset beside the configured db

First a full `townhall reindex` (timed: the generator writes in bulk, past the services
that keep the index current; `--no-reindex` keeps an index that is already there).
Then, signed in as random members (seeded) through Django's full handler (test Client,
server-side time) after a warm-up: the API with single-word, multi-word and phrase
queries, the search page (grouped results) and the header's suggestions, each
p50/p95/p99 over `--iterations`, with queries per request. Query words are drawn from
the indexed posts themselves (a phrase: two words adjacent in a post); suggestion prefixes (3-5 letters) from people's and
communities' names. Results: a table on stdout and var/bench/search-<vendor>-<db>-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any
from urllib.parse import urlencode

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
from bench.run import Result, machine, peak_rss_mb, print_table, reset_peak_rss

WORD = re.compile(r"[^\W\d_]{5,}", re.UNICODE)
# Two words of 4+ letters with only a space between them (a phrase found in the text).
ADJACENT = re.compile(r"(?=\b([^\W\d_]{4,}) ([^\W\d_]{4,})\b)", re.UNICODE)
STOP = {"about", "there", "their", "which", "would", "could", "should", "these", "those", "where", "https"}


class SearchBench:
    def __init__(self, *, iterations: int, warmup: int, members: int, seed: int) -> None:
        from django.db import connection
        from django.test import Client, override_settings

        from townhall.accounts.models import Role, User

        self.connection = connection
        self.iterations = iterations
        self.warmup = warmup
        self.rng = Random(seed)
        self._override = override_settings(DEBUG=False)
        self._override.enable()
        ids = list(User.objects.filter(is_active=True, role=Role.MEMBER).order_by("id").values_list("id", flat=True))
        chosen = sorted(self.rng.sample(ids, k=min(members, len(ids))))
        users = User.objects.in_bulk(chosen)
        self.clients = []
        for user_id in chosen:
            client = Client()
            client.force_login(users[user_id])
            self.clients.append(client)
        self.results: list[Result] = []

    def close(self) -> None:
        self._override.disable()

    def queries(self, count: int) -> dict[str, list[str]]:
        """Single words, word pairs and two-word phrases from indexed posts, and name prefixes."""
        from townhall.search.models import Document

        top = Document.objects.filter(kind="post").order_by("-id").values_list("id", flat=True).first() or 0
        bodies: list[str] = []
        for _ in range(count * 3):
            row = Document.objects.filter(kind="post", id__gte=self.rng.randint(0, top)).values_list("body").first()
            if row and row[0]:
                bodies.append(row[0])
        single: list[str] = []
        multi: list[str] = []
        phrase: list[str] = []
        for body in bodies:
            words = [w.lower() for w in WORD.findall(body) if w.lower() not in STOP]
            if not words:
                continue
            single.append(self.rng.choice(words))
            if len(words) >= 2:
                a, b = self.rng.sample(words, 2)
                multi.append(f"{a} {b}")
            # A phrase: two words next to each other in the text (taking them from
            # `words`, which skips short words, made most "phrases" absent from it).
            pairs = [(x.lower(), y.lower()) for x, y in ADJACENT.findall(body) if y.lower() not in STOP]
            if pairs:
                x, y = self.rng.choice(pairs)
                phrase.append(f'"{x} {y}"')
        names = list(
            Document.objects.filter(kind__in=("person", "community"))
            .order_by("?")
            .values_list("name", flat=True)[: count * 2]
        )
        prefixes = [name.split()[-1][: self.rng.randint(3, 5)] for name in names if name.split()]
        prefixes = [p for p in prefixes if len(p) >= 3]
        return {
            "single": single[:count] or ["meeting"],
            "multi": multi[:count] or ["team meeting"],
            "phrase": phrase[:count] or ['"team meeting"'],
            "prefix": prefixes[:count] or ["ann"],
        }

    def measure(self, name: str, urls: list[str]) -> Result:
        from django.test.utils import CaptureQueriesContext

        result = Result(name)
        n = len(self.clients)
        reset_peak_rss()

        def request(i: int) -> Any:
            return self.clients[i % n].get(urls[i % len(urls)])

        try:
            for i in range(self.warmup):
                request(i)
            for i in range(self.iterations):
                started = time.perf_counter()
                response = request(self.warmup + i)
                result.times_ms.append((time.perf_counter() - started) * 1000)
                result.status.add(response.status_code)
            for i in range(min(n, 5)):
                with CaptureQueriesContext(self.connection) as captured:
                    request(i)
                result.queries.append(len(captured.captured_queries))
        except Exception as exc:  # one broken scenario must not lose the others' figures
            result.status.add(500)
            result.note = f"{type(exc).__name__}: {exc}"[:300]
        result.peak_mb = peak_rss_mb()
        self.results.append(result)
        row = result.summary()
        print(f"  {name}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, p99 {row['p99_ms']} ms", flush=True)
        return result

    def run(self, count: int) -> dict[str, list[str]]:
        words = self.queries(count)

        def api(query: str) -> str:
            return "/api/v1/search?" + urlencode({"q": query})

        scenarios: list[tuple[str, Callable[[str], str], str]] = [
            ("API search, single word", api, "single"),
            ("API search, two words", api, "multi"),
            ('API search, "phrase"', api, "phrase"),
            ("search page, single word (grouped)", lambda q: "/search/?" + urlencode({"q": q}), "single"),
            ("API search, single word, newest first", lambda q: api(q) + "&sort=newest", "single"),
            ("header suggestions (HTML)", lambda q: "/search/suggest?" + urlencode({"q": q}), "prefix"),
            ("API suggestions", lambda q: "/api/v1/search/suggest?" + urlencode({"q": q}), "prefix"),
        ]
        for name, url, key in scenarios:
            self.measure(name, [url(q) for q in words[key]])
        return words


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), help="(re)build this preset in its own database first")
    parser.add_argument("--database-url")
    parser.add_argument("--iterations", type=int, default=200, help="timed requests per scenario (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    parser.add_argument("--members", type=int, default=20, help="random members to search as (default 20)")
    parser.add_argument("--queries", type=int, default=100, help="distinct queries per scenario (default 100)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-reindex", action="store_true", help="keep the index if it has documents")
    parser.add_argument("--out", type=Path, help="JSON file (default var/bench/search-<vendor>-<db>-<date>.json)")
    args = parser.parse_args(argv)
    url = database_url(args.database_url)
    if args.size and args.size != "full":
        url = preset_url(url, args.size)
        reset_database(url)
    setup_django(url)
    import logging

    from django.core.management import call_command
    from django.db import connection

    logging.getLogger("django.request").setLevel(logging.ERROR)
    from townhall.accounts.models import User
    from townhall.posts.models import Post
    from townhall.search.index import reindex
    from townhall.search.models import Document

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    if not User.objects.exists():
        preset = args.size or "full"
        print(f"Generating the {preset} dataset into {db_name(url)} ...", flush=True)
        dataset = generate(SIZES[preset], progress=lambda m: print(f"  {m}", flush=True))
        dataset.pop("password", None)
        dataset_path(url).write_text(json.dumps(dataset, indent=2) + "\n")
    reindex_report: dict[str, Any] = {}
    if not (args.no_reindex and Document.objects.exists()):
        print("Full reindex ...", flush=True)
        started = time.perf_counter()
        by_kind = reindex()
        seconds = time.perf_counter() - started
        reindex_report = {
            "seconds": round(seconds, 1),
            "by_kind": {kind: {"documents": n, "seconds": round(s, 1)} for kind, (n, s) in by_kind.items()},
        }
        print(f"  {sum(n for n, _ in by_kind.values()):,} documents in {seconds:.1f} s", flush=True)
    posts = Post.objects.count()
    documents = Document.objects.count()
    bench = SearchBench(iterations=args.iterations, warmup=args.warmup, members=args.members, seed=args.seed)
    started = time.perf_counter()
    try:
        words = bench.run(args.queries)
    finally:
        bench.close()
    rows = [result.summary() for result in bench.results]
    vendor = connection.vendor
    print_table(
        rows,
        f"Search on {vendor} ({db_name(url)}): {posts:,} posts, {documents:,} search documents; "
        f"{args.iterations} timed requests per scenario after {args.warmup} warm-up, "
        f"{len(bench.clients)} members; ms",
    )
    if reindex_report:
        print(f"full reindex: {reindex_report['seconds']} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB; measured in {time.perf_counter() - started:.0f} s")
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "vendor": vendor,
        "database": db_name(url),
        "machine": machine(),
        "posts": posts,
        "documents": documents,
        "reindex": reindex_report,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "members": len(bench.clients),
        "results": rows,
        "sample_queries": {key: values[:10] for key, values in words.items()},
        "peak_rss_mb": round(peak_mb),
    }
    label = Path(db_name(url)).stem
    out = args.out or BENCH_DIR / f"search-{vendor}-{label}-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
