"""The `townhall` console script.

townhall serve [--workers N] [--host H] [--port P] [--no-worker]
townhall worker [--concurrency N]
townhall migrate | check | demo [--people N] | createadmin | import-people FILE.csv
townhall backup [--output FILE] | restore FILE [--force]
townhall send-digests [--now]
townhall <any Django management command>
"""

from __future__ import annotations

import argparse
import os
import sys

ALIASES = {"import-people": "import_people", "send-digests": "send_digests"}


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.config.settings")
    import django

    django.setup()


def _refuse_unsafe() -> None:
    from django.conf import settings

    from townhall.config.env import problems

    found = problems(settings.ENV)
    if found:
        print("Townhall will not start in production with this configuration:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        sys.exit(2)


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="townhall serve",
        description="Serve Townhall: uvicorn with pages in a thread pool and live updates (/events/) async.",
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "8")))
    parser.add_argument(
        "--server",
        choices=("uvicorn", "gunicorn"),
        default=os.environ.get("WEB_SERVER", "uvicorn"),
        help="uvicorn (default): one port for pages and live updates. gunicorn: threaded WSGI "
        "workers for pages and the API only (live updates answer 204; route /events/ elsewhere).",
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="Do not start a background worker beside the web server (run `townhall worker` instead).",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be between 1 and 64")
    _setup()
    _refuse_unsafe()
    from django.conf import settings
    from django.core.management import call_command

    external = settings.ENV.production and os.environ.get("WORKERS_EXTERNAL", "") == "1"
    if not args.no_worker and not external:
        # The embedded default: one process supervises the web server (this command
        # again, with --no-worker) and one task worker, and stops both on Ctrl+C.
        from townhall.serving import Child, supervise

        me = [sys.executable, "-m", "townhall.cli"]
        sys.exit(
            supervise(
                [
                    Child("web server", [*me, "serve", "--no-worker", *argv], restart=False),
                    Child("worker", [*me, "worker", "--concurrency", "1"], restart=True),
                ]
            )
        )

    if settings.ENV.production:
        call_command("collectstatic", interactive=False, verbosity=0)
    from townhall.serving import run_gunicorn, run_uvicorn, sign_in_banner

    print(
        f"Townhall is serving at http://{args.host}:{args.port}/ "
        f"({args.server}: {args.workers} workers x {args.threads} threads)"
    )
    banner = sign_in_banner(address=f"http://{args.host}:{args.port}")
    if banner:
        print(banner)
    print("Stop with Ctrl+C.", flush=True)
    if args.server == "gunicorn":
        run_gunicorn(host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    else:
        run_uvicorn(host=args.host, port=args.port, workers=args.workers, threads=args.threads)


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="townhall worker", description="Run background tasks from the database queue until stopped."
    )
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("WORKER_CONCURRENCY", "1")))
    parser.add_argument("--queue", default="*", help="Comma-separated queue names ('*' = all).")
    parser.add_argument("--batch", action="store_true", help="Run the tasks that are due, then exit.")
    parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls of an empty queue.")
    # Tuning for tests and operators; the defaults suit production.
    parser.add_argument("--heartbeat", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--stale-after", type=float, default=60.0, help=argparse.SUPPRESS)
    parser.add_argument("--sweep-every", type=float, default=15.0, help=argparse.SUPPRESS)
    parser.add_argument("--retry-backoff", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    if min(args.interval, args.heartbeat, args.stale_after, args.sweep_every, args.retry_backoff) < 0:
        parser.error("durations must not be negative")
    if args.heartbeat * 2 >= args.stale_after:
        parser.error("--stale-after must be more than twice --heartbeat")
    _setup()
    _refuse_unsafe()
    if args.concurrency > 1:
        from townhall.serving import Child, supervise

        one = [sys.executable, "-m", "townhall.cli", "worker", "--concurrency", "1", "--queue", args.queue]
        for flag in ("interval", "heartbeat", "stale_after", "sweep_every", "retry_backoff"):
            one += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        if args.batch:
            one.append("--batch")
        print(f"Townhall worker: {args.concurrency} processes. Stop with Ctrl+C.", flush=True)
        sys.exit(supervise([Child(f"worker {n + 1}", one, restart=True) for n in range(args.concurrency)]))

    import logging

    from townhall.core.worker import WorkerConfig, run_worker

    for name in ("townhall.worker", "django_tasks_db", "django_tasks"):
        logging.getLogger(name).setLevel(logging.INFO)
    config = WorkerConfig(
        interval=args.interval,
        heartbeat=args.heartbeat,
        stale_after=args.stale_after,
        sweep_every=args.sweep_every,
        retry_backoff=args.retry_backoff,
    )
    run_worker(config=config, queues=tuple(args.queue.split(",")), batch=args.batch, handle_signals=True)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    if command == "serve":
        serve(rest)
        return
    if command == "worker":
        worker(rest)
        return
    _setup()
    from django.core.management import execute_from_command_line

    if command == "check":
        from django.conf import settings

        _refuse_unsafe()
        if settings.ENV.production and "--deploy" not in rest:
            rest = ["--deploy", "--fail-level", "WARNING", *rest]
    execute_from_command_line(["townhall", ALIASES.get(command, command), *rest])


if __name__ == "__main__":
    main()
