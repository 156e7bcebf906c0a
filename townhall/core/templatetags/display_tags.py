"""Display helpers for Django templates (defined in core/display.py, shared with the
Jinja2 partials)."""

from __future__ import annotations

from django import template

from townhall.core import display, idempotency

register = template.Library()

register.filter("ago", display.ago)
register.simple_tag(display.id_url, name="id_url")
register.simple_tag(display.avatar, name="avatar")
register.simple_tag(idempotency.form_token_input, name="form_token")
