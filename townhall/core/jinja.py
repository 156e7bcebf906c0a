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
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.html import format_html
from jinja2 import Environment

from townhall.core.display import IdUrls, ago, avatar, id_url, url
from townhall.core.idempotency import form_token_input

# The one long form the partials print (a card's and a comment's `title`).
LONG_FORM = "j F Y, H:i"


def date(value: Any, arg: str | None = None) -> str:
    """Django's `date` filter, in the current time zone as Django's templates print it
    (its `expects_localtime`). The partials' two forms skip the format machinery:
    `<time datetime>`'s "c" is exactly isoformat(), and LONG_FORM is day, month name,
    year and time (both are printed for every card and comment)."""
    if isinstance(value, datetime):
        if arg == "c":
            return value.isoformat()
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        if arg == LONG_FORM:
            return f"{value.day} {MONTHS[value.month]} {value.year}, {value:%H:%M}"
    return defaultfilters.date(value, arg)


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
