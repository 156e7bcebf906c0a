"""`townhall restore FILE [--force]`: verify a backup archive, load it into the
configured database and MEDIA_ROOT, then migrate. Stop the server and workers first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from townhall.core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore a `townhall backup` archive (refuses a non-empty target unless --force)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="The .tar.gz written by `townhall backup`.")
        parser.add_argument(
            "--force", action="store_true", help="Replace a database that holds people, and any media files."
        )
        parser.add_argument("--no-migrate", action="store_true", help="Do not run the migrations afterwards.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        try:
            manifest = restore_backup(
                Path(options["archive"]),
                force=options["force"],
                migrate=not options["no_migrate"],
                progress=self._say,
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Restored the backup of {manifest['created_at']}: {manifest['rows']} rows, "
            f"{manifest['media']['files']} media files"
        )

    def _say(self, message: str) -> None:
        if self.verbosity > 1:
            self.stderr.write(message)
