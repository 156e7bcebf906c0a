"""Townhall's URLs plus one empty view: the framework floor, measured through the
same middleware stack as every page (bench.run swaps ROOT_URLCONF in-process)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def empty(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("__bench__/empty", empty, name="bench-empty"),
    path("", include("townhall.config.urls")),
]
