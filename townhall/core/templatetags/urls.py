"""`{% url %}` as Django's, with the reversed URL remembered (core/display.url): a
page's header and sidebars print the same few dozen URLs on every request. Loaded as a
template builtin after Django's own (settings.TEMPLATES), so every template's `{% url %}`
is this one; `{% url ... key=value %}` still goes through Django's node unchanged."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Parser, Token
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from townhall.core import display

register = template.Library()


class RememberedURLNode(URLNode):
    def render(self, context: Any) -> str:
        if self.kwargs:
            return str(super().render(context))
        args = [arg.resolve(context) for arg in self.args]
        view_name = self.view_name.resolve(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        found = ""
        try:
            found = display.url(view_name, *args, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = found
            return ""
        return str(conditional_escape(found)) if context.autoescape else found


@register.tag
def url(parser: Parser, token: Token) -> RememberedURLNode:
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
