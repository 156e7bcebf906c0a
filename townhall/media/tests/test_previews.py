"""Link previews: one row per URL, fetched by the worker from a page served on
loopback (through safe_fetch's explicit test allowance), stored as plain text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from PIL import Image

from townhall.core.worker import RetryableError, WorkerConfig, run_worker
from townhall.media.models import LinkPreview
from townhall.media.previews import normalise_url, parse_page, plain_text, preview_fetch, request_preview, url_hash
from townhall.media.tasks import fetch_link_preview
from townhall.media.tests.test_fetch import Listener, _listen

ARTICLE = """<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="  Q3 results:
   &lt;b&gt;record&lt;/b&gt; &amp; growth&lt;script&gt;alert(1)&lt;/script&gt; \u202e">
<meta property="og:description" content="Everything about the quarter, in one page.">
<meta property="og:site_name" content="Company News">
<meta property="og:image" content="/cover.png">
</head><body><meta property="og:title" content="not in the head"></body></html>
"""


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def site() -> Iterator[Listener]:
    for listener in _listen():
        listener.pages.update(
            {
                "/article": (200, "text/html; charset=utf-8", ARTICLE.encode()),
                "/cover.png": (200, "image/png", png((1200, 800))),
            }
        )
        yield listener


def preview_for(url: str, **fields: object) -> LinkPreview:
    normalised = normalise_url(url)
    assert normalised
    return LinkPreview.objects.create(url=normalised, url_hash=url_hash(normalised), **fields)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.COM/a/b?x=1#section", "https://news.example.com/a/b?x=1"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:80/p", "http://example.com/p"),
        ("https://example.com:8443/p", "https://example.com:8443/p"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("  https://example.com/trim  ", "https://example.com/trim"),
        ("http://[::1]/", "http://[::1]/"),
    ],
)
def test_normalise_url_canonical_form(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com/",
        "mailto:a@example.com",
        "https://user:pw@example.com/",
        "https:///nohost",
        "https://exa mple.com/",
        "https://example.com/" + "a" * 2000,
        "https://example.com:99999/",
        "",
    ],
)
def test_normalise_url_refuses_what_we_would_not_preview(url: str) -> None:
    assert normalise_url(url) is None


@pytest.mark.django_db
def test_request_preview_refuses_bad_urls_without_a_row() -> None:
    assert request_preview(url="javascript:alert(1)") is None
    assert request_preview(url="https://example.com/" + "a" * 2001) is None
    assert not LinkPreview.objects.exists()


@pytest.mark.django_db
def test_request_preview_creates_one_row_and_queues_after_commit(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = request_preview(url="HTTPS://News.Example.com/a#top")
    assert first is not None and first.status == LinkPreview.Status.PENDING
    assert first.url == "https://news.example.com/a"
    assert not DBTaskResult.objects.exists()  # nothing is queued before commit
    assert len(callbacks) == 1
    callbacks[0]()  # what the commit does
    task = DBTaskResult.objects.get()
    assert task.task_path == "townhall.media.tasks.fetch_link_preview"
    assert task.status == TaskResultStatus.READY and task.args_kwargs == {"args": [first.pk], "kwargs": {}}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = request_preview(url="https://news.example.com/a")
    assert again is not None and again.pk == first.pk
    assert callbacks == [] and DBTaskResult.objects.count() == 1  # the same URL is not queued twice


@pytest.mark.django_db
def test_request_preview_requeues_an_old_failure_once(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    old = timezone.now() - timedelta(days=2)
    failed = preview_for("https://old.example.com/", status=LinkPreview.Status.FAILED, error="x", fetched_at=old)
    recent = preview_for("https://recent.example.com/", status=LinkPreview.Status.FAILED, fetched_at=timezone.now())
    ready = preview_for("https://ready.example.com/", status=LinkPreview.Status.READY, fetched_at=old)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(3):
            request_preview(url="https://old.example.com/")
        request_preview(url="https://recent.example.com/")
        request_preview(url="https://ready.example.com/")
    assert len(callbacks) == 1
    assert list(DBTaskResult.objects.values_list("args_kwargs", flat=True)) == [{"args": [failed.pk], "kwargs": {}}]
    failed.refresh_from_db()
    assert failed.status == LinkPreview.Status.PENDING and failed.error == ""
    recent.refresh_from_db()
    ready.refresh_from_db()
    assert recent.status == LinkPreview.Status.FAILED and ready.status == LinkPreview.Status.READY


@pytest.mark.django_db
def test_preview_fetch_reads_open_graph_from_a_loopback_page(site: Listener) -> None:
    preview = preview_for(site.url("/article"))
    assert preview_fetch(preview_id=preview.pk, _allow_for_tests=site.endpoint) == LinkPreview.Status.READY
    preview.refresh_from_db()
    assert preview.status == LinkPreview.Status.READY
    assert preview.title == "Q3 results: record & growth"
    assert preview.description == "Everything about the quarter, in one page."
    assert preview.site_name == "Company News"
    assert preview.error == "" and preview.fetched_at is not None
    with preview.image.open("rb") as handle, Image.open(handle) as image:
        assert image.format == "WEBP"
        assert max(image.size) == 600


@pytest.mark.django_db
def test_preview_fetch_runs_once_for_a_ready_preview(site: Listener) -> None:
    preview = preview_for(site.url("/article"))
    preview_fetch(preview_id=preview.pk, _allow_for_tests=site.endpoint)
    preview_fetch(preview_id=preview.pk, _allow_for_tests=site.endpoint)
    assert [path for path, _host in site.requests] == ["/article", "/cover.png"]


@pytest.mark.django_db
def test_preview_fetch_falls_back_to_title_and_declared_charset(site: Listener) -> None:
    page = '<html><head><title>Caf\xe9   menu</title><meta name="description" content="Lunch \xe0 12h"></head></html>'
    site.pages["/latin"] = (200, "text/html; charset=iso-8859-1", page.encode("latin-1"))
    preview = preview_for(site.url("/latin"))
    preview_fetch(preview_id=preview.pk, _allow_for_tests=site.endpoint)
    preview.refresh_from_db()
    assert (preview.title, preview.description) == ("Café menu", "Lunch à 12h")
    assert preview.site_name == "127.0.0.1"
    assert not preview.image


@pytest.mark.django_db
def test_preview_fetch_never_stores_an_image_that_does_not_decode(site: Listener) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    site.pages["/evil.svg"] = (200, "image/png", svg)
    site.pages["/svg-page"] = (
        200,
        "text/html",
        b'<head><meta property="og:title" content="T"><meta property="og:image" content="evil.svg"></head>',
    )
    preview = preview_for(site.url("/svg-page"))
    assert preview_fetch(preview_id=preview.pk, _allow_for_tests=site.endpoint) == LinkPreview.Status.READY
    preview.refresh_from_db()
    assert preview.title == "T" and not preview.image


@pytest.mark.django_db
def test_preview_fetch_fails_with_a_short_reason(site: Listener) -> None:
    site.pages["/file.pdf"] = (200, "application/pdf", b"%PDF-1.7")
    site.pages["/gone"] = (404, "text/html", b"<title>Not found</title>")
    site.pages["/empty"] = (200, "text/html", b"<html><head></head><body>hi</body></html>")
    for path, reason in (("/file.pdf", "not a web page"), ("/gone", "404"), ("/empty", "no title")):
        preview = preview_for(site.url(path))
        assert preview_fetch(preview_id=preview.pk, _allow_for_tests=site.endpoint) == LinkPreview.Status.FAILED
        preview.refresh_from_db()
        assert preview.status == LinkPreview.Status.FAILED and reason in preview.error
    refused = preview_for(site.url("/article"))  # no allowance: loopback is refused
    preview_fetch(preview_id=refused.pk)
    refused.refresh_from_db()
    assert refused.status == LinkPreview.Status.FAILED and "loopback" in refused.error


@pytest.mark.django_db
def test_preview_fetch_retries_server_errors_until_the_last_attempt(site: Listener) -> None:
    site.pages["/busy"] = (503, "text/html", b"busy")
    preview = preview_for(site.url("/busy"))
    with pytest.raises(RetryableError):
        preview_fetch(preview_id=preview.pk, final_attempt=False, _allow_for_tests=site.endpoint)
    preview.refresh_from_db()
    assert preview.status == LinkPreview.Status.PENDING
    preview_fetch(preview_id=preview.pk, final_attempt=True, _allow_for_tests=site.endpoint)
    preview.refresh_from_db()
    assert preview.status == LinkPreview.Status.FAILED and "503" in preview.error


def test_plain_text_strips_markup_controls_and_length() -> None:
    assert plain_text("<b>Hi</b>\n\n there<script>x()</script>\u200f\u0007", limit=50) == "Hi there"
    assert plain_text("word " * 100, limit=20) == "word word word word…"
    assert len(plain_text("x" * 500, limit=300)) == 300


def test_parse_page_resolves_image_and_ignores_unsafe_schemes() -> None:
    meta = parse_page(
        b'<head><meta property="og:title" content="A"><meta property="og:image" content="javascript:alert(1)"></head>',
        content_type="text/html",
        base_url="https://www.example.com/post",
    )
    assert meta.image_url == "" and meta.site_name == "example.com"
    meta = parse_page(
        b'<head><meta property="og:image" content="//cdn.example.com/i.png"></head>',
        content_type="text/html",
        base_url="https://example.com/post",
    )
    assert meta.image_url == "https://cdn.example.com/i.png"


# -- Through the real queue: enqueued on commit, run by the worker -----------------


@pytest.mark.django_db(transaction=True)
def test_fetch_link_preview_task_runs_in_the_worker_under_ssrf_rules(site: Listener) -> None:
    with transaction.atomic():
        preview = request_preview(url=site.url("/article"))
    assert preview is not None
    task = DBTaskResult.objects.get()
    run_worker(config=WorkerConfig(interval=0), batch=True)
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL and task.return_value == "failed"
    preview.refresh_from_db()
    assert preview.status == LinkPreview.Status.FAILED and "loopback" in preview.error
    assert site.connections == 0


@pytest.mark.django_db(transaction=True)
def test_fetch_link_preview_task_is_idempotent_for_a_ready_preview(site: Listener) -> None:
    preview = preview_for(site.url("/article"), status=LinkPreview.Status.READY, title="Done")
    fetch_link_preview.enqueue(preview.pk)
    fetch_link_preview.enqueue(preview.pk)
    run_worker(config=WorkerConfig(interval=0), batch=True)
    results = DBTaskResult.objects.all()
    assert [(r.status, r.return_value) for r in results] == [(TaskResultStatus.SUCCESSFUL, "ready")] * 2
    assert site.connections == 0
    preview.refresh_from_db()
    assert preview.title == "Done"
