"""Markdown to safe HTML, in two independent layers.

1. markdown-it-py parses CommonMark (+ tables and ~~strikethrough~~) with raw HTML
   turned off, so anything that looks like a tag arrives as escaped text. Images are
   not parsed (`![alt](src)` stays a link), headings are moved down two levels so a
   post never outranks the page around it, and bare http(s)/www URLs become links.
   Apps may rewrite plain text into extra links (posts turn @mentions and #topics
   into links) on the token stream: text never gets spliced into HTML by hand.
2. nh3 (ammonia) cleans the rendered HTML against an explicit allowlist: tags,
   attributes per tag, classes per tag, URL schemes http/https/mailto (or relative),
   and `rel="nofollow noopener noreferrer"` on every link.

Either layer alone should stop script; both run every time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
        "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "ol": {"start"}}
ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
# Classes the renderer itself adds; user input cannot produce a class attribute.
ALLOWED_CLASSES: dict[str, set[str]] = {"a": {"mention", "topic"}, "th": ALIGN_CLASSES, "td": ALIGN_CLASSES}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
# Removed with their content, should a tag ever get through the parser.
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math"}

# Headings in a post sit under the page's own h1/h2.
_HEADING_TAGS = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}

# Marks a `\#` or `\@` the author escaped (or wrote as an entity), so it is never read
# as a topic or mention; removed from the text before rendering.
ESCAPED = "\ue000"

_URL = re.compile(r"(?<![\w/@.\-:])(?:https?://|www\.)[^\s<>\"'`\ue000]+", re.IGNORECASE)
_TRAILING = ".,:;!?'\"*_~"


@dataclass(frozen=True)
class Link:
    """A link a rewriter inserts in place of some text."""

    href: str
    text: str
    css_class: str = ""


Piece = str | Link
# Given a run of plain text (outside links and code), the pieces that replace it.
Rewriter = Callable[[str], Sequence[Piece]]


@dataclass
class Analysis:
    """What a body contains, read from the same token stream the renderer uses."""

    text_runs: list[str] = field(default_factory=list)  # plain text outside links and code
    link_urls: list[str] = field(default_factory=list)  # every link target, in order


def _mark_escapes(state: StateCore) -> None:
    for block in state.tokens:
        for child in block.children or ():
            if child.type == "text_special" and child.info in {"escape", "entity"} and child.content in {"#", "@"}:
                child.content = ESCAPED + child.content


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    md.core.ruler.before("text_join", "townhall_escapes", _mark_escapes)
    return md


_MD = _build()


def _trim_url(candidate: str) -> tuple[str, str]:
    """Split sentence punctuation (and an unbalanced closing bracket) off a bare URL."""
    url = candidate
    while url:
        last = url[-1]
        if last in _TRAILING or (last == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
            continue
        break
    return url, candidate[len(url) :]


def _linkify(text: str) -> list[Piece]:
    pieces: list[Piece] = []
    position = 0
    for match in _URL.finditer(text):
        url, _rest = _trim_url(match.group(0))
        href = url if "://" in url else f"http://{url}"
        if len(url) < 8 or not _MD.validateLink(href):
            continue
        if match.start() > position:
            pieces.append(text[position : match.start()])
        pieces.append(Link(href=_MD.normalizeLink(href), text=url))
        position = match.start() + len(url)
    if position < len(text):
        pieces.append(text[position:])
    return pieces


def _link_tokens(link: Link, level: int) -> list[Token]:
    attrs: dict[str, Any] = {"href": link.href}
    if link.css_class:
        attrs["class"] = link.css_class
    opening = Token("link_open", "a", 1, attrs=attrs, level=level)
    text = Token("text", "", 0, content=link.text, level=level + 1)
    closing = Token("link_close", "a", -1, level=level)
    return [opening, text, closing]


def _walk_inline(children: list[Token], rewrite: Rewriter | None, analysis: Analysis | None) -> list[Token]:
    out: list[Token] = []
    depth = 0
    for token in children:
        if token.type == "link_open":
            depth += 1
            href = token.attrGet("href")
            if analysis is not None and isinstance(href, str):
                analysis.link_urls.append(href)
        elif token.type == "link_close":
            depth -= 1
        elif token.type in {"s_open", "s_close"}:
            token.tag = "del"  # ~~strikethrough~~ is a deletion
        if token.type != "text":
            out.append(token)
            continue
        if depth > 0:
            token.content = token.content.replace(ESCAPED, "")
            out.append(token)
            continue
        for piece in _linkify(token.content):
            if isinstance(piece, Link):
                if analysis is not None:
                    analysis.link_urls.append(piece.href)
                out.extend(_link_tokens(piece, token.level))
                continue
            if analysis is not None:
                analysis.text_runs.append(piece)
            for part in rewrite(piece) if rewrite is not None else (piece,):
                if isinstance(part, Link):
                    out.extend(
                        _link_tokens(Link(part.href, part.text.replace(ESCAPED, ""), part.css_class), token.level)
                    )
                else:
                    out.append(Token("text", "", 0, content=part.replace(ESCAPED, ""), level=token.level))
    return out


def _transform(tokens: list[Token], rewrite: Rewriter | None, analysis: Analysis | None) -> None:
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            token.tag = _HEADING_TAGS.get(token.tag, "h6")
        elif token.type in {"th_open", "td_open"}:
            style = str(token.attrGet("style") or "")
            token.attrs.pop("style", None)
            align = style.removeprefix("text-align:")
            if f"align-{align}" in ALIGN_CLASSES:
                token.attrSet("class", f"align-{align}")
        elif token.type == "inline" and token.children is not None:
            token.children = _walk_inline(token.children, rewrite, analysis)


def sanitize(html: str) -> str:
    """nh3 with Townhall's allowlist; idempotent (sanitize(sanitize(x)) == sanitize(x))."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        # "*": no attribute on every tag (nh3 otherwise keeps its defaults, lang and title).
        attributes={"*": set(), **{tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()}},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        strip_comments=True,
    )


def render_markdown(text: str, *, rewrite: Rewriter | None = None) -> str:
    """Render Markdown `text` to HTML that is safe to insert into a page as is.

    `rewrite`, when given, is called with each run of plain text outside code, links
    and URLs, and returns the pieces replacing it (strings stay text; `Link`s become
    links). Whatever it returns is escaped and sanitised like the rest.
    """
    tokens = _MD.parse(text or "")
    _transform(tokens, rewrite, None)
    return sanitize(_MD.renderer.render(tokens, _MD.options, {}))


def analyse(text: str) -> Analysis:
    """The plain-text runs and link targets of `text`, as `render_markdown` sees them:
    text inside code spans, code blocks and links is not a text run."""
    analysis = Analysis()
    _transform(_MD.parse(text or ""), None, analysis)
    return analysis


def iter_urls(text: str) -> Iterator[str]:
    """Link targets in `text` (explicit links, autolinks and bare URLs), in order."""
    yield from analyse(text).link_urls
