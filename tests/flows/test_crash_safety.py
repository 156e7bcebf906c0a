"""Crash safety, two ways.

1. `test_service_writes_survive_sigkill_cycles`: two writers calling posts.services
(post_create, comment_create, post_edit; tests/flows/crash_writer.py) are SIGKILLed at
random moments, 50 cycles on SQLite and 20 on PostgreSQL (about 20 s / 12 s here). The
writers are forked from one process that set Django up once, so a cycle costs a fork,
not an interpreter start. Afterwards: every acknowledged post, comment and edit is
there; PRAGMA integrity_check + foreign_key_check (SQLite) or amcheck's
bt_index_check of every index (PostgreSQL) pass; every post has its mention and topic
link, every comment its mention, every edit its revision; comment and topic counters
match the rows.

2. `test_acknowledged_writes_survive_sigkill`: a real `townhall serve` on loopback takes posts, comments and images
through the API while it is killed with SIGKILL (its whole process group at once) at
random moments, then restarted. Afterwards every acknowledged write is there,
the database passes its integrity check, the counters match the rows, every edited post
has its old version (and no old version exists without its edit) and every stored
attachment names a file that exists.

CI size: 5 cycles with one server process (10-25 s on this 2-core machine, depending
on what else runs). A longer run (500 service-layer cycles, 50 server cycles with two
server processes writing at once):

    TOWNHALL_CRASH_CYCLES=500 TOWNHALL_CRASH_PROCESSES=2 .venv/bin/pytest -q -n 0 tests/flows/test_crash_safety.py

With DATABASE_URL pointing at PostgreSQL the server runs against a scratch database
created beside it (`<name>_proc_<pid>`), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from townhall.testing.posts_factories import png_bytes

TOWNHALL = str(Path(sys.executable).with_name("townhall"))
# TOWNHALL_CRASH_CYCLES sets the service-layer test's cycles; the server test runs a
# tenth of that (each of its cycles starts a whole server), at least 5.
CYCLES = max(5, int(os.environ.get("TOWNHALL_CRASH_CYCLES", "0")) // 10)
WRITERS = 3
WEB_PROCESSES = os.environ.get("TOWNHALL_CRASH_PROCESSES", "1")

SETUP = """
from townhall.accounts.services import token_create
from townhall.communities.selectors import all_company
from townhall.testing.factories import UserFactory
user = UserFactory(email="writer@example.com")
all_company()
_, secret = token_create(actor=user, name="crash", scopes=["read", "write"])
print("TOKEN=" + secret)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Acks:
    posts: set[int] = field(default_factory=set)
    comments: set[int] = field(default_factory=set)
    attachments: set[int] = field(default_factory=set)
    edits: set[int] = field(default_factory=set)  # posts whose edit was acknowledged
    lock: threading.Lock = field(default_factory=threading.Lock)


def _call(port: int, token: str, method: str, path: str, body: bytes, content_type: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            method, path, body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type}
        )
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        conn.close()


def _multipart(image: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _writer(port: int, token: str, acks: Acks, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    n = 0
    while not stop.is_set():
        n += 1
        try:
            status, post = _call(
                port,
                token,
                "POST",
                "/api/v1/posts",
                json.dumps({"body": f"crash {seed}-{n}"}).encode(),
                "application/json",
            )
            if status != 201:
                continue
            with acks.lock:
                acks.posts.add(post["id"])
            if rng.random() < 0.6:
                status, comment = _call(
                    port,
                    token,
                    "POST",
                    f"/api/v1/posts/{post['id']}/comments",
                    json.dumps({"body": f"reply {n}"}).encode(),
                    "application/json",
                )
                if status == 201:
                    with acks.lock:
                        acks.comments.add(comment["id"])
            if rng.random() < 0.4:
                status, _ = _call(
                    port,
                    token,
                    "PATCH",
                    f"/api/v1/posts/{post['id']}",
                    json.dumps({"body": f"crash {seed}-{n} (edited)"}).encode(),
                    "application/json",
                )
                if status == 200:
                    with acks.lock:
                        acks.edits.add(post["id"])
            if rng.random() < 0.3:
                body, content_type = _multipart(png_bytes(64, 48, rng.choice(["red", "blue", "green"])))
                status, images = _call(port, token, "POST", f"/api/v1/posts/{post['id']}/images", body, content_type)
                if status in (200, 201):
                    with acks.lock:
                        acks.attachments.update(image["id"] for image in images["images"])
        except (OSError, http.client.HTTPException, ValueError):
            time.sleep(0.02)  # the server is down: keep trying until told to stop


def _wait_ready(port: int, server: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        assert server.poll() is None, "server exited"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become ready")


def _check(env: dict[str, str], database: str, tmp_path: Path, acks: Acks) -> dict[str, int]:
    """Integrity, acknowledged writes, counters and files, read straight from the database."""
    script = """
import json
from django.db import connection
from django.db.models import Count, Q
from townhall.posts.models import Attachment, Comment, Post
from django.conf import settings
out = {}
with connection.cursor() as c:
    if connection.vendor == "sqlite":
        c.execute("PRAGMA integrity_check")
        out["integrity"] = c.fetchone()[0]
        c.execute("PRAGMA foreign_key_check")
        out["fk_violations"] = len(c.fetchall())
    else:
        out["integrity"] = "ok"
        out["fk_violations"] = 0
posts = set(Post.objects.values_list("pk", flat=True))
comments = set(Comment.objects.values_list("pk", flat=True))
attachments = set(Attachment.objects.values_list("pk", flat=True))
bad = [p.pk for p in Post.objects.annotate(live=Count("comments", filter=Q(comments__deleted_at__isnull=True))) if p.live != p.comment_count]
from townhall.posts.models import PostRevision
revised = set(PostRevision.objects.values_list("post_id", flat=True))
edited = set(Post.objects.filter(edited_at__isnull=False).values_list("pk", flat=True))
out["edited_without_revision"] = sorted(edited - revised)
out["revision_without_edit"] = sorted(revised - edited)
out["edited"] = sorted(edited)
missing_files = [a.image.name for a in Attachment.objects.all() if not (settings.MEDIA_ROOT / a.image.name).is_file()]
out.update(posts=sorted(posts), comments=sorted(comments), attachments=sorted(attachments), bad_counts=bad, missing_files=missing_files)
print("RESULT=" + json.dumps(out))
"""
    done = subprocess.run(
        [TOWNHALL, "shell", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.split("RESULT=", 1)[1])
    assert result["integrity"] == "ok"
    assert result["fk_violations"] == 0
    assert not acks.posts - set(result["posts"]), "acknowledged posts lost"
    assert not acks.comments - set(result["comments"]), "acknowledged comments lost"
    assert not acks.attachments - set(result["attachments"]), "acknowledged images lost"
    assert result["bad_counts"] == [], "comment counters differ from the rows"
    assert result["edited_without_revision"] == [], "edited posts without their old version"
    assert result["revision_without_edit"] == [], "a revision whose post edit was lost"
    assert not acks.edits - set(result["edited"]), "acknowledged edits lost"
    assert result["missing_files"] == [], "attachments whose file is missing"
    if not database:
        db = sqlite3.connect(tmp_path / "townhall.sqlite3")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    return {
        "posts": len(result["posts"]),
        "edited": len(result["edited"]),
        "comments": len(result["comments"]),
        "images": len(result["attachments"]),
    }


def test_acknowledged_writes_survive_sigkill(tmp_path, scratch_database, record_property):
    database = scratch_database
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "TOWNHALL_ENV"}}
    env.update(TOWNHALL_VAR_DIR=str(tmp_path), DEBUG="0", REDIS_URL="")
    if database:
        env["DATABASE_URL"] = database
    subprocess.run([TOWNHALL, "migrate", "--verbosity", "0"], env=env, check=True, timeout=120)
    setup = subprocess.run(
        [TOWNHALL, "shell", "-c", SETUP], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    token = setup.stdout.split("TOKEN=", 1)[1].strip()
    acks = Acks()
    rng = random.Random(7)
    kills = 0
    for cycle in range(CYCLES):
        port = _free_port()
        server = subprocess.Popen(
            [TOWNHALL, "serve", "--no-worker", "--workers", WEB_PROCESSES, "--threads", "4", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        stop = threading.Event()
        writers = [
            threading.Thread(target=_writer, args=(port, token, acks, stop, cycle * 100 + n), daemon=True)
            for n in range(WRITERS)
        ]
        try:
            _wait_ready(port, server, time.monotonic() + 30)
            before = len(acks.posts)
            for thread in writers:
                thread.start()
            # Let some writes land, then kill at a random moment mid-stream.
            deadline = time.monotonic() + 10
            while len(acks.posts) < before + 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
            kills += 1
            stop.set()
            for thread in writers:
                thread.join(timeout=15)
    counts = _check(env, database, tmp_path, acks)
    elapsed = time.monotonic() - started
    record_property(
        "summary",
        f"crash safety ({'postgresql' if database else 'sqlite'}): {kills} SIGKILL cycles, {len(acks.posts)} acknowledged posts, {len(acks.comments)} comments, "
        f"{len(acks.attachments)} images; stored {counts}; {elapsed:.1f} s",
    )
    assert len(acks.posts) >= CYCLES * 3


# -- The service-layer writer, killed many times ------------------------------------------

SERVICE_CYCLES = int(os.environ.get("TOWNHALL_CRASH_CYCLES", "0")) or None
SERVICE_WRITERS = 2


class _Zygote:
    """tests/flows/crash_writer.py: Django set up once, one fork per writer."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("crash_writer.py"))],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.acks: dict[str, set[int]] = {"P": set(), "C": set(), "E": set()}
        self.errors: list[str] = []
        self.replies: list[str] = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            with self.cond:
                if kind in self.acks:
                    self.acks[kind].add(int(rest))
                elif kind == "X":
                    self.errors.append(rest)
                else:
                    self.replies.append(line.rstrip("\n"))
                self.cond.notify_all()

    def expect(self, prefix: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for reply in self.replies:
                    if reply.startswith(prefix):
                        self.replies.remove(reply)
                        return reply[len(prefix) :].strip()
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    stderr = (
                        self.process.stderr.read() if self.process.stderr and self.process.poll() is not None else ""
                    )
                    raise AssertionError(f"no {prefix!r} from the crash writer: {stderr[-2000:]}")
                self.cond.wait(min(left, 0.5))

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def acked(self) -> int:
        with self.cond:
            return len(self.acks["P"])


def test_service_writes_survive_sigkill_cycles(tmp_path, scratch_database, record_property):
    """Writers calling posts.services (post_create, comment_create, post_edit) in a loop
    are SIGKILLed at random moments: 50 cycles on SQLite, 20 on PostgreSQL
    (TOWNHALL_CRASH_CYCLES when set). Two writers run at once, so kills also land while
    one waits for the other's lock."""
    database = scratch_database
    cycles = SERVICE_CYCLES or (20 if database else 50)
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "TOWNHALL_ENV"}}
    env.update(TOWNHALL_VAR_DIR=str(tmp_path), DEBUG="0", REDIS_URL="", PYTHONPATH=str(Path(__file__).parents[2]))
    if database:
        env["DATABASE_URL"] = database
    zygote = _Zygote(env)
    rng = random.Random(11)
    kills = 0
    live: set[int] = set()
    try:
        zygote.expect("READY")
        for cycle in range(cycles):
            before = zygote.acked()
            pids = []
            for n in range(SERVICE_WRITERS):
                zygote.send(f"fork {cycle * 10 + n}")
                pids.append(int(zygote.expect("PID")))
                live.add(pids[-1])
            # A random moment: sometimes before the first commit, mostly mid-stream.
            time.sleep(rng.uniform(0.02, 0.5))
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
                kills += 1
            for pid in pids:
                zygote.send(f"wait {pid}")
                zygote.expect(f"DEAD {pid}")
                live.discard(pid)
            assert not zygote.errors, zygote.errors
            if cycle == 0:
                # The very first writes include the first-use set-up: give them time.
                deadline = time.monotonic() + 10
                while zygote.acked() == before and time.monotonic() < deadline:
                    time.sleep(0.05)
        zygote.send("check")
        result = json.loads(zygote.expect("RESULT"))
        zygote.send("quit")
        zygote.process.wait(timeout=30)
    finally:
        for pid in live:  # a failed run leaves no writer behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if zygote.process.poll() is None:
            zygote.process.kill()
            zygote.process.wait(timeout=10)
    acks = zygote.acks
    assert result["integrity"] == "ok"
    assert result["fk_violations"] == 0
    assert not acks["P"] - set(result["posts"]), "acknowledged posts lost"
    assert not acks["C"] - set(result["comments"]), "acknowledged comments lost"
    assert not acks["E"] - set(result["edited"]), "acknowledged edits lost"
    for key in (
        "bad_comment_counts",
        "bad_topic_counts",
        "posts_without_mention",
        "comments_without_mention",
        "posts_without_topic",
        "edited_without_revision",
        "revision_without_edit",
    ):
        assert result[key] == [], key
    if not database:
        db = sqlite3.connect(tmp_path / "townhall.sqlite3")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    elapsed = time.monotonic() - started
    unacked = len(result["posts"]) - len(acks["P"])
    record_property(
        "summary",
        f"service-layer crash ({'postgresql' if database else 'sqlite'}): {cycles} cycles, {kills} SIGKILLs, "
        f"{len(acks['P'])} acknowledged posts ({unacked} more committed unacknowledged), {len(acks['C'])} comments, "
        f"{len(acks['E'])} edits, 0 lost, {result.get('indexes_checked', 'PRAGMA')} integrity; {elapsed:.1f} s",
    )
    assert len(acks["P"]) >= cycles, "too few writes landed between kills to mean anything"
