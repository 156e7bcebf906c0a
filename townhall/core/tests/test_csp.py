"""The Content-Security-Policy header (core/csp.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from townhall.core.csp import page_policy

pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in header.split("; ")}


def test_html_pages_get_the_strict_policy(member_client: Client) -> None:
    for path in ("/", "/signin", "/no-such-page/"):
        response = (member_client if path == "/" else Client()).get(path)
        assert response["Content-Type"].startswith("text/html")
        policy = _directives(response["Content-Security-Policy"])
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
        assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'"
        assert policy["img-src"] == "'self' data:" and policy["connect-src"] == "'self'"


def test_api_docs_allow_inline_styles_only(member_client: Client) -> None:
    policy = _directives(member_client.get("/api/v1/docs")["Content-Security-Policy"])
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self' 'unsafe-inline'"


def test_json_has_no_page_policy(member_client: Client) -> None:
    assert "Content-Security-Policy" not in member_client.get("/api/v1/me")


def test_absolute_media_url_adds_its_origin() -> None:
    policy = _directives(page_policy(media_url="https://cdn.example.com/media/"))
    assert policy["img-src"] == "'self' data: https://cdn.example.com"
    assert _directives(page_policy(media_url="/media/"))["img-src"] == "'self' data:"
