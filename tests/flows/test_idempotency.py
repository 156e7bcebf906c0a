"""Retries with an `Idempotency-Key` against a running Townhall whose PostgreSQL
connections are dropped over and over (townhall/core/idempotency.py).

Writers post through the API, each post with its own key; every 503 is retried with
the same key and body until it is answered 201. However the drops fall (before the
commit: nothing stored, the retry creates; after it: the retry replays), each key
ends up as exactly one post, and every acknowledged id is that post.

The server and the connection killing are tests/flows/test_faults.py's.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.flows.test_faults import Server, _base_env, _terminate_app_backends, _writer_commands


def test_retries_after_dropped_connections_create_each_post_once(
    tmp_path: Path, scratch_database: str, record_property
) -> None:
    if not scratch_database:
        pytest.skip("PostgreSQL only: set DATABASE_URL=postgres://... (SQLite has no connection to drop)")
    import psycopg

    env = _base_env(tmp_path)
    env["DATABASE_URL"] = scratch_database
    base, _, database = scratch_database.rpartition("/")
    token = _writer_commands(env, "token")["TOKEN"]
    server = Server(env, "--workers", "1", "--threads", "4")
    statuses: Counter[str] = Counter()
    answered: dict[str, int] = {}  # key -> post id the client was given
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def write(seed: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            key = f"idem-{seed}-{n}"
            body = json.dumps({"body": f"{key} @reader #idem"})
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key}
            for attempt in range(50):
                try:
                    status, text, response = server.request("POST", "/api/v1/posts", body, headers)
                except OSError as exc:  # the answer was lost: retry the same way
                    with lock:
                        statuses["lost"] += 1
                    time.sleep(0.05)
                    if attempt == 49:
                        failures.append(f"{key}: {exc}")
                    continue
                replayed = response.getheader("Idempotent-Replayed") == "true"
                with lock:
                    statuses[f"{status}{' replayed' if replayed else ''}"] += 1
                if status == 201:
                    with lock:
                        answered[key] = json.loads(text)["id"]
                    break
                if status != 503 or "try again" not in text.lower():
                    with lock:
                        failures.append(f"{key}: {status} {text[:200]}")
                    break
                time.sleep(0.05)

    try:
        writers = [threading.Thread(target=write, args=(seed,), daemon=True) for seed in range(3)]
        for thread in writers:
            thread.start()
        terminated, rounds = 0, 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            time.sleep(0.15 + (rounds % 5) * 0.05)
            terminated += _terminate_app_backends(f"{base}/postgres", database)
            rounds += 1
        stop.set()
        for thread in writers:
            thread.join(timeout=60)
    finally:
        server.stop()
    assert not failures, failures[:5]
    with psycopg.connect(scratch_database) as pg:
        rows = pg.execute(
            "SELECT split_part(body, ' ', 1), array_agg(id) FROM posts_post WHERE body LIKE 'idem-%%' GROUP BY 1"
        ).fetchall()
    stored = {key: ids for key, ids in rows}
    duplicates = {key: ids for key, ids in stored.items() if len(ids) != 1}
    assert not duplicates, f"keys stored more than once: {duplicates}"
    assert set(answered) <= set(stored)
    assert all(stored[key] == [post_id] for key, post_id in answered.items())
    retried = sum(count for status, count in statuses.items() if status.startswith("503"))
    assert len(answered) >= 5 and terminated >= 10, (len(answered), terminated, statuses)
    assert retried >= 1, f"no request was answered 503: the test proved nothing ({statuses})"
    record_property(
        "summary",
        f"idempotency, dropped PostgreSQL connections: {len(answered)} keyed posts, {terminated} backends "
        f"terminated, {retried} answers 503 retried, {statuses['201 replayed']} replayed, "
        f"{statuses['lost']} lost, 0 duplicates",
    )
