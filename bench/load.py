"""Load test: ramp simulated members against a real `townhall serve` until a threshold
is crossed (issue 6), and report the number of members held.

    .venv/bin/python -m bench.load                                   # SQLite bench dataset, 1 process
    .venv/bin/python -m bench.load --database-url postgres://postgres@127.0.0.1:5432/townhall_bench \\
        --redis-url redis://127.0.0.1:6379/14 --processes 2
    .venv/bin/python -m bench.load --size smoke --start 5 --max-members 5 --max-seconds 10   # CI-sized

Steps: pick `--max-members` active members of the dataset and sign each in (a real
session through django.contrib.auth, plus a CSRF token); start `townhall serve` on a
free loopback port (its task worker included) against the same database; run locust
headless (bench/locustfile.py) with a geometric ramp (`--start` members, x`--factor`
every `--step-seconds`), each member holding an SSE stream (`--no-sse` leaves them
out), until the first step that crosses a threshold or `--max-seconds` (60 by
default); stop the server; print one row per step and the members held, and write
var/bench/load-<vendor>-<db>-<date>.json. `--size smoke` (or 100k) first rebuilds that
preset in a database of its own beside the configured one (…-bench-load_smoke).

The mix writes (15 % reactions and comments, 5 % posts) into the dataset, so use a
benchmark database (its name must contain "bench", or pass --allow-writes). Locust and
the server share this machine's cores: the figures are for both on one host.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import BENCH_DIR, SIZES, database_url, db_name, preset_url, setup_django
from bench.sse import raise_file_limit

ROOT = Path(__file__).resolve().parents[1]
TOWNHALL = str(Path(sys.executable).with_name("townhall"))
LOCUST = str(Path(sys.executable).with_name("locust"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_members(url: str, count: int, seed: int) -> list[dict[str, object]]:
    """Sign `count` members in (sessions stored in the database the server reads)."""
    setup_django(url)
    from random import Random

    from django.conf import settings
    from django.db import connections
    from django.test import Client

    from townhall.accounts.models import Role, User
    from townhall.communities.models import Membership

    ids = list(
        User.objects.filter(is_active=True, role=Role.MEMBER, guidelines_version_accepted__gte=1)
        .order_by("id")
        .values_list("id", flat=True)
    )
    chosen = sorted(Random(seed).sample(ids, k=min(count, len(ids))))
    users = User.objects.in_bulk(chosen)
    seats: dict[int, list[tuple[str, bool]]] = {}
    for user_id, slug, archived in Membership.objects.filter(user_id__in=chosen).values_list(
        "user_id", "community__slug", "community__archived_at"
    ):
        seats.setdefault(user_id, []).append((slug, archived is None))
    alphabet = string.ascii_letters + string.digits
    members = []
    for user_id in chosen:
        client = Client()
        client.force_login(users[user_id])
        mine = seats.get(user_id, [])
        members.append(
            {
                "id": user_id,
                "session_cookie": settings.SESSION_COOKIE_NAME,
                "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "csrf_cookie": settings.CSRF_COOKIE_NAME,
                "csrf": "".join(secrets.choice(alphabet) for _ in range(32)),
                "communities": [slug for slug, _ in mine][:8],
                "post_in": [slug for slug, open_ in mine if open_][:8],
            }
        )
    connections.close_all()
    return members


def wait_ready(port: int, server: subprocess.Popen[bytes], seconds: float = 90) -> None:
    import http.client

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("townhall serve exited before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("townhall serve did not become ready")


# Mattermost rates a 2-vCPU node for 200 concurrent users (issue 6) with load-test-ng,
# whose simulated users (SimulController) idle between actions for a uniform draw in
# [MinIdleTimeMs, 2 * AvgIdleTimeMs - MinIdleTimeMs): 1 s minimum, 20 s mean by default.
THINK_PRESETS = {"mattermost": "1-39"}


def think_range(value: str, parser: argparse.ArgumentParser) -> tuple[float, float]:
    """--think as (min, max) seconds; a clear error for anything else."""
    low, _, high = THINK_PRESETS.get(value, value).partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        parser.error(f"--think: MIN-MAX in seconds or one of {', '.join(THINK_PRESETS)} (got {value!r})")
    if not 0 <= bounds[0] <= bounds[1]:
        parser.error(f"--think: need 0 <= MIN <= MAX (got {value!r})")
    return bounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: BENCH_DATABASE_URL, DATABASE_URL, var/bench SQLite")
    parser.add_argument(
        "--size", choices=sorted(SIZES), help="a preset other than full: (re)generated in its own database first"
    )
    parser.add_argument("--no-sse", action="store_true", help="members do not hold an SSE stream")
    parser.add_argument("--no-migrate", action="store_true", help="the database was just generated: skip migrate")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the server (cache, real-time broker)")
    parser.add_argument("--processes", type=int, default=1, help="server processes (townhall serve --workers)")
    parser.add_argument("--threads", type=int, default=8, help="threads per server process")
    parser.add_argument("--start", type=int, default=10, help="members in the first step")
    parser.add_argument("--factor", type=float, default=2.0, help="members multiplied by this each step")
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="the ramp stops by itself after this")
    parser.add_argument("--max-members", type=int, default=1000)
    parser.add_argument("--warmup-seconds", type=float, default=5.0, help="at --start members, not judged")
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=0.0,
        help="after each step's new members arrive, not judged for latency (server errors still count)",
    )
    parser.add_argument(
        "--arrival-seconds",
        type=float,
        default=0.0,
        help="spread each step's new members over this many seconds (at most --settle-seconds; "
        "default 0: they arrive within about a second)",
    )
    parser.add_argument(
        "--think",
        default="1-5",
        help="seconds between a member's actions, MIN-MAX (uniform), or 'mattermost' (1-39: the pace of "
        "Mattermost's load-test-ng simulated users, 1 s minimum and 20 s mean idle between actions)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--stop-on",
        choices=("any", "p99"),
        default="any",
        help="any: stop at the first threshold crossed (issue 6). p99: only server errors or p99 stop the "
        "ramp; where the mean crossed is still reported",
    )
    parser.add_argument("--allow-writes", action="store_true", help="allow a database not named *bench*")
    args = parser.parse_args(argv)
    think_min, think_max = think_range(args.think, parser)
    if not 0 <= args.arrival_seconds <= args.settle_seconds:
        parser.error("--arrival-seconds: between 0 and --settle-seconds (new members arrive while the step settles)")

    url = database_url(args.database_url)
    if args.size and args.size != "full":
        url = preset_url(url, f"load_{args.size}")
        print(f"Generating the {args.size} preset into {db_name(url)} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "bench.generate", "--size", args.size, "--database-url", url, "--reset"],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            timeout=3600,
        )
    if "bench" not in db_name(url) and not args.allow_writes:
        raise SystemExit("The load test writes: use a benchmark database (name contains 'bench') or --allow-writes.")
    # Sessions are signed: this process and the server must share one key.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    if not (args.no_migrate or (args.size and args.size != "full")):  # bench.generate migrated it
        print(f"Migrating {db_name(url)} (a no-op when it is up to date) ...", flush=True)
        subprocess.run(
            [TOWNHALL, "migrate", "--verbosity", "0"], env={**os.environ, "DATABASE_URL": url}, check=True, timeout=1800
        )
    print(f"Signing in {args.max_members} members ...", flush=True)
    members = prepare_members(url, args.max_members, args.seed)

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    raise_file_limit(args.max_members * 2)  # inherited by the server and locust: a stream and a connection each
    work = Path(tempfile.mkdtemp(prefix="townhall-load-"))
    members_file = work / "members.json"
    members_file.write_text(json.dumps(members))
    result_file = work / "result.json"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "TOWNHALL_ENV"}}
    env.update(DATABASE_URL=url, REDIS_URL=args.redis_url, DEBUG="0", TOWNHALL_VAR_DIR=str(work / "var"))
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            TOWNHALL,
            "serve",
            "--workers",
            str(args.processes),
            "--threads",
            str(args.threads),
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    load_before = os.getloadavg()
    started = time.monotonic()
    try:
        wait_ready(port, server)
        locust_env = dict(
            os.environ,
            LOAD_MEMBERS_FILE=str(members_file),
            LOAD_RESULT_FILE=str(result_file),
            LOAD_START=str(args.start),
            LOAD_FACTOR=str(args.factor),
            LOAD_STEP_SECONDS=str(args.step_seconds),
            LOAD_MAX_SECONDS=str(args.max_seconds),
            LOAD_WARMUP_SECONDS=str(args.warmup_seconds),
            LOAD_SETTLE_SECONDS=str(args.settle_seconds),
            LOAD_ARRIVAL_SECONDS=str(args.arrival_seconds),
            LOAD_STOP_ON=args.stop_on,
            LOAD_MAX_MEMBERS=str(args.max_members),
            LOAD_THINK_MIN=str(think_min),
            LOAD_THINK_MAX=str(think_max),
            LOAD_SSE="0" if args.no_sse else "1",
        )
        subprocess.run(
            [
                LOCUST,
                "-f",
                str(Path(__file__).with_name("locustfile.py")),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=locust_env,
            cwd=ROOT,
            timeout=args.max_seconds + args.warmup_seconds + 120,  # the shape stops it long before
            check=False,
        )
        load_during = os.getloadavg()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()
    if not result_file.exists():
        print(f"No result: see {work}/serve.log", file=sys.stderr)
        return 1
    result = json.loads(result_file.read_text())
    vendor = "postgresql" if url.startswith("postgres") else "sqlite"
    result.update(
        database=vendor,
        dataset=db_name(url),
        processes=args.processes,
        threads=args.threads,
        redis=bool(args.redis_url),
        sse=not args.no_sse,
        machine={"cpus": os.cpu_count(), "platform": platform.platform()},
        load_average_before=load_before,
        load_average_after=load_during,
        seconds=round(time.monotonic() - started, 1),
        when=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    out = BENCH_DIR / f"load-{vendor}-{Path(db_name(url)).stem}-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    out.write_text(json.dumps(result, indent=2))
    print()
    print(
        f"{'members':>8} {'req/s':>8} {'mean ms':>8} {'p50':>6} {'p95':>6} {'p99':>6} {'5xx':>5} "
        f"{'streams':>8} {'events':>7}  crossed"
    )
    for step in result["steps"]:
        print(
            f"{step['members']:>8} {step['req_per_s']:>8} {step['mean_ms']:>8} {step['p50_ms']:>6} "
            f"{step['p95_ms']:>6} {step['p99_ms']:>6} {step['server_errors']:>5} "
            f"{step.get('streams_open', 0):>8} {step.get('stream_events', 0):>7}  {'; '.join(step['crossed'])}"
        )
    streams = "each holding an SSE stream" if not args.no_sse else "no SSE streams"
    print(
        f"\nMembers held: {result['held']} under every threshold ({streams}), {result['held_errors_and_p99']} "
        f"under the server-error and p99 thresholds ({vendor}, {args.processes} process(es) x {args.threads} "
        f"threads, redis {'on' if args.redis_url else 'off'}; steps judged over {args.step_seconds:.0f} s after "
        f"{args.settle_seconds:.0f} s of settling, arrivals spread over {args.arrival_seconds:.0f} s); "
        f"stopped: {result['stopped_because']}"
    )
    print(f"Load average before/after: {load_before[0]:.2f} / {load_during[0]:.2f}. Figures: {out}")
    if result["client_errors"]:
        print(f"Client errors (4xx, not counted as server errors): {result['client_errors']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
