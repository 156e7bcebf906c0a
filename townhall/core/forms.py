from __future__ import annotations

from django import forms

from townhall.core.errors import TownhallError


def apply_error(form: forms.Form, exc: TownhallError) -> None:
    """Show a service's error on the form: per field where the field exists, else at the top."""
    placed = False
    for name, messages in exc.fields.items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed or exc.message not in {m for ms in exc.fields.values() for m in ms}:
        form.add_error(None, exc.message)
