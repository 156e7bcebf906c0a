"""Rewrite (or, with --check, verify) the committed OpenAPI snapshot.

    .venv/bin/python -m django openapi_snapshot --settings=townhall.config.settings

The snapshot makes every API change visible in review: a test fails while the live
schema and `townhall/api/openapi.json` differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from ninja.responses import NinjaJSONEncoder

from townhall.api.api import api

SNAPSHOT_PATH = Path(__file__).resolve().parents[2] / "openapi.json"
COMMAND = ".venv/bin/python -m django openapi_snapshot --settings=townhall.config.settings"


def render_schema(schema: Any) -> str:
    """The snapshot's exact text: pretty, keys sorted, one trailing newline."""
    return json.dumps(schema, cls=NinjaJSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def live_schema_text() -> str:
    return render_schema(api.get_openapi_schema())


class Command(BaseCommand):
    help = "Write the live OpenAPI schema to townhall/api/openapi.json (--check only compares)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Exit with an error if the snapshot is out of date.")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        text = live_schema_text()
        current = SNAPSHOT_PATH.read_text(encoding="utf-8") if SNAPSHOT_PATH.exists() else None
        if check:
            if current != text:
                raise CommandError(f"{SNAPSHOT_PATH} is out of date; run: {COMMAND}")
            self.stdout.write("The OpenAPI snapshot is up to date.")
            return
        if current == text:
            self.stdout.write("The OpenAPI snapshot is already up to date.")
            return
        SNAPSHOT_PATH.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {SNAPSHOT_PATH}"))
