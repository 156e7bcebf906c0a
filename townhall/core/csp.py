"""Content-Security-Policy for every HTML page (docs/security.md, "Content-Security-Policy").

No page has an inline script, an inline event handler or a `style=""` attribute: the
scripts are static files (theme.js, app.js, composer.js, live.js, htmx) configured by
`data-` attributes, and styles are classes in app.css. So the policy needs no nonce,
no 'unsafe-inline' and no 'unsafe-eval' (htmx runs with allowEval off, base.html).

Images come from Townhall itself: user media, on disk or in S3, is always served by
the permission-checked `/media/` view (core/storage.py), never from the bucket. Only
if MEDIA_URL is made absolute (a CDN in front of /media/) is its origin added.

The API docs page (ninja's Swagger UI, served from ninja's own static files, no CDN)
gets a policy of its own: Swagger UI renders descriptions with inline styles.

Served media keeps its stricter `default-src 'none'; sandbox` (core/views.media);
a response that already carries a policy is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def page_policy(*, media_url: str, docs: bool = False) -> str:
    img = ["'self'", "data:"]
    media_origin = _origin(media_url)
    if media_origin:
        img.append(media_origin)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"] if docs else ["'self'"],
        "img-src": img,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],  # fetch, htmx and the SSE stream
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds the page policy to HTML responses that have none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        media_url = str(getattr(settings, "MEDIA_URL", "") or "")
        self.page = page_policy(media_url=media_url)
        self.docs = page_policy(media_url=media_url, docs=True)
        self.docs_prefix = "/api/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER in response or not response.get("Content-Type", "").startswith("text/html"):
            return response
        response[HEADER] = self.docs if request.path.startswith(self.docs_prefix) else self.page
        return response
