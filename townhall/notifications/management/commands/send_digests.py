"""`townhall send-digests`: start the digests that are due now.

By default the due digests are queued for the worker (the same thing the worker's
periodic job does every few minutes). `--now` sends them in this process instead, for
a deployment without a running worker or to try it out. Safe to run any time and
beside workers: each (person, period) is started once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from townhall.notifications.digest import deliver_digest, schedule_due_digests
from townhall.notifications.tasks import send_digest


class Command(BaseCommand):
    help = "Start the daily and weekly digests that are due (queued for the worker, or sent now with --now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="Send in this process instead of queueing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            runs = schedule_due_digests()
            outcomes = [deliver_digest(run_id=run.pk) for run in runs]
            sent = sum(1 for outcome in outcomes if outcome == "sent")
            self.stdout.write(f"{len(runs)} digests due: {sent} sent, {len(runs) - sent} skipped (nothing new or off).")
        else:
            runs = schedule_due_digests(enqueue=send_digest.enqueue)
            self.stdout.write(f"{len(runs)} digests queued for the worker.")
