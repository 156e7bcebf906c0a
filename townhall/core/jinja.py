"""The Jinja2 environment for the hottest partials (the post card and its comments).

A feed page renders twenty cards; in Django's template language that took 1.2 ms per
card, about half of the home page's server time (docs/performance.md). Jinja2
compiles a template to a Python function and renders the same card several times
faster. Every other template stays in Django's language: pages include these
partials with `{% jinja "posts/_post.html" %}` (core/templatetags/jinja_tags.py) and
views render them by name like any template (Jinja2 is the second engine in TEMPLATES).

The filters and globals are Django's own functions, so a card prints dates, plurals
and URLs exactly as the Django templates around it do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import defaultfilters
from django.template.backends import jinja2 as jinja2_backend
from django.urls import reverse
from django.utils.html import format_html
from jinja2 import Environment

from townhall.core.display import IdUrls, ago, avatar, id_url
from townhall.core.idempotency import form_token_input


def date(value: Any, arg: str | None = None) -> str:
    """Django's `date` filter; the ISO form of `<time datetime>` (twice per card) without
    its format machinery (DateFormat's "c" is exactly isoformat())."""
    if arg == "c" and isinstance(value, datetime):
        return value.isoformat()
    return defaultfilters.date(value, arg)


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def environment(**options: Any) -> Environment:
    env = Environment(**options)  # noqa: S701 - autoescape comes from TEMPLATES (settings.py)  # nosec B701
    env.globals.update({"url": url, "id_url": id_url, "avatar": avatar, "form_token": form_token_input})
    env.filters.update(
        {
            "date": date,
            "pluralize": defaultfilters.pluralize,
            "yesno": defaultfilters.yesno,
            "truncatechars": defaultfilters.truncatechars,
            "urlencode": defaultfilters.urlencode,
            "ago": ago,
        }
    )
    return env


class _Template(jinja2_backend.Template):
    """Django's Jinja2 template, but the CSRF field is computed once per render:
    Django's lazy `csrf_input` masks a fresh token (64 random characters) every time
    a template prints it, and a feed page prints it about forty times."""

    def render(self, context: dict[str, Any] | None = None, request: HttpRequest | None = None) -> str:
        context = dict(context or {})
        context["id_url"] = IdUrls()
        if request is not None:
            token = get_token(request)
            context["request"] = request
            context["csrf_token"] = token
            context["csrf_input"] = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
            for processor in self.backend.template_context_processors:
                context.update(processor(request))
        return self.template.render(context)


class Jinja2(jinja2_backend.Jinja2):
    """The Jinja2 engine with _Template (TEMPLATES' BACKEND for the Jinja2 partials)."""

    def get_template(self, template_name: str) -> _Template:
        return _Template(super().get_template(template_name).template, self)
