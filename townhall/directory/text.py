from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Letters that Unicode does not decompose into a base letter plus an accent.
_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ŋ": "n"}
)


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'José Ødegård' and 'jose odegard' match on any database."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)


def search_text_for(
    *,
    full_name: str,
    preferred_name: str,
    email: str,
    title: str,
    department: str,
    team: str,
    skills: Iterable[str],
) -> tuple[str, str]:
    """(search_text, sort_name) for a profile: the one definition used by
    `services.profile_refresh_search` and by bulk writers (HR import, demo): names, the email's local
    part, title, department, team, then the skill names in name order."""
    display_name = preferred_name or full_name or email
    parts = [full_name, preferred_name, email.split("@")[0], title, department, team, *sorted(skills)]
    return " ".join(fold(p) for p in parts if p), fold(display_name)[:150]
