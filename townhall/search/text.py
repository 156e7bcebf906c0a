"""Folding (lower case, no accents) and highlighted snippets.

`fold` gives the same result as townhall.directory.text.fold (the platform app may
not import it). Snippets are cut from plain text, escaped, and only then marked, so
nothing from content is ever emitted as HTML.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ŋ": "n"}
)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)


def fold(text: str) -> str:
    """Lower-case and strip accents: 'José Ødegård' -> 'jose odegard'."""
    return "".join(_fold_char(c) for c in (text or ""))


def _folded_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """The folded text and, for each folded character, the index of the original
    character it came from (folding may change lengths: 'ß' -> 'ss'); None when
    they are the same (ASCII text: ten times faster, most snippets)."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char.lower() if char < "\x80" else _fold_char(char)  # ASCII: the fast path
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def _is_word_char(char: str) -> bool:
    return char.isalnum()


def _spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) in `text` of every word that starts with one of the folded
    `terms` (prefix match at a word start, like the index), merged and sorted."""
    folded, origin = _folded_with_offsets(text)
    spans: list[tuple[int, int]] = []
    for term in {t for t in terms if t}:
        start = folded.find(term)
        while start != -1:
            if start == 0 or not _is_word_char(folded[start - 1]):
                end = start + len(term)
                while end < len(folded) and _is_word_char(folded[end]):
                    end += 1
                spans.append((start, end) if origin is None else (origin[start], origin[end - 1] + 1))
            start = folded.find(term, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, terms: Sequence[str], *, width: int = 220) -> SafeString:
    """A window of `text` around the first match, at most `width` characters,
    escaped, with every matching word wrapped in <mark>."""
    text = " ".join((text or "").split())
    spans = _spans(text, terms)
    begin = 0
    if spans and len(text) > width and spans[0][0] > width // 3:
        begin = spans[0][0] - width // 3
        while begin > 0 and not text[begin - 1].isspace():
            begin -= 1
    end = min(len(text), begin + width)
    if end < len(text):
        while end > begin + width // 2 and not text[end].isspace():
            end -= 1
    parts: list[str] = ["…" if begin else ""]
    cursor = begin
    for start, stop in spans:
        if stop <= begin or start >= end:
            continue
        start, stop = max(start, begin), min(stop, end)
        parts.append(escape(text[cursor:start]))
        parts.append(f"<mark>{escape(text[start:stop])}</mark>")
        cursor = stop
    parts.append(escape(text[cursor:end]))
    if end < len(text):
        parts.append("…")
    return mark_safe("".join(parts))  # every piece of content above is escaped  # nosec B308 B703
