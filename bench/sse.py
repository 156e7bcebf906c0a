"""Live updates under load: N held SSE streams on one server process.

    python -m bench.sse                          # 1,000 streams, 5 posts
    python -m bench.sse --connections 2000 4000  # one run per figure (the ceiling)
    python -m bench.sse --redis redis://127.0.0.1:6379/14

Builds its own organisation in a temporary directory (SQLite unless --database-url):
N people, each a member of one public community and signed in (a session each).
Starts `townhall serve --no-worker --workers 1` on a free loopback port, opens N
streams to `/events/stream?feed=community:<id>` from one asyncio client (in batches),
then creates `--posts` posts through the API, one at a time, and records when each
stream receives each `post.created` event. Every delivery passes the post guard for
all N people (two queries) before it is written to the N streams.

Reports, per N: p50/p99/max of post create -> delivery over every (stream, post)
pair, the time until the last stream had it, streams that missed a post, the server's
RSS before and after connecting (delta / N = memory per stream), and the time to
connect all N. Bounded: loopback only, at most 10,000 streams, `--max-seconds` per run.
Results go to stdout and to var/bench/sse-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MAX_CONNECTIONS = 10_000
EVENT = re.compile(rb'event: post\.created\ndata: \{"post_id":(\d+)\}')

SETUP = """
import json, os
from django.core.management import call_command
call_command("migrate", verbosity=0)  # one process start for both (the start is most of a smoke run)
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from datetime import timedelta
from townhall.accounts.models import User
from townhall.accounts.services import token_create
from townhall.communities.models import Community, Membership

n = int(os.environ["BENCH_STREAMS"])
author = User.objects.create_user(email="author@bench.example", full_name="Bench Author")
users = User.objects.bulk_create(
    [User(email=f"reader{i}@bench.example", full_name=f"Reader {i}", password="!") for i in range(n)]
)
users = list(User.objects.filter(email__startswith="reader").order_by("pk"))
room = Community.objects.create(name="Bench", slug="bench", visibility="public", member_count=n + 1)
Membership.objects.bulk_create([Membership(community=room, user=u) for u in [author, *users]])
store = SessionStore()
expiry = timezone.now() + timedelta(days=1)
sessions = []
for i, user in enumerate(users):
    data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "townhall.accounts.backends.EmailBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash()}
    sessions.append(Session(session_key=f"bench{i:06d}{user.pk:06d}x", session_data=store.encode(data), expire_date=expiry))
Session.objects.bulk_create(sessions, batch_size=2000)
print(json.dumps({"community": room.pk, "token": token_create(actor=author, name="bench", scopes=["read", "write"])[1],
                  "sessions": [s.session_key for s in sessions]}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    """The process's resident memory (VmRSS) or its peak so far (VmHWM), in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Client:
    """One held stream: records when each post id first arrives."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}
        self.buffer = b""
        self.open = False
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, port: int, session: str, path: str, ready: asyncio.Semaphore) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        self.writer = writer
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: sessionid={session}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            ready.release()
            raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
        first = await reader.read(65536)  # the retry hint: the stream is subscribed
        self.buffer = first
        self.open = True
        ready.release()
        while True:
            chunk = await reader.read(65536)
            now = time.perf_counter()
            if not chunk:
                self.open = False
                return
            self.buffer = (self.buffer + chunk)[-4096:]
            for match in EVENT.finditer(self.buffer):
                self.received.setdefault(int(match.group(1)), now)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _api_post(port: int, token: str, body: str) -> int:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/v1/posts",
        data=json.dumps({"community": "bench", "body": body}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback http only
        return int(json.loads(answer.read())["id"])


async def measure(
    *, port: int, pid: int, world: dict[str, Any], n: int, posts: int, batch: int, max_seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + max_seconds
    path = f"/events/stream?feed=community:{world['community']}"
    # Warm up (imports, the hub and its database thread, the API path), then measure.
    warm = Client()
    warm_ready = asyncio.Semaphore(0)
    warm_task = asyncio.create_task(warm.run(port, world["sessions"][0], path, warm_ready))
    await asyncio.wait_for(warm_ready.acquire(), 30)
    await asyncio.to_thread(_api_post, port, world["token"], "warm-up")
    await asyncio.sleep(0.5)
    warm.close()
    warm_task.cancel()
    await asyncio.gather(warm_task, return_exceptions=True)
    await asyncio.sleep(0.5)
    rss_before = _rss_kb(pid)
    clients = [Client() for _ in range(n)]
    ready = asyncio.Semaphore(0)
    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for start in range(0, n, batch):
        for index in range(start, min(n, start + batch)):
            tasks.append(asyncio.create_task(clients[index].run(port, world["sessions"][index], path, ready)))
        for _ in range(min(n, start + batch) - start):
            await asyncio.wait_for(ready.acquire(), max(1.0, deadline - time.monotonic()))
    connect_s = time.perf_counter() - started
    failed = [t for t in tasks if t.done() and t.exception() is not None]
    connected = sum(1 for c in clients if c.open)
    await asyncio.sleep(2)
    rss_after = _rss_kb(pid)

    latencies: list[float] = []
    last_client: list[float] = []
    fanout_per_s: list[float] = []
    missed = 0
    for round_ in range(posts):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        post_id = await asyncio.to_thread(_api_post, port, world["token"], f"bench post {round_}")
        api_ms = (time.perf_counter() - t0) * 1000
        wait_until = time.perf_counter() + 15
        while time.perf_counter() < wait_until:
            if all(post_id in c.received for c in clients if c.open):
                break
            await asyncio.sleep(0.01)
        got = [c.received[post_id] - t0 for c in clients if post_id in c.received]
        missed += connected - len(got)
        latencies.extend(x * 1000 for x in got)
        if got:
            last_client.append(max(got) * 1000)
            fanout_per_s.append(len(got) / max(max(got), 1e-6))
        print(
            f"  post {round_ + 1}: api {api_ms:.0f} ms, delivered to {len(got)}/{connected}, "
            f"last after {max(got) * 1000 if got else float('nan'):.0f} ms",
            flush=True,
        )
        await asyncio.sleep(1)
    peak_kb = _rss_kb(pid, "VmHWM")
    for client in clients:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "connections": n,
        "connected": connected,
        "connect_failures": len(failed),
        "connect_seconds": round(connect_s, 2),
        "posts": len(last_client),
        "deliveries": len(latencies),
        "missed": missed,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(_pct(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "last_client_p50_ms": round(statistics.median(last_client), 1) if last_client else None,
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_after_mb": round(rss_after / 1024, 1),
        "kb_per_connection": round((rss_after - rss_before) / max(1, connected), 1),
        # streams served per second while one event fans out (N / time to the last stream)
        "deliveries_per_s": round(statistics.median(fanout_per_s), 1) if fanout_per_s else None,
        "server_peak_rss_mb": round(peak_kb / 1024, 1),
        "latencies_ms": [round(x, 2) for x in latencies],  # every (stream, post) pair, for bench.run
    }


def _wait_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def run_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="townhall-sse-") as tmp:
        env = {
            **os.environ,
            "TOWNHALL_VAR_DIR": tmp,
            "DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.sqlite3",
            "REDIS_URL": args.redis or "",
            "DJANGO_SETTINGS_MODULE": "townhall.config.settings",
        }
        me = [sys.executable, "-m", "townhall.cli"]
        made = subprocess.run(
            [*me, "shell", "-c", SETUP],
            env={**env, "BENCH_STREAMS": str(n)},
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        world = json.loads(made.stdout.strip().splitlines()[-1])
        port = _free_port()
        server = subprocess.Popen(
            [*me, "serve", "--no-worker", "--workers", "1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("BENCH_SERVER_LOG") else subprocess.DEVNULL,
        )
        try:
            _wait_up(port, server)
            print(f"{n} streams on one process (pid {server.pid}, port {port})", flush=True)
            result = asyncio.run(
                measure(
                    port=port,
                    pid=server.pid,
                    world=world,
                    n=n,
                    posts=args.posts,
                    batch=args.batch,
                    max_seconds=args.max_seconds,
                )
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    return result


def raise_file_limit(streams: int) -> None:
    """Two sockets per stream (client and server) plus room for the rest."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = streams * 2 + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))


def delivery(
    streams: int, *, posts: int, database_url: str = "", redis: str = "", max_seconds: float = 300.0
) -> dict[str, Any]:
    """One run of `streams` held streams (for bench.run's table): run_one's figures."""
    if not 1 <= streams <= MAX_CONNECTIONS:
        raise ValueError(f"streams must be between 1 and {MAX_CONNECTIONS}")
    raise_file_limit(streams)
    args = argparse.Namespace(posts=posts, batch=100, max_seconds=max_seconds, database_url=database_url, redis=redis)
    return run_one(streams, args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[1000])
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100, help="Streams opened at once while connecting.")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="Bound on each run.")
    parser.add_argument("--database-url", default="", help="Default: SQLite in a temporary directory.")
    parser.add_argument("--redis", default="", help="REDIS_URL for the server (default: the database broker).")
    args = parser.parse_args(argv)
    if any(not 1 <= n <= MAX_CONNECTIONS for n in args.connections):
        parser.error(f"--connections must be between 1 and {MAX_CONNECTIONS}")
    raise_file_limit(max(args.connections))
    results = [run_one(n, args) for n in args.connections]
    for r in results:
        r.pop("latencies_ms", None)
    print()
    print("| streams | connected | p50 ms | p99 ms | max ms | last stream (p50) ms | missed | KB/stream | connect s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['connections']} | {r['connected']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | "
            f"{r['last_client_p50_ms']} | {r['missed']} | {r['kb_per_connection']} | {r['connect_seconds']} |"
        )
    out = ROOT / "var" / "bench" / f"sse-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    out.write_text(
        json.dumps({"machine": machine, "broker": "redis" if args.redis else "database", "runs": results}, indent=2)
    )
    print(f"\nWritten to {out}")


if __name__ == "__main__":
    main()
