from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from townhall.accounts.models import Role, User
from townhall.accounts.services import user_create
from townhall.core.errors import TownhallError


class Command(BaseCommand):
    help = "Create an administrator (or make an existing person one). Password from --password-env or a prompt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="Administrator")
        parser.add_argument("--password-env", help="Read the password from this environment variable.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        existing = User.objects.filter(email=email).first()
        if existing is not None:
            User.objects.filter(pk=existing.pk).update(role=Role.ADMIN, is_active=True, deactivated_at=None)
            self.stdout.write(self.style.SUCCESS(f"{email} is now an administrator."))
            return
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
            if not password:
                raise CommandError(f"The environment variable {options['password_env']} is empty.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Again: "):
                raise CommandError("The passwords differ.")
        try:
            user_create(email=email, full_name=options["name"], password=password, role=Role.ADMIN)
        except TownhallError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Administrator {email} created. Sign in at /signin."))
