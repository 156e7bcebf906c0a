"""Locust side of bench/load.py (run by it; not meant to be started by hand).

Each simulated member signs in with its own session (cookies prepared by load.py) and,
with a think time between actions, does the read-heavy mix of issue 6: 80 % reads
(home feed, a community feed, a post page), 15 % reactions and comments, 5 % posts.
Writes go through the JSON API with the session cookie and its CSRF token, as the
browser's scripts do. Every member also holds a Server-Sent Events stream for as long
as it runs, opened as the home page's script opens it (`/events/stream?feed=home&posts=
<the cards on the page>&since=<now>`): read in a greenlet of its own, events counted,
reopened after a clean end (the server closes streams after 15 minutes, EventSource
reconnects). Reactions and comments go to the cards of that home page, so each one
also comes back on the streams watching the post. Opening the stream
is a request in the figures ("events stream (open)", time to the response headers);
a stream dropped while the test runs is a server error; streams closed because the
test stops are not.

`StepRamp` raises the number of members step by step (geometric) and evaluates each
step's window: it stops at the first step that crosses a threshold (server errors >
0.025 %, p99 > 2 s, mean > 100 ms) or at the time bound, and writes every step's
figures to LOAD_RESULT_FILE. Only loopback targets are accepted.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from typing import Any
from urllib.parse import urlsplit

import gevent
import requests
from locust import HttpUser, LoadTestShape, between, events, task

MEMBERS: list[dict[str, Any]] = json.loads(open(os.environ["LOAD_MEMBERS_FILE"]).read())  # noqa: SIM115
RESULT_FILE = os.environ["LOAD_RESULT_FILE"]
START = int(os.environ.get("LOAD_START", "10"))
FACTOR = float(os.environ.get("LOAD_FACTOR", "2"))
STEP_SECONDS = float(os.environ.get("LOAD_STEP_SECONDS", "10"))
MAX_SECONDS = float(os.environ.get("LOAD_MAX_SECONDS", "60"))
WARMUP_SECONDS = float(os.environ.get("LOAD_WARMUP_SECONDS", "5"))
# After each step's new members arrive (their first pages, their streams opening on
# data no cache holds yet), this long passes before the step's window is judged:
# the window measures the step's members as they keep going, not their arrival.
SETTLE_SECONDS = float(os.environ.get("LOAD_SETTLE_SECONDS", "0"))
# Over how many seconds a step's new members arrive (0: within about a second, as
# before). Two hundred members signing in within a second is a burst of home pages and
# stream openings that no settling window judged a minute later should carry.
ARRIVAL_SECONDS = float(os.environ.get("LOAD_ARRIVAL_SECONDS", "0"))
MAX_MEMBERS = min(int(os.environ.get("LOAD_MAX_MEMBERS", "1000")), len(MEMBERS))
THINK = (float(os.environ.get("LOAD_THINK_MIN", "1")), float(os.environ.get("LOAD_THINK_MAX", "5")))
# "any": stop at the first step crossing any threshold (issue 6's rule). "p99": stop
# only on server errors or p99, recording where the mean crossed (capacity on a
# machine where even one member's mean is above 100 ms).
STOP_ON = os.environ.get("LOAD_STOP_ON", "any")
HOLD_STREAM = os.environ.get("LOAD_SSE", "1") == "1"
STREAM_PATH = "/events/stream"
STREAM_READ_TIMEOUT = 60  # seconds without a byte (the server sends a heartbeat every 20 s)
STREAM_RETRY = 3.0  # seconds, the server's `retry:` hint
# Thresholds (issue 6)
MAX_ERROR_RATIO = 0.00025
MAX_P99_MS = 2000
MAX_MEAN_MS = 100

POST_LINK = re.compile(r'href="/posts/(\d+)/"')
KINDS = ["like", "love", "celebrate", "insightful", "curious", "funny"]
_next_member = itertools.count()
client_errors: dict[str, int] = {}


@events.init.add_listener
def _loopback_only(environment: Any, **_: Any) -> None:
    host = urlsplit(environment.host or "").hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit(f"bench/load.py only targets loopback (got {host!r})")


class Streams:
    """What the held streams did: open now, opened, events received (since the last
    step), failures."""

    stopping = False
    live: set[EventStream] = set()  # process-wide: what test_stopping closes
    open_now = 0
    opened = 0
    events = 0
    events_total = 0
    failures = 0

    @classmethod
    def take_events(cls) -> int:
        count, cls.events = cls.events, 0
        return count


class EventStream:
    """One member's held /events/stream, read in its own greenlet (locust's users are
    greenlets and gevent patches the sockets, so a blocked read costs nothing)."""

    def __init__(self, user: Member, path: str) -> None:
        self.environment = user.environment
        self.url = f"{user.host}{path}"
        self.cookies = {user.me["session_cookie"]: user.me["session"]}
        self.received = 0
        self.stopped = False
        self.greenlet = gevent.spawn(self._run)
        Streams.live.add(self)

    def _fire(self, name: str, started: float, length: int, exception: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="GET",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exception,
            context={},
        )

    def _run(self) -> None:
        session = requests.Session()
        session.cookies.update(self.cookies)
        while not (self.stopped or Streams.stopping):
            started = time.perf_counter()
            try:
                response = session.get(
                    self.url,
                    stream=True,
                    timeout=(10, STREAM_READ_TIMEOUT),
                    headers={"Accept": "text/event-stream", "Cache-Control": "no-cache"},
                )
            except Exception as exc:
                if not (self.stopped or Streams.stopping):
                    Streams.failures += 1
                    self._fire("events stream (open)", started, 0, exc)
                gevent.sleep(STREAM_RETRY)
                continue
            if response.status_code != 200 or "/signin" in response.url:
                error = RuntimeError(f"events stream answered {response.status_code}")
                if response.status_code >= 500:
                    Streams.failures += 1
                    self._fire("events stream (open)", started, 0, error)
                else:
                    client_errors[f"events stream {response.status_code}"] = (
                        client_errors.get(f"events stream {response.status_code}", 0) + 1
                    )
                    self._fire("events stream (open)", started, 0, None)
                response.close()
                gevent.sleep(STREAM_RETRY)
                continue
            self._fire("events stream (open)", started, 0, None)
            Streams.opened += 1
            Streams.open_now += 1
            buffer = b""
            try:
                for chunk in response.iter_content(chunk_size=None):
                    buffer += chunk
                    *blocks, buffer = buffer.split(b"\n\n")
                    # an event is a block with data (not the retry hint, not a heartbeat comment)
                    got = sum(1 for block in blocks if b"data:" in block)
                    self.received += got
                    Streams.events += got
                    Streams.events_total += got
            except Exception as exc:
                if not (self.stopped or Streams.stopping):
                    Streams.failures += 1
                    self._fire("events stream (dropped)", started, 0, exc)
            finally:
                Streams.open_now -= 1
                response.close()
            if not (self.stopped or Streams.stopping):
                gevent.sleep(STREAM_RETRY)  # a clean end: reconnect, as EventSource does

    def stop(self) -> None:
        # The reading greenlet closes its response on the way out (closing it from
        # here, mid-read, is a reentrant call on the socket's buffer).
        self.stopped = True
        Streams.live.discard(self)
        self.greenlet.kill(block=False)


@events.test_stopping.add_listener
def _close_streams(**_: Any) -> None:
    """The test is ending: streams closed from here on are not failures."""
    Streams.stopping = True
    for stream in list(Streams.live):
        stream.stop()


class Member(HttpUser):
    wait_time = between(*THINK)

    def on_start(self) -> None:
        self.me = MEMBERS[next(_next_member) % len(MEMBERS)]
        self.client.cookies.set(self.me["session_cookie"], self.me["session"])
        self.client.cookies.set(self.me["csrf_cookie"], self.me["csrf"])
        self.posts: list[int] = []
        self.home_posts: list[int] = []
        self.rng = random.Random(self.me["id"])
        self.stream: EventStream | None = None
        with self.client.get("/", name="home", catch_response=True) as response:
            if "/signin" in response.url:  # a broken set-up must not pass for a fast server
                response.failure("not signed in: the session was refused")
                return
            self._check(response, "home")
            if response.status_code == 200:
                self.home_posts = list(dict.fromkeys(int(n) for n in POST_LINK.findall(response.text)))
                self.posts = list(self.home_posts)
        if HOLD_STREAM:
            # What the home page's script opens: its feed, the cards on screen, since the page was made.
            query = "feed=home"
            if self.home_posts:
                query += "&posts=" + ",".join(map(str, self.home_posts[:200]))
            self.stream = EventStream(self, f"{STREAM_PATH}?{query}&since={int(time.time())}")

    def on_stop(self) -> None:
        if self.stream is not None:
            self.stream.stop()

    # -- helpers ------------------------------------------------------------------------

    def _check(self, response: Any, name: str) -> None:
        if response.status_code >= 500 or response.status_code == 0:
            cause = f": {type(response.error).__name__}: {response.error}" if response.status_code == 0 else ""
            response.failure(f"server error {response.status_code}{cause}"[:300])
        else:
            if response.status_code >= 400:
                client_errors[f"{name} {response.status_code}"] = (
                    client_errors.get(f"{name} {response.status_code}", 0) + 1
                )
            response.success()

    def _read(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            self._check(response, name)
            if response.status_code == 200:
                found = [int(n) for n in POST_LINK.findall(response.text)]
                if found:
                    self.posts = list(dict.fromkeys(found + self.posts))[:60]

    def _write(self, method: str, path: str, body: dict[str, Any], name: str) -> None:
        headers = {"X-CSRFToken": self.me["csrf"], "Content-Type": "application/json"}
        with self.client.request(
            method, path, data=json.dumps(body), headers=headers, name=name, catch_response=True
        ) as response:
            self._check(response, name)

    def _post_id(self) -> int | None:
        return self.rng.choice(self.posts) if self.posts else None

    def _engage_id(self) -> int | None:
        """Reactions and comments go to the cards of the home page the member keeps
        open (its stream watches them: each one comes back as a counts event)."""
        return self.rng.choice(self.home_posts) if self.home_posts else self._post_id()

    # -- the mix: 80 % reads, 15 % reactions and comments, 5 % posts ----------------------

    @task(35)
    def home(self) -> None:
        self._read("/", "home")

    @task(25)
    def community(self) -> None:
        if self.me["communities"]:
            self._read(f"/c/{self.rng.choice(self.me['communities'])}/", "community")
        else:
            self._read("/company", "community")

    @task(20)
    def post_page(self) -> None:
        post_id = self._post_id()
        if post_id is None:
            self._read("/", "home")
        else:
            self._read(f"/posts/{post_id}/", "post page")

    @task(10)
    def react(self) -> None:
        post_id = self._engage_id()
        if post_id is not None:
            self._write("PUT", f"/api/v1/reactions/post/{post_id}", {"kind": self.rng.choice(KINDS)}, "reaction")

    @task(5)
    def comment(self) -> None:
        post_id = self._engage_id()
        if post_id is not None:
            self._write("POST", f"/api/v1/posts/{post_id}/comments", {"body": "Load test comment, thanks!"}, "comment")

    @task(5)
    def post(self) -> None:
        body: dict[str, Any] = {"body": f"Load test post {time.time():.0f} #loadtest"}
        if self.me["post_in"]:
            body["community"] = self.rng.choice(self.me["post_in"])
        self._write("POST", "/api/v1/posts", body, "post")


class StepRamp(LoadTestShape):
    """START members, then x FACTOR every SETTLE_SECONDS + STEP_SECONDS, up to
    MAX_MEMBERS; each step's window (its last STEP_SECONDS) is judged against the
    thresholds and the ramp stops at the first crossing."""

    def __init__(self) -> None:
        super().__init__()
        self.users = START
        self.previous = 0  # members before this step
        self.step_started: float | None = None
        self.settled = False
        self.settle_counts = (0, 0)  # requests and server errors while the step settled
        self.steps: list[dict[str, Any]] = []
        self.stopped_because = ""

    def _judge(self) -> dict[str, Any]:
        total = self.runner.stats.total
        requests = total.num_requests
        settle_requests, settle_errors = self.settle_counts
        errors = total.num_failures + settle_errors  # every server error of the step counts
        row = {
            "members": self.users,
            "requests": requests,
            "req_per_s": round(requests / STEP_SECONDS, 1),
            "server_errors": errors,
            "error_ratio": errors / (requests + settle_requests) if requests + settle_requests else 0.0,
            "mean_ms": round(total.avg_response_time, 1),
            "p50_ms": total.get_response_time_percentile(0.5),
            "p95_ms": total.get_response_time_percentile(0.95),
            "p99_ms": total.get_response_time_percentile(0.99),
            # held SSE streams: open at the end of the step, events they received in it
            "streams_open": Streams.open_now,
            "stream_events": Streams.take_events(),
            "stream_failures": Streams.failures,
            "by_name": {
                name: {
                    "n": entry.num_requests,
                    "mean_ms": round(entry.avg_response_time, 1),
                    "p99_ms": entry.get_response_time_percentile(0.99),
                }
                for (name, _), entry in self.runner.stats.entries.items()
            },
        }
        crossed = []
        if row["error_ratio"] > MAX_ERROR_RATIO:
            crossed.append(f"server errors {row['error_ratio']:.3%} > 0.025 %")
        if (row["p99_ms"] or 0) > MAX_P99_MS:
            crossed.append(f"p99 {row['p99_ms']} ms > 2 s")
        if row["mean_ms"] > MAX_MEAN_MS:
            crossed.append(f"mean {row['mean_ms']} ms > 100 ms")
        row["crossed"] = crossed
        row["stops"] = bool(crossed) if STOP_ON == "any" else any(not c.startswith("mean") for c in crossed)
        return row

    def _finish(self, reason: str) -> None:
        held = [s["members"] for s in itertools.takewhile(lambda s: not s["crossed"], self.steps)]
        held_p99 = [
            s["members"]
            for s in itertools.takewhile(lambda s: not any(not c.startswith("mean") for c in s["crossed"]), self.steps)
        ]  # (with --stop-on any the ramp may stop before this one is reached: a lower bound)
        result = {
            "steps": self.steps,
            "held": max(held) if held else 0,
            "held_errors_and_p99": max(held_p99) if held_p99 else 0,
            "stop_on": STOP_ON,
            "stopped_because": reason,
            "client_errors": client_errors,
            "think_seconds": THINK,
            "streams_held": HOLD_STREAM,
            "streams_opened": Streams.opened,
            "stream_events_total": Streams.events_total,
        }
        with open(RESULT_FILE, "w") as handle:
            json.dump(result, handle, indent=2)

    def _rate(self) -> float:
        if ARRIVAL_SECONDS > 0:
            return max(self.users - self.previous, 1) / ARRIVAL_SECONDS
        return max(self.users, 1.0) / 2

    def tick(self) -> tuple[int, float] | None:
        now = self.get_run_time()
        spawn = (self.users, self._rate())
        if now < WARMUP_SECONDS:  # first requests compile templates, fill caches: not judged
            return spawn
        if self.step_started is None:
            self._start_step(now)
            return spawn
        if not self.settled:
            if now - self.step_started < SETTLE_SECONDS:
                return spawn
            # The judged window starts here; server errors while settling still count.
            self.settle_counts = (self.runner.stats.total.num_requests, self.runner.stats.total.num_failures)
            self.runner.stats.reset_all()
            Streams.take_events()
            self.step_started, self.settled = now, True
        if now - self.step_started < STEP_SECONDS:
            return spawn
        row = self._judge()
        row["settle_seconds"] = SETTLE_SECONDS
        row["arrival_seconds"] = ARRIVAL_SECONDS
        self.steps.append(row)
        print(
            f"step {row['members']:>5} members: {row['req_per_s']:7.1f} req/s, mean {row['mean_ms']:7.1f} ms, "
            f"p99 {row['p99_ms']} ms, server errors {row['server_errors']}, streams {row['streams_open']} "
            f"({row['stream_events']} events) {'CROSSED ' + '; '.join(row['crossed']) if row['crossed'] else ''}",
            flush=True,
        )
        if row["stops"]:
            self._finish("threshold: " + "; ".join(row["crossed"]))
            return None
        if self.users >= MAX_MEMBERS:
            self._finish(f"reached --max-members {MAX_MEMBERS}")
            return None
        if now + SETTLE_SECONDS + STEP_SECONDS > MAX_SECONDS + WARMUP_SECONDS:
            self._finish(f"time bound {MAX_SECONDS:.0f} s")
            return None
        self.previous = self.users
        self.users = min(MAX_MEMBERS, max(self.users + 1, int(self.users * FACTOR)))
        self._start_step(now)
        return self.users, self._rate()

    def _start_step(self, now: float) -> None:
        """A new step: its members arrive now; judged after SETTLE_SECONDS."""
        self.runner.stats.reset_all()
        Streams.take_events()
        self.step_started, self.settled = now, SETTLE_SECONDS <= 0
        self.settle_counts = (0, 0)
