from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'José' and 'jose' match on any database."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
