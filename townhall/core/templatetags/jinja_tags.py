"""`{% jinja "name" key=value ... %}`: render a Jinja2 partial (core/jinja.py) from a
Django template, with the surrounding context plus the given values."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja(context: template.Context, name: str, **values: Any) -> SafeString:
    data: dict[str, Any] = {str(key): value for key, value in context.flatten().items()}
    data.update(values)
    request = data.pop("request", None)
    for key in ("csrf_input", "csrf_token"):  # the backend sets these from the request
        data.pop(key, None)
    html = engines["jinja2"].get_template(name).render(data, request if isinstance(request, HttpRequest) else None)
    return mark_safe(html)  # Jinja2 escaped everything it printed  # nosec B308 B703
