from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from townhall.accounts.models import User
from townhall.core.errors import TownhallError
from townhall.demo.content import load_content
from townhall.demo.notifications import seed_notifications
from townhall.directory.demo import (
    ADMIN_EMAIL,
    MAX_PEOPLE,
    MEMBER_EMAIL,
    MIN_PEOPLE,
    ORG_NAME,
    build_demo,
    credentials_path,
    saved_password,
    sign_in_line,
)
from townhall.search.index import reindex
from townhall.search.models import Document


class Command(BaseCommand):
    help = (
        f"Load the demo organisation ({ORG_NAME}): people, communities and two months of conversation, "
        "into an empty database, and print how to sign in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=160, help=f"How many people ({MIN_PEOPLE}-{MAX_PEOPLE}).")
        parser.add_argument("--seed", type=int, default=7, help="The same seed gives the same organisation.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing (but print how to sign in) when people already exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.exists():
            if not options["if_empty"]:
                raise CommandError(
                    "The database already has people in it; the demo organisation is only loaded into an empty one."
                )
            self.stdout.write("Demo data already loaded.")
            if not Document.objects.exists():  # loaded before search existed
                reindex()
                self.stdout.write("Search index built.")
            password = saved_password()
            if password:
                self.stdout.write(sign_in_line(password))
            else:
                self.stdout.write(f"(No demo password saved in {credentials_path()}.)")
            return
        try:
            result = build_demo(people=options["people"], seed=options["seed"])
        except TownhallError as exc:
            raise CommandError(exc.message) from exc
        content = load_content(seed=options["seed"])
        seed_notifications(emails=[ADMIN_EMAIL, MEMBER_EMAIL])
        # The demo writes in bulk, past the services that keep the index current.
        indexed = sum(count for count, _seconds in reindex().values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {ORG_NAME}: {result.people} people, {result.departments} departments, {result.teams} teams, "
                f"{result.locations} locations, {content.communities} communities, {content.posts} posts, "
                f"{content.comments} comments, {content.reactions} reactions, {indexed} search documents "
                f"in {result.seconds + content.seconds:.1f} s."
            )
        )
        self.stdout.write(result.sign_in)
        self.stdout.write(f"(Saved in {result.credentials_path}, readable only by you.)")
