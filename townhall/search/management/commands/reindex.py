"""`townhall reindex`: rebuild the search index from the live rows."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from townhall.search import registry
from townhall.search.index import reindex


class Command(BaseCommand):
    help = "Rebuild the search index (all kinds, or those given with --kind)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kind", action="append", help="Only this kind (repeatable): " + ", ".join(registry.kinds())
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = options.get("kind")
        unknown = set(kinds or []) - set(registry.kinds())
        if unknown:
            raise CommandError(f"Unknown kind: {', '.join(sorted(unknown))}. Known: {', '.join(registry.kinds())}.")
        started = time.perf_counter()
        report = reindex(kinds)
        for kind, (count, seconds) in report.items():
            self.stdout.write(f"{kind:>12}: {count:>9} documents in {seconds:.1f} s")
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt in {time.perf_counter() - started:.1f} s."))
