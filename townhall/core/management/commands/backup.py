"""`townhall backup [--output FILE]`: a consistent online snapshot of the database and
the media files in one archive (see townhall/core/backup.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from townhall.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = "Back up the database and the media files into one verified archive (safe while Townhall runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            help="Archive to write (default: var/backups/townhall-YYYYmmdd-HHMMSS.tar.gz).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        output = options["output"]
        if not output:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            output = settings.ENV.var_dir / "backups" / f"townhall-{stamp}.tar.gz"
        try:
            result = create_backup(Path(output), progress=self._say)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        self.stdout.write(
            f"Backup written to {result.path} ({manifest['engine']}, {manifest['rows']} rows, "
            f"{manifest['media']['files']} media files)"
        )

    def _say(self, message: str) -> None:
        if self.verbosity > 1:
            self.stderr.write(message)
