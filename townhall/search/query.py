"""The search query language, parsed into plain data before any backend sees it.

- words: matched as prefixes, accent- and case-insensitive (`deplo` finds "deployment")
- "a phrase": the words next to each other, in order
- `from:@handle` (or `from:handle`): written by that person
- `in:community-slug`: inside that community
- `#topic`: tagged with that topic

Everything that reaches a backend is made only of letters and digits (folded), so no
FTS syntax (`* " ( ) : ^ NEAR AND OR NOT`) ever comes from the user. Bad input never
raises: it yields an empty query and a message to show.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from townhall.search.text import fold

MAX_QUERY_LENGTH = 256
MAX_TERMS = 10
MAX_OPERATORS = 5

# Too common to narrow anything down (both backends agree because they never see them).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "not",
        "no",
        "so",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "we",
        "you",
        "i",
        "me",
        "my",
        "our",
        "your",
        "he",
        "she",
        "him",
        "her",
        "them",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "how",
    ]
)

_TOKEN = re.compile(
    r'"(?P<phrase>[^"]*)"'
    r"|(?<!\S)from:@?(?P<author>[\w.+-]+)"
    r"|(?<!\S)in:(?P<community>[\w-]+)"
    r"|(?<!\S)#(?P<topic>[\w-]+)"
    r"|(?P<text>[^\s\"]+)",
    re.UNICODE,
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    authors: tuple[str, ...] = ()  # handles, lower case
    communities: tuple[str, ...] = ()  # slugs, lower case
    topics: tuple[str, ...] = ()  # topic slugs, as tag words
    messages: tuple[str, ...] = field(default=())

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases or self.topics)

    @property
    def is_empty(self) -> bool:
        return not (self.has_text or self.authors or self.communities)


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(unicodedata.normalize("NFC", text)))


def _keep(word: str) -> bool:
    return word not in STOP_WORDS and (len(word) > 1 or word.isdigit())


def parse(raw: str) -> ParsedQuery:
    """Parse what someone typed. Never raises."""
    text = (raw or "").replace("\x00", " ")
    messages: list[str] = []
    if len(text) > MAX_QUERY_LENGTH:
        text = text[:MAX_QUERY_LENGTH]
        messages.append(f"Your search was cut to its first {MAX_QUERY_LENGTH} characters.")
    if text.count('"') % 2:
        # An unclosed quote: search for its words as words.
        last = text.rfind('"')
        text = text[:last] + " " + text[last + 1 :]
        messages.append("A quotation mark was not closed, so those words were searched for separately.")
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    authors: list[str] = []
    communities: list[str] = []
    topics: list[str] = []
    dropped = False
    for match in _TOKEN.finditer(text):
        if match.group("phrase") is not None:
            phrase = tuple(_words(match.group("phrase")))
            if len(phrase) > 1:
                phrases.append(phrase[:MAX_TERMS])
            elif phrase and _keep(phrase[0]):
                words.append(phrase[0])
            elif phrase:
                dropped = True
        elif match.group("author"):
            authors.append(match.group("author").lower().rstrip("._+-"))
        elif match.group("community"):
            communities.append(match.group("community").lower())
        elif match.group("topic"):
            slug = " ".join(_words(match.group("topic")))
            if slug:
                topics.append(slug)
        else:
            for word in _words(match.group("text")):
                if _keep(word):
                    words.append(word)
                else:
                    dropped = True
    words = list(dict.fromkeys(words))
    if len(words) + len(phrases) + len(topics) > MAX_TERMS:
        messages.append(f"Only the first {MAX_TERMS} words were used.")
        words = words[:MAX_TERMS]
        phrases = phrases[: max(0, MAX_TERMS - len(words))]
        topics = topics[: max(0, MAX_TERMS - len(words) - len(phrases))]
    parsed = ParsedQuery(
        words=tuple(words),
        phrases=tuple(dict.fromkeys(phrases)),
        authors=tuple(dict.fromkeys(a for a in authors if a))[:MAX_OPERATORS],
        communities=tuple(dict.fromkeys(communities))[:MAX_OPERATORS],
        topics=tuple(dict.fromkeys(topics))[:MAX_OPERATORS],
        messages=tuple(messages),
    )
    if parsed.is_empty and dropped:
        return ParsedQuery(messages=(*messages, "Those words are too common to search for. Add a more specific word."))
    return parsed


def partial_forms(word: str) -> list[str]:
    """The word and its shorter prefixes (up to 4 letters shorter, never under 4
    letters, 3 for short words): the fallback when a partial word ends inside a
    stemmed ending ("deploymen" is not a prefix of the stem "deploy")."""
    shortest = 3 if len(word) <= 5 else 4
    return [word] + [word[:-cut] for cut in range(1, 5) if len(word) - cut >= shortest]
