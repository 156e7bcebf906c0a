"""Link previews: the title, description, site and image a shared URL shows.

`request_preview` runs inside a write (a post being created): it only records the URL
and, after commit, queues `media.tasks.fetch_link_preview`. The worker then fetches
the page with `safe_fetch` (SSRF rules), reads its <title> and Open Graph tags, keeps
them as plain text (rendering escapes them) and re-encodes the image. One row per
normalised URL, shared by every post that links to it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from townhall.core.errors import ValidationFailed
from townhall.core.worker import RetryableError
from townhall.media.fetch import Endpoint, FetchError, FetchFailed, FetchRefused, safe_fetch
from townhall.media.images import reencode_image
from townhall.media.models import LinkPreview

MAX_URL_LENGTH = 2000
REFETCH_FAILED_AFTER = timedelta(days=1)
IMAGE_MAX_SIDE = 600
_TRANSIENT = {"timeout", "connect", "resolve"}


def normalise_url(url: str) -> str | None:
    """The canonical form of an http(s) URL (lower-case scheme and host, IDNA host,
    no default port, no fragment), or None if it is not one we would preview."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in {"http", "https"} or not host or "@" in parts.netloc:
        return None
    try:
        ip = ipaddress.ip_address(host)
        host = f"[{ip}]" if ip.version == 6 else str(ip)
    except ValueError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    default_port = 443 if scheme == "https" else 80
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    normalised = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return normalised if len(normalised) <= MAX_URL_LENGTH else None


def url_hash(normalised_url: str) -> str:
    return hashlib.sha256(normalised_url.encode()).hexdigest()


def request_preview(*, url: str) -> LinkPreview | None:
    """The LinkPreview for `url` (None if it is not a previewable http(s) URL).

    Creates the row when the URL is new and queues its fetch after the current
    transaction commits; a preview that failed, or has been pending, for over a day
    is queued again. Never fetches anything itself, so it is cheap inside a write."""
    normalised = normalise_url(url)
    if normalised is None:
        return None
    preview, created = LinkPreview.objects.get_or_create(url_hash=url_hash(normalised), defaults={"url": normalised})
    if not created:
        cutoff = timezone.now() - REFETCH_FAILED_AFTER
        due = Q(fetched_at__lt=cutoff) | Q(fetched_at__isnull=True, created_at__lt=cutoff)
        # Compare-and-set: of many posts sharing the link today, one re-queues it.
        created = bool(
            LinkPreview.objects.filter(due, pk=preview.pk)
            .exclude(status=LinkPreview.Status.READY)
            .update(status=LinkPreview.Status.PENDING, fetched_at=timezone.now(), error="")
        )
        if created:
            preview.refresh_from_db()
    if created:
        from townhall.media.tasks import fetch_link_preview  # tasks imports this module

        # robust: a failed enqueue must not fail the post; the row is re-queued later.
        transaction.on_commit(partial(fetch_link_preview.enqueue, preview.pk), robust=True)
    return preview


# -- Parsing -------------------------------------------------------------------------


@dataclass(frozen=True)
class PageMeta:
    title: str = ""
    description: str = ""
    site_name: str = ""
    image_url: str = ""


class _Done(Exception):
    pass


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title_parts: list[str] = []
        self.in_title = False
        self.title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            raise _Done
        if tag == "title" and not self.title_done:
            self.in_title = True
        elif tag == "meta":
            values = {name.lower(): value or "" for name, value in attrs}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.in_title:
            self.in_title, self.title_done = False, True
        elif tag == "head":
            raise _Done

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self.skipping = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self.skipping:
            self.skipping = None

    def handle_data(self, data: str) -> None:
        if self.skipping is None:
            self.parts.append(data)


def plain_text(value: str, *, limit: int) -> str:
    """`value` without tags, control or formatting characters (bidi overrides
    included), whitespace collapsed, cut to `limit` characters with an ellipsis."""
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    text = "".join(
        ch if ch.isspace() or not unicodedata.category(ch).startswith("C") else "" for ch in "".join(parser.parts)
    )
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _charset(body: bytes, content_type: str) -> str:
    found = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I) or re.search(
        rb"<meta[^>]+charset=[\"']?([\w.:-]+)", body[:4096], re.I
    )
    if found:
        name = found.group(1)
        name = name.decode("ascii", "ignore") if isinstance(name, bytes) else name
        try:
            return codecs.lookup(name).name
        except LookupError:
            pass
    return "utf-8"


def parse_page(body: bytes, *, content_type: str, base_url: str) -> PageMeta:
    """Title, description, site name and image URL from a page's <head>."""
    parser = _HeadParser()
    try:
        parser.feed(body.decode(_charset(body, content_type), errors="replace"))
        parser.close()
    except _Done:
        pass
    meta = parser.meta

    def first(*keys: str) -> str:
        return next((meta[key] for key in keys if meta.get(key, "").strip()), "")

    image = first("og:image:secure_url", "og:image", "og:image:url", "twitter:image").strip()
    image_url = urljoin(base_url, image) if image else ""
    if urlsplit(image_url).scheme not in {"http", "https"}:
        image_url = ""
    site = first("og:site_name") or (urlsplit(base_url).hostname or "").removeprefix("www.")
    return PageMeta(
        title=plain_text(first("og:title", "twitter:title") or "".join(parser.title_parts), limit=300),
        description=plain_text(first("og:description", "twitter:description", "description"), limit=1000),
        site_name=plain_text(site, limit=200),
        image_url=image_url[:MAX_URL_LENGTH],
    )


# -- Fetching (the worker's side) ----------------------------------------------------


def _fail(preview_id: int, message: str) -> None:
    LinkPreview.objects.filter(pk=preview_id).exclude(status=LinkPreview.Status.READY).update(
        status=LinkPreview.Status.FAILED, error=message[:200], fetched_at=timezone.now()
    )


def _fetch_image(url: str, allow: frozenset[Endpoint]) -> ContentFile[bytes] | None:
    if not url:
        return None
    try:
        result = safe_fetch(url, _allow_for_tests=allow)
    except FetchError:
        return None
    if not 200 <= result.status < 300:
        return None
    try:
        # Decoded and re-encoded: whatever the site sent (SVG, HTML, a bomb) is never stored.
        return reencode_image(io.BytesIO(result.body), max_side=IMAGE_MAX_SIDE)
    except ValidationFailed:
        return None


def preview_fetch(
    *, preview_id: int, final_attempt: bool = True, _allow_for_tests: frozenset[Endpoint] = frozenset()
) -> str:
    """Fetch and store the preview `preview_id`; returns its resulting status.

    Idempotent: a READY preview is left alone without any request, a second run
    after a crash redoes the fetch and writes once. Transient failures (timeout,
    connection, DNS, a 5xx) raise RetryableError unless `final_attempt`; everything
    else marks the preview FAILED with a short reason. `_allow_for_tests` is passed
    on to safe_fetch for the test suite's loopback server only."""
    preview = LinkPreview.objects.filter(pk=preview_id).first()
    if preview is None or preview.status == LinkPreview.Status.READY:
        return preview.status if preview else "missing"
    try:
        page = safe_fetch(preview.url, allow_truncated=True, _allow_for_tests=_allow_for_tests)
    except FetchRefused as exc:
        _fail(preview_id, exc.message)
        return LinkPreview.Status.FAILED
    except FetchFailed as exc:
        if exc.reason in _TRANSIENT and not final_attempt:
            raise RetryableError(exc.message) from exc
        _fail(preview_id, exc.message)
        return LinkPreview.Status.FAILED
    if page.status >= 500 and not final_attempt:
        raise RetryableError(f"The site answered {page.status}.")
    if not 200 <= page.status < 300:
        _fail(preview_id, f"The site answered {page.status}.")
        return LinkPreview.Status.FAILED
    if not re.match(r"\s*(text/html|application/xhtml\+xml)", page.content_type, re.I):
        _fail(preview_id, "The link is not a web page.")
        return LinkPreview.Status.FAILED
    meta = parse_page(page.body, content_type=page.content_type, base_url=page.final_url)
    if not (meta.title or meta.description):
        _fail(preview_id, "The page has no title or description.")
        return LinkPreview.Status.FAILED
    image = _fetch_image(meta.image_url, _allow_for_tests)
    with transaction.atomic():
        row = LinkPreview.objects.select_for_update().filter(pk=preview_id).first()
        if row is None or row.status == LinkPreview.Status.READY:
            return row.status if row else "missing"  # another run finished first
        row.title, row.description, row.site_name = meta.title, meta.description, meta.site_name
        if image is not None:
            row.image.save(image.name or "preview.webp", image, save=False)
        row.status, row.error, row.fetched_at = LinkPreview.Status.READY, "", timezone.now()
        row.save()
    return LinkPreview.Status.READY
