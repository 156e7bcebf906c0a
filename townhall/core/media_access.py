"""Who may fetch a stored file. Content apps register a rule per storage prefix (core
imports none of them): a file inside hidden content is hidden content.

Without a rule, files are for signed-in people; the organisation's logo (`org/`) is
public because the sign-in page shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Rule = Callable[[Any, str], bool]  # (viewer, stored name) -> may read

_RULES: dict[str, Rule] = {}
PUBLIC_PREFIXES = ("org/",)


def register(prefix: str, rule: Rule) -> None:
    _RULES[prefix] = rule


def can_read(viewer: Any, name: str) -> bool:
    if name.startswith(PUBLIC_PREFIXES):
        return True
    if not (viewer.is_authenticated and viewer.is_active):
        return False
    for prefix, rule in _RULES.items():
        if name.startswith(prefix):
            return rule(viewer, name)
    return True
