"""The `townhall` console script.

townhall serve [--workers N] [--host H] [--port P]
townhall migrate | check | demo [--people N] | createadmin | import-people FILE.csv
townhall <any Django management command>
"""

from __future__ import annotations

import argparse
import os
import sys

ALIASES = {"import-people": "import_people"}


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
        prog="townhall serve", description="Serve Townhall with gunicorn (threaded WSGI workers)."
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be between 1 and 64")
    _setup()
    _refuse_unsafe()
    from django.conf import settings
    from django.core.management import call_command

    if settings.ENV.production:
        call_command("collectstatic", interactive=False, verbosity=0)
    from townhall.serving import run_gunicorn, sign_in_banner

    print(f"Townhall is serving at http://{args.host}:{args.port}/ ({args.workers} workers x {args.threads} threads)")
    banner = sign_in_banner()
    if banner:
        print(banner)
    print("Stop with Ctrl+C.", flush=True)
    run_gunicorn(host=args.host, port=args.port, workers=args.workers, threads=args.threads)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    if command == "serve":
        serve(rest)
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
