from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter plus an accent.
_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ŋ": "n"}
)


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'José Ødegård' and 'jose odegard' match on any database."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)
