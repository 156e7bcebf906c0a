"""The task worker: tasks go through the real database queue and are run by
`townhall worker` processes; retries back off; a worker killed mid-task has its task
run again exactly once, with its effect done once; a worker killed at random moments
over many tasks loses none and repeats no effect (issue 7's fault test)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks import TaskContext, TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from townhall.core.models import WorkerHeartbeat
from townhall.core.worker import (
    RetryableError,
    WorkerConfig,
    beat,
    requeue_lost_tasks,
    run_worker,
    schedule_retry,
)

pytestmark = pytest.mark.django_db(transaction=True)

FAST = ["--interval", "0.1", "--heartbeat", "0.2", "--stale-after", "1.5", "--sweep-every", "0.3"]


# -- Tasks the tests enqueue (module level: the worker imports them by path) ---------


@task()
def append_line(path: str, text: str) -> str:
    with open(path, "a") as handle:
        handle.write(text + "\n")
    return text


@task(takes_context=True)
def flaky(context: TaskContext, path: str, failures: int) -> int:
    with open(path, "a") as handle:
        handle.write(f"{context.attempt}\n")
    if context.attempt <= failures:
        raise RetryableError("try again")
    return context.attempt


@task()
def broken() -> None:
    raise ValueError("a bug is not retried")


@task(takes_context=True)
def send_once_then_hang(context: TaskContext, folder: str) -> str:
    """Stands for "send an email": the effect is guarded by an idempotency key, and
    the first attempt hangs after doing it, so a kill lands mid-task."""
    base = Path(folder)
    (base / f"started-{context.attempt}").write_text(str(os.getpid()))
    try:
        fd = os.open(base / "sent.key", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        pass  # already sent by an earlier attempt
    else:
        os.close(fd)
        with open(base / "outbox", "a") as handle:
            handle.write("email\n")
    if context.attempt == 1:
        time.sleep(120)
    return "sent"


EFFECTS_TABLE = "townhall_test_fault_effect"


@task(takes_context=True)
def effect_in_transaction(context: TaskContext, folder: str, key: str) -> str:
    """A task whose effect is one database transaction keyed by the task (as Townhall's
    tasks are written): a kill before COMMIT leaves nothing, a re-run after COMMIT
    finds the key and adds nothing. Every attempt is logged to count the re-runs."""
    from django.db import transaction

    with open(Path(folder) / "attempts", "a") as handle:
        handle.write(f"{key} {context.attempt}\n")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS_TABLE} (key, attempt) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",  # noqa: S608 - a constant
            [key, context.attempt],
        )
        time.sleep(0.03)  # the kill often lands inside the transaction
    time.sleep(0.03)  # ... or after its COMMIT, before the result is recorded
    return key


# -- Helpers -------------------------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def townhall_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TOWNHALL_ENV", "REDIS_URL"}}
    env.update(DATABASE_URL=_database_url(), TOWNHALL_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def spawn(townhall_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"process-{len(started)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "townhall.cli", *args], env=townhall_env, stdout=log, stderr=subprocess.STDOUT
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_for(predicate: Callable[[], object], *, seconds: float = 45, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def status_of(result_id: object) -> str:
    return DBTaskResult.objects.get(pk=result_id).status


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- In-process worker: retries and the sweep ------------------------------------------


def test_worker_retries_retryable_errors_until_success(tmp_path: Path) -> None:
    log = tmp_path / "attempts"
    result = flaky.enqueue(str(log), 2)
    run_worker(config=WorkerConfig(interval=0, retry_backoff=0), batch=True)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.SUCCESSFUL and row.return_value == 3
    assert log.read_text().split() == ["1", "2", "3"]


def test_worker_gives_up_after_three_attempts(tmp_path: Path) -> None:
    log = tmp_path / "attempts"
    result = flaky.enqueue(str(log), 99)
    run_worker(config=WorkerConfig(interval=0, retry_backoff=0), batch=True)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "townhall.core.worker.RetryableError"
    assert log.read_text().split() == ["1", "2", "3"]


def test_worker_backs_off_between_retries(tmp_path: Path) -> None:
    result = flaky.enqueue(str(tmp_path / "attempts"), 99)
    config = WorkerConfig(interval=0, retry_backoff=10)
    run_worker(config=config, batch=True)  # attempt 1 fails; the retry is not due yet
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY and len(row.worker_ids) == 1
    assert timedelta(seconds=8) < row.run_after - timezone.now() <= timedelta(seconds=10)
    DBTaskResult.objects.filter(pk=result.id).update(run_after=timezone.now())
    run_worker(config=config, batch=True)  # attempt 2 fails: four times longer
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY and len(row.worker_ids) == 2
    assert timedelta(seconds=38) < row.run_after - timezone.now() <= timedelta(seconds=40)


def test_worker_does_not_retry_ordinary_errors() -> None:
    result = broken.enqueue()
    run_worker(config=WorkerConfig(interval=0, retry_backoff=0), batch=True)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.FAILED and len(row.worker_ids) == 1
    assert "a bug is not retried" in row.traceback
    assert not schedule_retry(row, retry_backoff=0)


def test_interrupted_task_is_retried_at_once() -> None:
    # A second Ctrl+C interrupts the running task (SystemExit inside it): not a bug in
    # the task, so it goes straight back to the queue.
    result = broken.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.FAILED, exception_class_path="builtins.SystemExit", worker_ids=["w"]
    )
    row = DBTaskResult.objects.get(pk=result.id)
    assert schedule_retry(row, retry_backoff=10)
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY and row.run_after <= timezone.now()


def _running(worker_id: str, *, minutes_ago: float, attempts: int = 1) -> DBTaskResult:
    result = broken.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        worker_ids=[f"earlier-{n}" for n in range(attempts - 1)] + [worker_id],
    )
    return DBTaskResult.objects.get(pk=result.id)


def test_requeue_lost_tasks_only_takes_tasks_of_silent_workers() -> None:
    beat("alive-worker")
    WorkerHeartbeat.objects.create(
        worker_id="dead-worker",
        hostname="h",
        pid=1,
        started_at=timezone.now(),
        seen_at=timezone.now() - timedelta(minutes=5),
    )
    lost = _running("dead-worker", minutes_ago=5)
    never_beat = _running("unknown-worker", minutes_ago=5)
    busy = _running("alive-worker", minutes_ago=30)  # long, but its worker is alive
    just_claimed = _running("dead-worker", minutes_ago=0)
    assert requeue_lost_tasks(stale_after=60) == 2
    statuses = {row.pk: row.status for row in DBTaskResult.objects.all()}
    assert statuses[lost.pk] == statuses[never_beat.pk] == TaskResultStatus.READY
    assert statuses[busy.pk] == statuses[just_claimed.pk] == TaskResultStatus.RUNNING
    # A second sweep (another worker, at the same moment) finds nothing to do.
    assert requeue_lost_tasks(stale_after=60) == 0


def test_requeue_lost_tasks_fails_a_task_that_used_its_attempts() -> None:
    row = _running("dead-worker", minutes_ago=5, attempts=3)
    assert requeue_lost_tasks(stale_after=60) == 1
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "townhall.core.worker.WorkerLost"


# -- Real worker processes ---------------------------------------------------------------


def test_worker_process_runs_a_queued_task_and_stops_on_sigterm(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = append_line.enqueue(str(out), "hello from the queue")
    worker = spawn("worker", *FAST)
    wait_for(lambda: status_of(result.id) == TaskResultStatus.SUCCESSFUL, what="the task to run")
    assert out.read_text() == "hello from the queue\n"
    assert WorkerHeartbeat.objects.count() == 1
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert not WorkerHeartbeat.objects.exists()  # a clean exit leaves no heartbeat behind


def test_worker_concurrency_runs_several_processes(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    results = [append_line.enqueue(str(out), f"line {n}") for n in range(6)]
    supervisor = spawn("worker", "--concurrency", "2", *FAST)
    wait_for(lambda: WorkerHeartbeat.objects.count() == 2, what="two worker processes")
    wait_for(lambda: all(status_of(r.id) == TaskResultStatus.SUCCESSFUL for r in results), what="the tasks to run")
    assert sorted(out.read_text().splitlines()) == [f"line {n}" for n in range(6)]
    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(timeout=30) == 0
    assert not WorkerHeartbeat.objects.exists()


def test_worker_killed_mid_task_is_rerun_once_and_its_effect_happens_once(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    result = send_once_then_hang.enqueue(str(tmp_path))
    first = spawn("worker", *FAST)
    wait_for(lambda: (tmp_path / "started-1").exists(), what="the first attempt to start")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.RUNNING and len(row.worker_ids) == 1  # orphaned

    second = spawn("worker", *FAST)
    wait_for(lambda: status_of(result.id) == TaskResultStatus.SUCCESSFUL, what="the re-run")
    time.sleep(2)  # several sweeps more: nothing runs a third time
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0

    row.refresh_from_db()
    assert row.return_value == "sent"
    assert len(row.worker_ids) == 2 and row.worker_ids[0] != row.worker_ids[1]
    assert sorted(p.name for p in tmp_path.glob("started-*")) == ["started-1", "started-2"]
    assert (tmp_path / "outbox").read_text() == "email\n"  # sent once, not twice


def test_worker_killed_at_random_moments_loses_and_repeats_nothing(tmp_path: Path, spawn, record_property) -> None:  # type: ignore[no-untyped-def]
    """40 tasks, their worker SIGKILLed 4 times at random moments mid-stream and
    restarted: every task ends SUCCESSFUL (no loss) and every effect exists exactly once
    (no duplicate), although killed attempts were run again."""
    import random

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {EFFECTS_TABLE} (key varchar(20) PRIMARY KEY, attempt integer)")
    try:
        keys = [f"task-{n}" for n in range(40)]
        results = [effect_in_transaction.enqueue(str(tmp_path), key) for key in keys]
        attempts = tmp_path / "attempts"
        rng = random.Random(5)

        def started() -> int:
            return len(attempts.read_text().splitlines()) if attempts.exists() else 0

        kills = 0
        for _ in range(4):
            worker = spawn("worker", *FAST)
            floor = started()
            # Past any re-run of the task killed last time, then a random moment.
            wait_for(lambda floor=floor: started() >= floor + 2, what="tasks to run")  # type: ignore[misc]
            time.sleep(rng.uniform(0.0, 0.15))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1
        last = spawn("worker", *FAST)
        wait_for(
            lambda: all(status_of(r.id) == TaskResultStatus.SUCCESSFUL for r in results),
            seconds=90,
            what="every task to succeed",
        )
        last.send_signal(signal.SIGTERM)
        assert last.wait(timeout=30) == 0
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT key FROM {EFFECTS_TABLE}")  # noqa: S608 - a constant
            effects = sorted(row[0] for row in cursor.fetchall())
        assert effects == sorted(keys), "every effect exactly once"
        runs = attempts.read_text().splitlines()
        assert len(runs) >= len(keys)
        record_property(
            "summary",
            f"fault, task worker SIGKILLed: {kills} kills over {len(keys)} tasks, {len(runs)} attempts, "
            "0 lost, 0 effects duplicated",
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {EFFECTS_TABLE}")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_starts_a_worker_and_ctrl_c_stops_both(tmp_path: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    server = spawn("serve", "--workers", "1", "--threads", "2", "--port", str(port))

    wait_for(lambda: _ready(port), what="the web server")
    wait_for(lambda: WorkerHeartbeat.objects.exists(), what="the embedded worker")
    worker_pid = WorkerHeartbeat.objects.get().pid
    out = tmp_path / "out"
    result = append_line.enqueue(str(out), "done by serve's worker")
    wait_for(lambda: status_of(result.id) == TaskResultStatus.SUCCESSFUL, what="the task to run")

    server.send_signal(signal.SIGINT)  # what Ctrl+C delivers
    assert server.wait(timeout=40) == 0
    assert not alive(worker_pid)
    assert not WorkerHeartbeat.objects.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_serve_without_worker_starts_none(spawn) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    server = spawn("serve", "--workers", "1", "--port", str(port), "--no-worker")

    wait_for(lambda: _ready(port), what="the web server")
    time.sleep(1)
    assert not WorkerHeartbeat.objects.exists()
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=40) == 0
