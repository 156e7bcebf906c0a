from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from townhall.accounts.models import Role, User
from townhall.directory.csv_import import ImportReport, import_people


class Command(BaseCommand):
    help = (
        "Import people from an HR CSV file (columns by header name: email, full_name, title, department, team, "
        "location, manager_email, ...). Validates every row first; any error means nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file, or - to read standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument(
            "--as", dest="actor", metavar="EMAIL", help="Import as this administrator (default: the first active one)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["actor"])
        data = self._read(options["file"])
        report = import_people(actor=actor, data=data, dry_run=options["dry_run"])
        self._print(report, verbosity=options["verbosity"])
        if report.errors:
            raise CommandError(report.summary(), returncode=1)

    def _actor(self, email: str | None) -> User:
        admins = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id")
        if email:
            actor = admins.filter(email=email.strip().lower()).first()
            if actor is None:
                raise CommandError(f"{email} is not an active administrator.")
            return actor
        actor = admins.first()
        if actor is None:
            raise CommandError("There is no active administrator. Create one with `townhall createadmin` first.")
        return actor

    def _read(self, name: str) -> bytes:
        from django.conf import settings

        limit = int(settings.TOWNHALL_CSV_MAX_BYTES)
        if name == "-":
            return sys.stdin.buffer.read(limit + 1)
        try:
            with open(name, "rb") as handle:
                return handle.read(limit + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {name}: {exc.strerror or exc}.") from exc

    def _print(self, report: ImportReport, *, verbosity: int) -> None:
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        for problem in report.errors:
            self.stderr.write(self.style.ERROR(str(problem)))
        if report.errors:
            return
        for row in report.rows:
            if row.action == "unchanged" and verbosity < 2:
                continue
            details = "; ".join(
                f"{c.field}: {c.new}" if row.action == "created" else f"{c.field}: {c.old or '—'} → {c.new or '—'}"
                for c in row.changes
            )
            self.stdout.write(f"Line {row.line}: {row.email} {row.action}{f' ({details})' if details else ''}")
        if report.dry_run:
            self.stdout.write("Dry run: nothing was written.")
        self.stdout.write(self.style.SUCCESS(report.summary()))
