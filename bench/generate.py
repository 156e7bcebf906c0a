"""Generate a benchmark organisation straight into a database.

    python -m bench.generate --size full --reset                   # SQLite, var/bench/townhall-bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/townhall_bench \\
        python -m bench.generate --size full --reset               # PostgreSQL (created if missing)
    python -m bench.generate --people 2000 --posts 50000 ...       # any size

The database comes from --database-url, else BENCH_DATABASE_URL, else DATABASE_URL,
else the SQLite file under var/bench/ (never the developer's var/townhall.sqlite3,
and --reset refuses any database whose name does not contain "bench").

People come from the demo organisation builder; communities, memberships, follows,
posts, comments and reactions from townhall.demo.content with a pool of pre-rendered
bodies, written in chunks of 20,000 posts per transaction: executemany on SQLite (with
synchronous=OFF while loading), COPY on PostgreSQL (FK triggers off while loading:
the ids are consistent by construction). Counters and hot_score are filled as the
services would; ANALYZE runs at the end so the planners know the data.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
# Datasets' figures, credentials and results; BENCH_DIR moves them (the tests' smoke runs).
BENCH_DIR = Path(os.environ.get("BENCH_DIR") or REPO / "var" / "bench")
DEFAULT_SQLITE = BENCH_DIR / "townhall-bench.sqlite3"
DEVELOPER_DB = REPO / "var" / "townhall.sqlite3"


@dataclass(frozen=True)
class Size:
    people: int
    communities: int
    posts: int
    comments: int
    reactions: int
    days: int = 365
    topics: int = 300


SIZES = {
    "smoke": Size(people=200, communities=30, posts=5_000, comments=15_000, reactions=25_000, days=60, topics=60),
    "100k": Size(people=10_000, communities=500, posts=100_000, comments=300_000, reactions=500_000),
    "full": Size(people=10_000, communities=500, posts=1_000_000, comments=3_000_000, reactions=5_000_000),
}


def database_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    if not url:
        url = f"sqlite:///{DEFAULT_SQLITE}"
    if url.startswith("sqlite") and sqlite_path(url).resolve() == DEVELOPER_DB.resolve():
        raise SystemExit("Refusing to use the developer database var/townhall.sqlite3 for benchmarks.")
    return url


def sqlite_path(url: str) -> Path:
    return Path("/" + urlsplit(url).path.lstrip("/"))


def db_name(url: str) -> str:
    return str(sqlite_path(url)) if url.startswith("sqlite") else urlsplit(url).path.lstrip("/")


def preset_url(url: str, preset: str) -> str:
    """The database for `preset` beside the one in `url`: townhall-bench-smoke.sqlite3,
    townhall_bench_smoke."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        return f"sqlite:///{path.with_name(f'{path.stem}-{preset}{path.suffix}')}"
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path}_{preset}").geturl()


def dataset_path(url: str) -> Path:
    """Where the generator leaves the figures of the dataset in `url` (run.py reads them)."""
    return BENCH_DIR / f"dataset-{Path(db_name(url)).stem}.json"


def setup_django(url: str) -> None:
    """Point Django at the benchmark database (call before anything imports models)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.config.settings")
    import django

    django.setup()


def reset_database(url: str) -> None:
    """Start from an empty, migrated database. Only for databases named *bench*."""
    if "bench" not in db_name(url):
        raise SystemExit(f"--reset only works on a database whose name contains 'bench' (got {db_name(url)!r}).")
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        name = db_name(url)
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def generate(
    size: Size, *, seed: int = 7, credentials: Path | None = None, progress: Any = None, analyze: bool = True
) -> dict[str, Any]:
    """Load `size` into the configured (migrated, empty) database; returns the figures."""
    from django.db import connection

    from townhall.demo.content import Plan, load_content
    from townhall.directory.demo import build_demo
    from townhall.search.backends import backend

    say = progress or (lambda message: None)
    started = time.perf_counter()
    people = build_demo(people=size.people, seed=seed, credentials=credentials or BENCH_DIR / "demo-credentials.txt")
    say(f"{people.people:,} people in {people.seconds:.1f} s")
    plan = Plan(
        communities=size.communities,
        posts=size.posts,
        comments=size.comments,
        reactions=size.reactions,
        days=size.days,
        topics=size.topics,
        text_pool=3_000,
        chunk=20_000,
    )
    content = load_content(plan=plan, seed=seed, progress=say)
    analyzed = 0.0
    if analyze:
        mark = time.perf_counter()
        with connection.cursor() as cursor:
            # PostgreSQL: VACUUM too, as autovacuum would have by the time anyone
            # reads: without a visibility map the feed's index-only scans visit the heap.
            cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
        backend().analyzed()  # the search index is still empty here (see backends/sqlite.py)
        analyzed = time.perf_counter() - mark
    total = time.perf_counter() - started
    rows = content.rows + people.people * 3
    return {
        "vendor": connection.vendor,
        "size": dataclasses.asdict(size),
        "seed": seed,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "people": people.people,
        "communities": content.communities,
        "memberships": content.memberships,
        "follows": content.follows,
        "posts": content.posts,
        "comments": content.comments,
        "reactions": content.reactions,
        "rows": rows,
        "seconds": round(total, 1),
        "content_seconds": round(content.seconds, 1),
        "analyze_seconds": round(analyzed, 1),
        "rows_per_second": round(content.rows / content.seconds) if content.seconds else None,
        "password": people.password,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help="a named preset (default full)")
    for name in ("people", "communities", "posts", "comments", "reactions", "days"):
        parser.add_argument(f"--{name}", type=int, help=f"override the preset's {name}")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: BENCH_DATABASE_URL, DATABASE_URL, var/bench SQLite")
    parser.add_argument("--reset", action="store_true", help="drop and recreate the (bench) database first")
    args = parser.parse_args(argv)
    size = dataclasses.replace(
        SIZES[args.size],
        **{
            k: getattr(args, k)
            for k in ("people", "communities", "posts", "comments", "reactions", "days")
            if getattr(args, k)
        },
    )
    url = database_url(args.database_url)
    if args.reset:
        reset_database(url)
    setup_django(url)
    from django.core.management import call_command

    from townhall.accounts.models import User

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    if User.objects.exists():
        raise SystemExit("The benchmark database already has people: use --reset to start again.")
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", flush=True)

    figures = generate(size, seed=args.seed, progress=progress)
    figures["preset"] = args.size
    figures["database"] = db_name(url)
    path = dataset_path(url)
    path.write_text(json.dumps({k: v for k, v in figures.items() if k != "password"}, indent=2) + "\n")
    print(
        f"Generated on {figures['vendor']}: {figures['people']:,} people, {figures['communities']:,} communities, "
        f"{figures['memberships']:,} memberships, {figures['posts']:,} posts, {figures['comments']:,} comments, "
        f"{figures['reactions']:,} reactions in {figures['seconds']:.0f} s "
        f"({figures['rows_per_second']:,} rows/s while loading content; ANALYZE {figures['analyze_seconds']:.0f} s)."
    )
    print(f"Figures in {path}")


if __name__ == "__main__":
    sys.exit(main())
