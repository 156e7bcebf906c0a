"""Two real server processes sharing Redis: a post created through process A reaches a
browser-like client streaming from process B (and a non-member on B gets nothing of
a secret community)."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from townhall.realtime.tests.streams import parse

REDIS_URL = "redis://127.0.0.1:6379/14"

SETUP = """
import json
from townhall.accounts.services import token_create
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

author, reader, outsider = UserFactory(), UserFactory(), UserFactory()
design = CommunityFactory(slug="design", members=[author, reader])
CommunityFactory(slug="hush", visibility="secret", members=[author])

def session(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "townhall.accounts.backends.EmailBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key

print(json.dumps({
    "token": token_create(actor=author, name="t", scopes=["read", "write"])[1],
    "reader": session(reader),
    "outsider": session(outsider),
    "design": design.pk,
}))
"""


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server on {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"server on {port} did not start")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, object]]:
    env = {
        **os.environ,
        "TOWNHALL_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'townhall.sqlite3'}",
        "REDIS_URL": REDIS_URL,
        "TOWNHALL_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "townhall.config.settings",
    }
    me = [sys.executable, "-m", "townhall.cli"]
    subprocess.run([*me, "migrate", "-v", "0"], env=env, check=True, timeout=120)
    made = subprocess.run([*me, "shell", "-c", SETUP], env=env, check=True, timeout=60, capture_output=True, text=True)
    data = json.loads(made.stdout.strip().splitlines()[-1])
    servers = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            process = subprocess.Popen(
                [*me, "serve", "--no-worker", "--workers", "1", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers.append(process)
            _wait_up(port, process)
            data[name] = port
        yield data
    finally:
        for process in servers:
            process.terminate()
        for process in servers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _listen(port: int, session: str, query: str, into: queue.Queue[object]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/events/stream{query}", headers={"Cookie": f"sessionid={session}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            into.put(answer.status)
            rest = ""
            while True:
                chunk = answer.read1(65536).decode()
                if not chunk:
                    return
                events, rest = parse(rest + chunk)
                for event in events:
                    into.put(event)
    except (OSError, ValueError) as exc:  # the server stopping mid-chunk
        into.put(exc)


def test_a_post_created_through_one_process_reaches_a_stream_on_another(world):
    reader: queue.Queue[object] = queue.Queue()
    outsider: queue.Queue[object] = queue.Queue()
    for session, into, query in (
        (world["reader"], reader, f"?feed=community:{world['design']}"),
        (world["outsider"], outsider, "?feed=home"),
    ):
        threading.Thread(target=_listen, args=(world["b"], session, query, into), daemon=True).start()
        assert into.get(timeout=10) == 200
    time.sleep(0.3)  # the status line arrives with the subscription; give B's hub a moment

    def create(community: str, body: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{world['a']}/api/v1/posts",
            data=json.dumps({"community": community, "body": body}).encode(),
            headers={"Authorization": f"Bearer {world['token']}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 201
            return int(json.loads(answer.read())["id"])

    create("hush", "Qz7SecretCanary")
    post_id = create("design", "hello from A")
    started = time.monotonic()
    event = reader.get(timeout=10)
    assert getattr(event, "event", None) == "post.created", event
    assert event.data == {"post_id": post_id}  # type: ignore[attr-defined]
    assert time.monotonic() - started < 5
    with pytest.raises(queue.Empty):
        outsider.get(timeout=1.5)
    # It travelled through Redis (the processes share a database too, so say so).
    import redis

    recent = redis.Redis.from_url(REDIS_URL).xrevrange("townhall:events", count=20)
    assert any(f'"post_id":{post_id}'.encode() in fields[b"j"] for _id, fields in recent)
