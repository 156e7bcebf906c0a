"""The XSS corpus (xss_vectors.py) through every place Townhall renders text: 0
executable output.

For each vector a hostile person is planted whose every text field holds it: name,
profile (pronouns, title, phone, about, skills, interests, department, team,
location), a community (name, description), a topic, a post (body, image alt text and
file name, a link preview's title, description, site name and URL), a comment (body,
image alt text and file name) on a colleague's post (whose body holds it too, so the
colleague's notification quotes it). Then a signed-in colleague reads every page,
fragment and API answer that shows any of it, the notification centre, the
notification email and the digest email, and the search, directory and community
pages with the vector as the query (reflected input).

Every field starts with a tracer (`zq<n>x`) so the test knows the place really showed
that vector; the check then parses the page (stdlib html.parser) and compares it with
the same page rendered for benign text: no script, iframe, object, embed, base, meta
refresh, link or style element that the benign page does not have, no inline script,
no `on*` attribute, no javascript:/vbscript:/data: URL in any URL attribute (except
raster `data:image/` on an img), no style attribute with expression()/url()/javascript,
and no evaluated template output (xss_vectors.MARKERS, the secret key). API answers
must be JSON with nosniff, and every `*_html` field passes the same HTML check.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from townhall.accounts.models import User
from townhall.communities.models import Community
from townhall.core.errors import ValidationFailed
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.media.models import LinkPreview
from townhall.notifications.delivery import deliver_notification
from townhall.notifications.digest import deliver_digest
from townhall.notifications.kinds import DigestFrequency
from townhall.notifications.models import DigestRun, Notification, PersonSettings
from townhall.posts.models import Attachment, Comment, Post, Topic
from townhall.posts.services import comment_create, post_create
from townhall.testing.aio import run_async
from townhall.testing.clients import signed_in
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

from . import xss_vectors
from .xss_vectors import MARKERS, VECTORS

pytestmark = pytest.mark.django_db

CORPUS = list(dict.fromkeys(VECTORS))
BENIGN = "Plain friendly words 42"
CHUNK = 30
CHUNKS = [CORPUS[start : start + CHUNK] for start in range(0, len(CORPUS), CHUNK)]

URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset",
    "lowsrc", "dynsrc", "ping", "cite", "codebase", "longdesc", "manifest", "srcdoc", "to", "values", "from",
}  # fmt: skip
ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "link", "style", "meta"}
SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|gif|jpe?g|webp|avif);", re.IGNORECASE)
DANGEROUS_STYLE = re.compile(r"expression|javascript|vbscript|behavior|binding|url\(|@import", re.IGNORECASE)
URL_KEYS = {"url", "href", "avatar", "avatar_url", "image", "image_url", "link_url", "cover_url"}
BAD_SCHEME = re.compile(r"^(javascript|vbscript|livescript|data|file):", re.IGNORECASE)


# --- the check -----------------------------------------------------------------------------


def _normal_url(value: str) -> str:
    """A URL attribute as a browser reads it: control characters and whitespace out."""
    return re.sub(r"[\x00-\x20\x7f-\x9f]", "", value)


@dataclass
class Scan:
    """What can execute in a page."""

    active: Counter[tuple[str, str]] = field(default_factory=Counter)  # (tag, src/rel/http-equiv)
    inline_scripts: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    bad_urls: list[str] = field(default_factory=list)
    styles: set[str] = field(default_factory=set)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = Scan()
        self._in_script = False
        self._script_type = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ACTIVE_TAGS:
            key = values.get("src") or values.get("rel") or values.get("http-equiv") or ""
            self.scan.active[(tag, key.split("?")[0])] += 1
        if tag == "script" and not values.get("src"):
            self._in_script = True
            self._script_type = values.get("type", "").lower()
        for name, value in values.items():
            if name.startswith("on"):
                self.scan.handlers.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.scan.styles.add(value)
            if name in URL_ATTRIBUTES or name.endswith(":href"):
                url = _normal_url(value)
                if BAD_SCHEME.match(url) and not (tag == "img" and name == "src" and SAFE_DATA_IMAGE.match(url)):
                    self.scan.bad_urls.append(f"<{tag} {name}={value!r}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self._script_type not in {"application/json", "application/ld+json"}:
            self.scan.inline_scripts.append(data)


def scan_html(html: str) -> Scan:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.scan


def evaluated(text: str, marker: str) -> bool:
    """The marker as a word of its own (a token or a timestamp may hold its digits)."""
    return re.search(rf"(?<![0-9A-Za-z]){marker}(?![0-9A-Za-z])", text) is not None


def _around(text: str, needle: str) -> str:
    at = text.index(needle)
    return text[max(0, at - 60) : at + 60]


def executable(html: str, baseline: Scan | None) -> list[str]:
    """What `html` can execute beyond what the benign page `baseline` has."""
    scan = scan_html(html)
    base = baseline or Scan()
    problems = [f"extra {tag} {key!r}" for (tag, key), n in scan.active.items() if n > base.active[(tag, key)]]
    problems += [f"inline script {text[:80]!r}" for text in scan.inline_scripts if text not in base.inline_scripts]
    problems += [handler for handler in scan.handlers if handler not in base.handlers]
    problems += scan.bad_urls
    problems += [f"style {s!r}" for s in scan.styles - base.styles if DANGEROUS_STYLE.search(s)]
    problems += [f"template output {_around(html, marker)!r}" for marker in MARKERS if evaluated(html, marker)]
    if settings.SECRET_KEY in html:
        problems.append("the secret key")
    return problems


def _json_strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_strings(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v, key)
    elif isinstance(value, str):
        yield key, value


def json_problems(response: Any) -> list[str]:
    problems = []
    if not response["Content-Type"].startswith("application/json"):
        problems.append(f"content type {response['Content-Type']}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    data = json.loads(response.content)
    for key, text in _json_strings(data):
        if key.endswith("_html"):
            problems += [f"{key}: {p}" for p in executable(text, None)]
        elif key in URL_KEYS and BAD_SCHEME.match(_normal_url(text)):
            problems.append(f"{key}: {text!r}")
    problems += [f"template output {marker}" for marker in MARKERS if evaluated(response.content.decode(), marker)]
    return problems


# --- planting ------------------------------------------------------------------------------


def storable(text: str) -> str:
    """What a database column can hold (PostgreSQL refuses NUL)."""
    return text.replace("\x00", "\ufffd")


@dataclass
class Planted:
    n: int
    vector: str
    tracer: str
    person: User
    community: Community
    topic: Topic
    post: Post
    colleague_post: Post
    comment: Comment

    def text(self, limit: int) -> str:
        return storable(f"{self.tracer} {self.vector}")[:limit]


def _post(actor: User, community: Community, body: str) -> Post:
    try:
        return post_create(actor=actor, community=community, body=body)
    except ValidationFailed:  # NUL: the service refuses it; the row shows the rest
        return PostFactory(author=actor, community=community, body=storable(body))


def plant(n: int, vector: str, reader: User, captured: Any) -> Planted:
    tracer = f"zq{n}x"

    def text(limit: int) -> str:
        return storable(f"{tracer} {vector}")[:limit]

    person = UserFactory()
    User.objects.filter(pk=person.pk).update(full_name=text(150), preferred_name="")
    person.refresh_from_db()
    department = Department.objects.create(name=text(120))
    skill = Tag.objects.create(name=text(60))
    interest = Tag.objects.create(name=storable(f"i{tracer} {vector}")[:60])
    Profile.objects.filter(user=person).update(
        pronouns=text(40),
        title=text(120),
        phone=text(40),
        bio=text(2000),
        department=department,
        team=Team.objects.create(name=text(120), department=department),
        location=Location.objects.create(name=storable(f"l{tracer} {vector}")[:120]),
    )
    profile = Profile.objects.get(user=person)
    profile.skills.add(skill)
    profile.interests.add(interest)
    community = CommunityFactory(
        name=text(100), slug=f"xss-{n}", description=text(4000), admin=person, members=[reader]
    )
    topic = Topic.objects.create(name=text(60), slug=f"xss{n}")
    body = f"{tracer} {vector}"
    post = _post(person, community, body)
    post.topics.add(topic)
    preview = LinkPreview.objects.create(
        url=storable(f"https://preview.example/{n}?q={vector}")[:2000],
        url_hash=f"xss-{n}",
        status=LinkPreview.Status.READY,
        title=text(300),
        description=text(1000),
        site_name=text(200),
    )
    Post.objects.filter(pk=post.pk).update(link_preview=preview)
    Attachment.objects.create(
        post=post, uploader=person, image=storable(f"posts/xss/{tracer} {vector[:60]}.webp"), alt_text=text(300)
    )
    colleague_post = _post(reader, community, body)
    with captured(execute=True):
        try:
            comment = comment_create(actor=person, post=colleague_post, body=body)
        except ValidationFailed:  # NUL, or longer than a comment may be
            comment = comment_create(actor=person, post=colleague_post, body=storable(body)[:10_000])
    Attachment.objects.create(
        comment=comment, uploader=person, image=storable(f"posts/xss/c{tracer} {vector[:60]}.webp"), alt_text=text(300)
    )
    return Planted(n, vector, tracer, person, community, topic, post, colleague_post, comment)


# Pages per planted vector: (place, path). The tracer must be in every one.
def pages(p: Planted) -> list[tuple[str, str]]:
    q = quote(storable(p.vector)[:200], safe="")
    return [
        ("post page (body, alt text, file name, link preview, topic, community, author)", f"/posts/{p.post.pk}/"),
        ("post page with a comment (comment body, alt text, file name)", f"/posts/{p.colleague_post.pk}/"),
        ("comment fragment", f"/posts/comments/{p.comment.pk}/"),
        (
            "profile (name, pronouns, title, phone, about, skills, team, department, location)",
            f"/people/{p.person.pk}/",
        ),
        ("community page (name, description, post cards)", f"/c/{p.community.slug}/"),
        ("community members", f"/c/{p.community.slug}/members"),
        ("topic page (topic name)", f"/topics/{p.topic.slug}/"),
        ("search results (reflected query)", f"/search/?q={q}"),
        ("search results (snippets)", f"/search/?q={p.tracer}"),
        ("communities directory (reflected query)", f"/communities/?q={q}"),
        ("people directory (reflected query)", f"/people/?q={q}"),
    ]


def api_reads(p: Planted) -> list[tuple[str, str]]:
    return [
        ("API post", f"/api/v1/posts/{p.post.pk}"),
        ("API comments", f"/api/v1/posts/{p.colleague_post.pk}/comments"),
        ("API person", f"/api/v1/people/{p.person.pk}"),
        ("API community", f"/api/v1/communities/{p.community.slug}"),
        ("API search", f"/api/v1/search?q={p.tracer}"),
    ]


SHARED_PAGES = [
    ("notification centre", "/notifications/"),
    ("home feed", "/"),
    ("communities directory", "/communities/"),
    ("people directory (names, titles, departments)", "/people/"),
    ("API notifications", "/api/v1/notifications"),
    ("API feed", "/api/v1/feed/home"),
]


def _index_for_search(planted: list[Planted]) -> None:
    """The search index catches up after commit; this test runs inside a transaction,
    so index the planted rows now (read-only use of the search app)."""
    try:
        from townhall.search import index
    except ImportError:  # pragma: no cover - the search app is being built
        return
    for kind, ids in (
        ("post", [p.post.pk for p in planted] + [p.colleague_post.pk for p in planted]),
        ("comment", [p.comment.pk for p in planted]),
        ("topic", [p.topic.pk for p in planted]),
        ("community", [p.community.pk for p in planted]),
        ("person", [p.person.pk for p in planted]),
    ):
        try:
            index.index_now(kind, ids)
        except Exception:  # noqa: S112 - an unknown kind in a search app still being built  # nosec B112
            continue


@dataclass
class Tally:
    places: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def _read(client: Client, path: str) -> Any:
    if path.startswith("/api/"):
        return client.get(path, content_type="application/json")
    if path.startswith("/posts/comments/"):
        return client.get(path, HTTP_HX_REQUEST="true")
    return client.get(path)


def _email_parts(message: Any) -> tuple[str, str]:
    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = content
    return message.subject + "\n" + message.body, html


def _check_chunk(vectors: list[str], offset: int, django_capture_on_commit_callbacks: Any) -> Tally:
    reader = UserFactory(full_name="Rita Reader")
    client = signed_in(reader)
    benign = plant(0, BENIGN, reader, django_capture_on_commit_callbacks)
    shared_baseline = {place: scan_html(_read(client, path).content.decode()) for place, path in SHARED_PAGES}
    planted = [
        plant(offset + k + 1, vector, reader, django_capture_on_commit_callbacks) for k, vector in enumerate(vectors)
    ]
    _index_for_search([benign, *planted])
    baseline = {place: scan_html(_read(client, path).content.decode()) for place, path in pages(benign)}
    tally = Tally()

    for p in planted:
        for place, path in pages(p):
            response = _read(client, path)
            body = response.content.decode()
            if response.status_code >= 500:
                tally.problems.append(f"[{p.n}] {place}: {response.status_code}")
                continue
            shown = p.tracer in body
            if not shown and "reflected" not in place and "search" not in place:
                tally.problems.append(f"[{p.n}] {place}: the tracer is not on {path} ({response.status_code})")
            if shown or "reflected" in place:
                tally.places[place] += 1
            tally.problems += [f"[{p.n}] {place} {path}: {problem}" for problem in executable(body, baseline[place])]
        for place, path in api_reads(p):
            response = _read(client, path)
            if response.status_code >= 500:
                tally.problems.append(f"[{p.n}] {place}: {response.status_code}")
                continue
            if p.tracer in response.content.decode():
                tally.places[place] += 1
            elif "search" not in place:
                tally.problems.append(f"[{p.n}] {place}: the tracer is not in {path} ({response.status_code})")
            tally.problems += [f"[{p.n}] {place} {path}: {problem}" for problem in json_problems(response)]

    # Shared pages: every planted vector at once (and as many as the page lists).
    for place, path in SHARED_PAGES:
        response = _read(client, path)
        body = response.content.decode()
        assert response.status_code == 200, (path, response.status_code)
        seen = sum(1 for p in planted if p.tracer + " " in body)
        tally.places[place] += seen
        if path.startswith("/api/"):
            tally.problems += [f"{place}: {problem}" for problem in json_problems(response)]
        else:
            tally.problems += [f"{place}: {problem}" for problem in executable(body, shared_baseline[place])]

    # Email: one notification per planted comment, delivered through the locmem backend.
    mail.outbox.clear()
    rows = Notification.objects.filter(recipient=reader).order_by("pk")
    for row in rows:
        deliver_notification(notification_id=row.pk)
    base_mail = [m for m in mail.outbox if benign.tracer + " " in m.body]
    base_scan = scan_html(_email_parts(base_mail[0])[1]) if base_mail else None
    for p in planted:
        found = [m for m in mail.outbox if p.tracer + " " in m.body or p.tracer + " " in m.subject]
        if not found:
            tally.problems.append(f"[{p.n}] email: no notification email quotes it")
            continue
        tally.places["notification email (subject, text, HTML)"] += 1
        for message in found:
            text, html = _email_parts(message)
            tally.problems += [f"[{p.n}] email html: {problem}" for problem in executable(html, base_scan)]
            tally.problems += [f"[{p.n}] email text: template output" for m in MARKERS if evaluated(text, m)]
            if any(c in message.subject for c in "\r\n"):
                tally.problems.append(f"[{p.n}] email: a line break in the subject")
    _check_digest(reader, planted, tally, base_scan)
    return tally


def _check_digest(reader: User, planted: list[Planted], tally: Tally, layout: Scan | None) -> None:
    """The digest email: top posts of the reader's communities and the replies they
    have not answered (a handful of the planted vectors per chunk). `layout`: the
    benign notification email, which shares the digest's layout."""
    PersonSettings.objects.update_or_create(user=reader, defaults={"digest": DigestFrequency.DAILY})
    since = min(p.post.created_at for p in planted) - timedelta(minutes=1)
    run = DigestRun.objects.create(user=reader, period="d-xss", since=since)
    mail.outbox.clear()
    outcome = deliver_digest(run_id=run.pk, now=timezone.now() + timedelta(minutes=1))
    assert outcome == "sent", outcome
    [message] = mail.outbox
    text, html = _email_parts(message)
    seen = sum(1 for p in planted if p.tracer + " " in text)
    assert seen, "the digest quotes none of the planted posts"
    tally.places["digest email (text, HTML)"] += seen
    tally.problems += [f"digest html: {problem}" for problem in executable(html, layout)]
    tally.problems += ["digest text: template output" for m in MARKERS if evaluated(text, m)]


@pytest.fixture(scope="module")
def totals() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts


def test_corpus_is_large_and_covers_every_family() -> None:
    assert len(CORPUS) >= 200
    for needle in ("<script", "onerror", "javascript:", "data:", "vbscript:", "<svg", "<math", "{{", "{%", "\u202e"):
        assert any(needle in v for v in CORPUS), needle
    assert any(len(v) > 10_000 for v in CORPUS)


def test_the_check_sees_executable_output() -> None:
    """The detector itself: each of these must be flagged against an empty baseline."""
    for html in (
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href=" jav&#x09;ascript:alert(1)">x</a>',
        "<iframe srcdoc=x></iframe>",
        '<p style="width:expression(alert(1))">x</p>',
        "<svg><a xlink:href=javascript:alert(1)>x</a></svg>",
        "<meta http-equiv=refresh content=0>",
        "54439",
    ):
        assert executable(html, None), html
    assert not executable(
        '<p>&lt;script&gt; <a href="https://x.example">x</a> <img src="data:image/png;base64,AA"></p>', None
    )
    # and the stream's check: text, markup or a forged key in event data is flagged
    for event, data in (
        ("post.created", {"post_id": "<img src=x onerror=alert(1)>"}),
        ("post.counts", {"post_id": 1, "reactions": {"<svg onload=alert(1)>": 1}}),
        ("notifications", {"unread": "1"}),
        ("html", {}),
    ):
        assert stream_data_problems(event, data), (event, data)
    assert not stream_data_problems("post.counts", {"post_id": 1, "comments": 2, "reactions": {"like": 3}})


@pytest.mark.parametrize("chunk", range(len(CHUNKS)), ids=lambda c: f"vectors{c * CHUNK}-{c * CHUNK + CHUNK - 1}")
def test_xss_vectors_render_inert_everywhere(
    chunk: int, django_capture_on_commit_callbacks: Any, record_property: Any
) -> None:
    tally = _check_chunk(CHUNKS[chunk], chunk * CHUNK, django_capture_on_commit_callbacks)
    cases = sum(tally.places.values())
    record_property(
        "summary",
        f"XSS corpus chunk {chunk:02d}: {len(CHUNKS[chunk])} vectors x {len(tally.places)} places = "
        f"{cases} renderings checked (corpus {len(CORPUS)} vectors), {len(tally.problems)} executable",
    )
    assert not tally.problems, "\n".join(tally.problems[:40])


# --- the real-time stream (SSE) ------------------------------------------------------------

# Two vectors of every family (the first and the last: the long ones include 19 KB):
# the stream carries ids and counts only, so the check is about what text can reach it.
STREAM_VECTORS = [
    vector
    for family in (
        xss_vectors.CLASSIC,
        xss_vectors.EVENT_HANDLERS,
        xss_vectors.URLS,
        xss_vectors.MARKDOWN,
        xss_vectors.SVG_MATHML,
        xss_vectors.ATTRIBUTE_BREAKING,
        xss_vectors.CSS,
        xss_vectors.ACTIVE_ELEMENTS,
        xss_vectors.TEMPLATE_INJECTION,
        xss_vectors.UNICODE,
        xss_vectors.MUTATION,
        xss_vectors.LONG,
    )
    for vector in dict.fromkeys((family[0], family[-1]))
]
STREAM_EVENTS = {"post.created", "post.counts", "comment.counts", "notifications", "resync"}
REACTION_KIND = re.compile(r"^[a-z_]{1,20}$")
LIVE_JS = Path(__file__).parents[2] / "townhall/realtime/static/realtime/live.js"


def stream_data_problems(event: str, data: Any) -> list[str]:
    """What a stream event may carry: ids and counts (ints), reaction kinds as keys."""
    problems = [] if event in STREAM_EVENTS else [f"unknown event {event!r}"]

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if not REACTION_KIND.match(str(key)):
                    problems.append(f"{event} {where}: key {str(key)[:60]!r}")
                walk(item, f"{where}.{key}")
        elif isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{event} {where}: {str(value)[:60]!r} is not a count or an id")

    walk(data, "data")
    return problems


@pytest.fixture
def fresh_broker() -> Iterator[None]:
    """The stream's hub and broker are per test; their threads let go of the database
    before it is flushed (as townhall/realtime/tests/conftest.py does)."""

    from asgiref.sync import sync_to_async
    from django.db import connections

    from townhall.realtime.broker import reset_broker

    reset_broker()
    yield
    reset_broker()
    run_async(sync_to_async(connections.close_all)())


def test_live_js_inserts_only_server_rendered_html_from_its_own_pages() -> None:
    """live.js writes event data with textContent/attributes only; the HTML it inserts
    comes from fetching the page itself or the badge partial (permission-checked views,
    same origin), parsed by DOMParser (scripts in it never run)."""
    source = LIVE_JS.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"):
        assert sink not in source, sink
    fetched = re.findall(r"fetch\(([^,]+),", source)
    assert sorted(fetched) == ["badgeUrl", 'window.location.href.split("#")[0]'], fetched
    assert source.count("parseFromString(") == 2  # the two fetched answers, nothing else
    assert source.count("if (!sameOrigin(answer))") == 2  # and only when they came from this site


@pytest.mark.django_db(transaction=True)
def test_xss_vectors_through_the_live_stream(fresh_broker: None, record_property: Any) -> None:
    """Content holding the vectors makes the stream speak (new posts, comment and reaction
    counts, the notification badge): every `data:` it writes is ids and counts, and the
    fragments the page then fetches (the feed's cards, the badge) show the vectors inert."""

    from asgiref.sync import sync_to_async

    from townhall.reactions.services import reaction_set
    from townhall.realtime.tests.streams import connect

    reader = UserFactory(full_name="Rita Reader")
    author = UserFactory()
    community = CommunityFactory(slug="xss-live", admin=author, members=[reader])
    client = signed_in(reader)
    mine = post_create(actor=reader, community=community, body=BENIGN)
    post_create(actor=author, community=community, body=f"zq0x {BENIGN}")
    feed_path = f"/c/{community.slug}/"
    headers = {"HTTP_ACCEPT": "text/html"}  # what live.js sends
    feed_baseline = scan_html(client.get(feed_path, **headers).content.decode())
    badge_baseline = scan_html(client.get("/notifications/badge", HTTP_HX_REQUEST="true").content.decode())
    tracers = [f"zq{n}x" for n in range(1, len(STREAM_VECTORS) + 1)]

    def speak(n: int, vector: str) -> int:
        """One vector: a post (post.created), a comment on the reader's post
        (post.counts, notifications), reactions (post.counts, comment.counts)."""
        text = f"{tracers[n]} {vector}"
        post = _post(author, community, text)
        try:
            comment = comment_create(actor=author, post=mine, body=text)
        except ValidationFailed:  # NUL, or longer than a comment may be
            comment = comment_create(actor=author, post=mine, body=storable(text)[:10_000])
        reaction_set(actor=author, target_type="comment", target_id=comment.pk, kind="like")
        reaction_set(actor=author, target_type="post", target_id=mine.pk, kind=("like", "love")[n % 2])
        return int(post.pk)

    async def scenario() -> tuple[list[Any], list[int]]:
        stream = await connect(reader, f"?feed=community:{community.pk}&posts={mine.pk}")
        planted = [await sync_to_async(speak)(n, vector) for n, vector in enumerate(STREAM_VECTORS)]
        # Each vector: its post, the counts after the comment and after each reaction,
        # the badge; then the stream stays quiet.
        wanted = set(planted)
        while not wanted <= {e.data.get("post_id") for e in stream.events if e.event == "post.created"}:
            await stream.read(count=1, timeout=10)
        with contextlib.suppress(TimeoutError):
            await stream.read(count=10_000, timeout=1.5)
        events = list(stream.events)
        await stream.close()
        return events, planted

    events, planted = run_async(scenario())
    kinds = Counter(e.event for e in events)
    problems = [p for e in events for p in stream_data_problems(e.event, e.data)]
    created = [e.data.get("post_id") for e in events if e.event == "post.created"]
    if created != planted:
        problems.append(f"post.created events {created} for posts {planted}")
    written = "".join(json.dumps(e.data) for e in events)
    problems += [f"tracer {t} on the stream" for t in tracers if t in written]
    problems += [f"markup on the stream: {written[at : at + 40]!r}" for at in [written.find("<")] if at >= 0]
    for needed in ("post.created", "post.counts", "comment.counts", "notifications"):
        if not kinds[needed]:
            problems.append(f"the stream sent no {needed} event")

    # What the page fetches on those events: the feed (live.js swaps in #feed-list and
    # #feed-more) and the badge partial.
    feed = client.get(feed_path, **headers)
    body = feed.content.decode()
    cards = body[body.index('id="feed-list"') :]
    shown = sum(1 for t in tracers if t + " " in cards)
    if shown < min(len(tracers), 10):  # the feed's first page
        problems.append(f"the feed shows {shown} of the planted posts")
    problems += [f"feed: {p}" for p in executable(body, feed_baseline)]
    badge = client.get("/notifications/badge", HTTP_HX_REQUEST="true")
    assert badge.status_code == 200
    problems += [f"badge: {p}" for p in executable(badge.content.decode(), badge_baseline)]
    if any(t in badge.content.decode() for t in tracers):
        problems.append("the badge shows content")
    record_property(
        "summary",
        f"XSS through the live stream: {len(STREAM_VECTORS)} vectors (2 per family) x {len(kinds)} event kinds = "
        f"{len(events)} events ({dict(sorted(kinds.items()))}) carrying ids and counts only, then the feed "
        f"({shown} cards) and the badge fetched: {len(problems)} executable",
    )
    assert not problems, "\n".join(problems[:40])
