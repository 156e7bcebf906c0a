"""render_markdown: Markdown features, and no executable output for any input."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from townhall.core.markdown import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_CLASSES,
    ALLOWED_TAGS,
    LINK_REL,
    Link,
    analyse,
    render_markdown,
    sanitize,
)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_safe(html: str) -> None:
    """Every tag, attribute, class and URL in `html` is on the allowlist."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs:
            value = value or ""
            if name == "rel":
                assert tag == "a" and value == LINK_REL, html
            elif name == "class":
                assert set(value.split()) <= ALLOWED_CLASSES.get(tag, set()), html
            else:
                assert name in ALLOWED_ATTRIBUTES.get(tag, set()), (tag, name, html)
            if name == "href":
                scheme = urlsplit(value.strip()).scheme.lower()
                assert scheme in {"", "http", "https", "mailto"}, html
                assert not value.strip().lower().startswith(("javascript", "vbscript", "data")), html
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered
    assert "<svg" not in lowered
    assert "<img" not in lowered
    assert "<style" not in lowered


# --- features --------------------------------------------------------------------------


def test_render_markdown_renders_commonmark_basics() -> None:
    html = render_markdown("Hello **bold** *em* `code` ~~gone~~\n\n- one\n- two\n\n> quote\n\n---\n\n1. a\n2. b")
    assert "<strong>bold</strong>" in html
    assert "<em>em</em>" in html
    assert "<code>code</code>" in html
    assert "<del>gone</del>" in html
    assert "<ul>" in html and "<li>one</li>" in html
    assert "<blockquote>" in html
    assert "<hr>" in html
    assert "<ol>" in html


def test_render_markdown_moves_headings_down_two_levels() -> None:
    html = render_markdown("# One\n\n## Two\n\n### Three\n\n###### Six")
    assert "<h3>One</h3>" in html
    assert "<h4>Two</h4>" in html
    assert "<h5>Three</h5>" in html
    assert "<h6>Six</h6>" in html
    assert "<h1" not in html and "<h2" not in html


def test_render_markdown_renders_tables_with_alignment_classes() -> None:
    html = render_markdown("| a | b |\n|--:|:-:|\n| 1 | 2 |")
    assert '<th class="align-right">a</th>' in html
    assert '<td class="align-center">2</td>' in html
    assert "style" not in html


def test_render_markdown_links_bare_urls_with_nofollow() -> None:
    html = render_markdown("See https://example.com/a_(b), and www.example.org.")
    assert f'<a href="https://example.com/a_(b)" rel="{LINK_REL}">https://example.com/a_(b)</a>,' in html
    assert f'<a href="http://www.example.org" rel="{LINK_REL}">www.example.org</a>.' in html


def test_render_markdown_keeps_explicit_links_and_titles() -> None:
    html = render_markdown('[docs](https://example.com/docs "The docs") and [home](/people/1/) <mailto:a@b.c>')
    assert 'href="https://example.com/docs"' in html and 'title="The docs"' in html
    assert 'href="/people/1/"' in html
    assert 'href="mailto:a@b.c"' in html


def test_render_markdown_does_not_render_images() -> None:
    html = render_markdown("![cat](https://example.com/cat.png)")
    assert "<img" not in html
    assert 'href="https://example.com/cat.png"' in html


def test_render_markdown_escapes_raw_html() -> None:
    html = render_markdown("<b>bold</b> <div>block</div>")
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<div" not in html


def test_render_markdown_does_not_link_urls_in_code() -> None:
    html = render_markdown("`https://example.com` and\n\n```\nhttps://example.org\n```")
    assert "<a " not in html


def test_render_markdown_rewriter_sees_only_plain_text() -> None:
    seen: list[str] = []

    def rewrite(text: str) -> list[str | Link]:
        seen.append(text)
        return [text.replace("X", ""), Link("/x/", "X", "mention")] if "X" in text else [text]

    html = render_markdown("a X `X in code` [X link](/l) https://x.com/X", rewrite=rewrite)
    assert all("in code" not in s and "X link" not in s and "x.com" not in s for s in seen)
    assert html.count('class="mention"') == 1


def test_render_markdown_rewriter_output_is_sanitised() -> None:
    html = render_markdown("hi", rewrite=lambda text: [Link("javascript:alert(1)", "<b>x</b>", "evil mention")])
    assert "javascript" not in html
    assert "<b>" not in html
    assert "evil" not in html
    assert_safe(html)


def test_analyse_reports_text_runs_and_links() -> None:
    analysis = analyse("Hi #a `#b` [#c](https://c.example) https://d.example/#e")
    assert "".join(analysis.text_runs).strip() == "Hi #a"
    assert analysis.link_urls == ["https://c.example", "https://d.example/#e"]


def test_render_markdown_handles_empty_and_huge_input() -> None:
    assert render_markdown("") == ""
    html = render_markdown("[" * 5000 + "x" + "]" * 5000 + "*" * 5000)
    assert_safe(html)


# --- XSS corpus --------------------------------------------------------------------------

XSS_VECTORS = [
    # javascript:, vbscript:, data: links in many spellings
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](&#0000106;&#0000097;vascript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](jav&#x0A;ascript:alert(1))",
    "[x](jav&#x0D;ascript:alert(1))",
    "[x](\\u006Aavascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](DATA:text/html,<script>alert(1)</script>)",
    "[x](data:image/svg+xml,<svg onload=alert(1)>)",
    "[x](file:///etc/passwd)",
    "[x](livescript:alert(1))",
    "<javascript:alert(1)>",
    "<vbscript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "javascript:alert(1)",
    "[x]: javascript:alert(1)\n\n[click][x]",
    '[ref]: <javascript:alert(1)> "t"\n\n[ref]',
    "[ref]: data:text/html;base64,PHNjcmlwdD4= \n\n[ref]",
    "![x](javascript:alert(1))",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    '[x](https://ok.example "title\\" onmouseover=\\"alert(1)")',
    "[x](https://ok.example \"a' onclick='alert(1)\")",
    '[x](https://ok.example/"onmouseover="alert(1))',
    # raw HTML, which must stay text
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<img src=`javascript:alert(1)`>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<a href=javascript:alert(1)>x</a>",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<style>@import 'javascript:alert(1)';</style>",
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=javascript:alert(1)//>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<marquee onstart=alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<textarea><script>alert(1)</script></textarea>",
    "<xmp><script>alert(1)</script></xmp>",
    # mXSS and entity tricks
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    '<math><mi><mglyph><svg><mtext><textarea><a title="</textarea><img src=x onerror=alert(1)>">',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "\\<script>alert(1)\\</script>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "**<img src=x onerror=alert(1)>**",
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    "[x](https://ok.example)<img src=x onerror=alert(1)>",
    "| <script>alert(1)</script> | b |\n|---|---|\n| <img src=x onerror=alert(1)> | d |",
    "~~<svg onload=alert(1)>~~",
    "> <iframe src=//evil.example>",
    "- <a href=javascript:alert(1)>x</a>",
    # autolinks
    '<https://ok.example/"><script>alert(1)</script>>',
    "https://ok.example/<script>alert(1)</script>",
    'https://ok.example/"onmouseover=alert(1)',
    "www.ok.example/'onmouseover=alert(1)",
    "http://ok.example/?a=<svg/onload=alert(1)>",
    "<mailto:x@y.z?subject=<script>alert(1)</script>>",
    "[x](mailto:javascript:alert(1))",
    "[x](//evil.example/%0a%0djavascript:alert(1))",
]


def test_xss_corpus_is_large() -> None:
    assert len(XSS_VECTORS) >= 60


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_render_markdown_xss_vector_produces_no_executable_output(vector: str) -> None:
    html = render_markdown(vector)
    assert_safe(html)
    assert sanitize(html) == html
    # Wrapped in prose, a list and a table cell too.
    for wrapped in (f"before {vector} after", f"- {vector}", f"| {vector} |\n|---|\n| {vector} |"):
        assert_safe(render_markdown(wrapped))


@pytest.mark.parametrize(
    "dirty",
    [
        '<a href="javascript:alert(1)" onclick="x()">x</a>',
        '<img src=x onerror="alert(1)">',
        "<svg onload=alert(1)><circle/></svg>",
        "<p style='color:red' class='evil'>x</p>",
        '<a href="data:text/html,x">x</a>',
        "<scr<script>ipt>alert(1)</script>",
    ],
)
def test_sanitize_alone_strips_dangerous_html(dirty: str) -> None:
    """The second layer holds even if the first let HTML through."""
    assert_safe(sanitize(dirty))


# --- properties ----------------------------------------------------------------------------

_PIECES = [
    *"<>&\"'`*_~[]()!#@:/\\=|-. \n\tabcjsvxyz0123456789",
    *[
        "javascript:",
        "data:",
        "<script>",
        "onerror=",
        "<svg",
        "&#106;",
        "https://",
        "www.",
        "```",
        "| --- |",
        "&colon;",
    ],
]
_MARKDOWNY = st.lists(st.sampled_from(_PIECES), max_size=80).map("".join)


def _examples(default: int) -> int:
    """CI size, or TOWNHALL_HYPOTHESIS_EXAMPLES for a longer run."""
    return int(os.environ.get("TOWNHALL_HYPOTHESIS_EXAMPLES", default))


# Hostile HTML built from parts: nested dangerous elements (script, SVG, MathML,
# mutation-XSS containers) with event handlers, URL attributes in obfuscated
# spellings, and values that try to break out of their quotes.
_HOSTILE_TAGS = [
    "script", "img", "svg", "math", "a", "iframe", "style", "p", "div", "noscript", "textarea",
    "template", "object", "embed", "form", "input", "details", "table", "td", "mglyph", "mtext",
    "title", "xmp", "base", "meta", "link", "video", "source", "body", "select", "annotation-xml",
    "foreignobject", "animate", "set", "use", "plaintext", "listing", "frameset", "iframe",
]  # fmt: skip
_HOSTILE_ATTRIBUTES = [
    "onerror", "onload", "onclick", "onmouseover", "ontoggle", "onfocus", "href", "src", "style",
    "xlink:href", "srcdoc", "formaction", "action", "title", "class", "id", "data", "background",
    "poster", "srcset", "attributename", "values", "to", "http-equiv", "content", "rel", "start",
]  # fmt: skip
_HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        [
            "javascript:alert(1)",
            " jav&#x09;ascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "&#106;avascript:alert(1)",
            "java\x00script:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
            "vbscript:msgbox(1)",
            "https://ok.example/",
            "/relative",
            "width:expression(alert(1))",
            "background:url(javascript:alert(1))",
            'x" onerror="alert(1)" y="',
            "x' onerror='alert(1)' y='",
            "</textarea><img src=x onerror=alert(1)>",
            "</style><script>alert(1)</script>",
            "mention topic align-left evil",
            "0;url=javascript:alert(1)",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def _hostile_element(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(_HOSTILE_TAGS))
    if draw(st.booleans()):
        tag = tag.upper() if draw(st.booleans()) else tag.title()
    attributes = ""
    for name in draw(st.lists(st.sampled_from(_HOSTILE_ATTRIBUTES), max_size=3)):
        quote = draw(st.sampled_from(['"', "'", "", "`"]))
        separator = draw(st.sampled_from([" ", "/", "\n", "\t", " \x0c"]))
        attributes += f"{separator}{name}={quote}{draw(_HOSTILE_VALUES)}{quote}"
    inner = draw(children)
    closing = draw(st.sampled_from([f"</{tag}>", "", f"</{tag}", "</p>", "-->"]))
    return f"<{tag}{attributes}>{inner}{closing}"


_HOSTILE_HTML = st.recursive(
    st.one_of(st.text(max_size=10), st.sampled_from(["<!--", "-->", "<![CDATA[", "]]>", "&lt;", "&#60;", "\x00"])),
    lambda children: _hostile_element(st.lists(children, max_size=3).map("".join)),
    max_leaves=12,
)


@settings(max_examples=_examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_MARKDOWNY, st.text(max_size=300)))
def test_render_markdown_output_is_allowlisted_and_a_fixpoint(text: str) -> None:
    html = render_markdown(text)
    assert_safe(html)
    assert sanitize(html) == html


@settings(max_examples=_examples(200), deadline=None)
@given(st.text(max_size=300))
def test_sanitize_is_idempotent_on_arbitrary_html(text: str) -> None:
    once = sanitize(text)
    assert sanitize(once) == once
    assert_safe(once)


@settings(max_examples=_examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_HOSTILE_HTML)
def test_sanitize_leaves_only_allowlisted_html_from_hostile_markup(html: str) -> None:
    """The second layer alone, fed nested hostile elements and attributes: only
    allowlisted tags, attributes, classes and URL schemes survive, and a second pass
    changes nothing."""
    once = sanitize(html)
    assert_safe(once)
    assert sanitize(once) == once


@settings(max_examples=_examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _HOSTILE_HTML, st.sampled_from(["{}", "**{}**", "[{}](https://ok.example)", "- {}", "| {} |\n|---|\n| x |", "> {}"])
)
def test_render_markdown_keeps_hostile_markup_inert(html: str, shape: str) -> None:
    """The whole pipeline, hostile HTML inside Markdown constructs."""
    rendered = render_markdown(shape.format(html))
    assert_safe(rendered)
    assert sanitize(rendered) == rendered


def test_sanitize_matches_plain_nh3_on_tags() -> None:
    """Our output never holds a tag that nh3's own defaults would remove."""
    html = render_markdown("# h\n\n**b** [l](https://x.example)\n\n| a |\n|---|\n| b |")
    default_clean = nh3.clean(
        html, link_rel=LINK_REL, attributes={"a": {"href", "title"}, "th": {"class"}, "td": {"class"}}
    )
    assert default_clean.replace(" ", "") == html.replace(" ", "")


def test_sanitize_keeps_no_attribute_off_the_allowlist_on_any_tag() -> None:
    """nh3 keeps `lang` and `title` on every tag unless told otherwise (found by the
    hostile-markup property above)."""
    html = sanitize('<p title="javascript:alert(1)" lang="fi">a</p><a href="/x" title="t" lang="en">b</a>')
    assert html == f'<p>a</p><a href="/x" title="t" rel="{LINK_REL}">b</a>'
