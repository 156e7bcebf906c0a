"""safe_fetch against real listeners on loopback: every way of spelling a private
address is refused before a single connection reaches it; limits hold while streaming.

Nothing here sends traffic off this machine: names are resolved by a replaced
resolver, and tests about public addresses trip a wire on socket.create_connection.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from townhall.media import fetch
from townhall.media.fetch import FetchFailed, FetchRefused, address_refusal, safe_fetch

PAGE = b"""<!doctype html><html><head><title>Plain title</title>
<meta property="og:title" content="Quarterly &amp; results">
</head><body>hello</body></html>"""


@dataclass
class Listener:
    server: ThreadingHTTPServer
    connections: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    pages: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)  # path -> status, type, body

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def endpoint(self) -> frozenset[fetch.Endpoint]:
        return frozenset({(ipaddress.ip_address("127.0.0.1"), self.port)})


def _handler(listener_ref: list[Listener]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            listener = listener_ref[0]
            listener.requests.append((self.path, self.headers.get("Host", "")))
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path in listener.pages:
                status, content_type, body = listener.pages[parts.path]
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif parts.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", query["to"][0])
                self.end_headers()
            elif parts.path == "/big":
                size = 2 * 1024 * 1024
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self._stream(size)
            elif parts.path == "/big-undeclared":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self._stream(3 * 1024 * 1024)
            elif parts.path == "/slow":
                time.sleep(2)
                self._page(PAGE)
            elif parts.path == "/trickle":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                for _ in range(40):
                    try:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.1)
            else:
                self._page(PAGE)

        def _page(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, size: int) -> None:
            chunk = b"a" * 65536
            try:
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass

    return Handler


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    listener: Listener

    def verify_request(self, request: object, client_address: object) -> bool:
        self.listener.connections += 1
        return True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (a timeout test) is expected here


def _listen() -> Iterator[Listener]:
    ref: list[Listener] = []
    server = _CountingServer(("127.0.0.1", 0), _handler(ref))
    listener = Listener(server)
    server.listener = listener
    ref.append(listener)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    yield from _listen()


@pytest.fixture
def other_listener() -> Iterator[Listener]:
    yield from _listen()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """A tripwire: any connection attempt is recorded and fails."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError("the test suite never connects off this machine")

    monkeypatch.setattr(fetch.socket, "create_connection", refuse)
    return attempts


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """Replace DNS: each lookup of a name pops its next answer (the last one repeats)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(fetch, "_getaddrinfo", resolve)
    return asked


LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://LOCALHOST.:{port}/",
    "http://[::1]:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://017700000001:{port}/",
    "http://0x7f.1:{port}/",
    "http://127.1:{port}/",
    "http://127.0.1:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[::127.0.0.1]:{port}/",
    "http://[64:ff9b::127.0.0.1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://0.0.0.0:{port}/",
    "https://127.0.0.1:{port}/",
]


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_safe_fetch_refuses_loopback_listener_by_every_spelling(listener: Listener, spelling: str) -> None:
    with pytest.raises(FetchRefused) as refused:
        safe_fetch(spelling.format(port=listener.port), timeout=2)
    assert refused.value.reason in {"address", "host"}
    assert listener.connections == 0


def test_safe_fetch_refuses_public_looking_name_resolving_to_loopback(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dns(
        monkeypatch,
        {"intranet-news.example.com": [["127.0.0.1"]], "mixed.example.com": [["93.184.216.34", "127.0.0.1"]]},
    )
    for name in ("intranet-news.example.com", "mixed.example.com"):
        with pytest.raises(FetchRefused) as refused:
            safe_fetch(f"http://{name}:{listener.port}/")
        assert refused.value.reason == "address"
    assert listener.connections == 0


def test_safe_fetch_connects_to_the_checked_address_not_the_name(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the first answer passes the check, any later one is private.
    asked = _fake_dns(monkeypatch, {"rebind.example.com": [["127.0.0.1"], ["10.9.8.7"]]})
    result = safe_fetch(f"http://rebind.example.com:{listener.port}/page", _allow_for_tests=listener.endpoint)
    assert result.status == 200
    assert asked == ["rebind.example.com"]  # looked up once, then the checked address was used
    assert listener.requests == [("/page", f"rebind.example.com:{listener.port}")]  # Host is the name


def test_safe_fetch_rebinding_answer_is_never_used(
    no_network: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dns(monkeypatch, {"rebind.example.com": [["93.184.216.34"], ["127.0.0.1"]]})
    with pytest.raises(FetchFailed):
        safe_fetch("http://rebind.example.com/")
    assert no_network == [("93.184.216.34", 80)]


def test_safe_fetch_refuses_redirect_to_private_address(listener: Listener, other_listener: Listener) -> None:
    target = other_listener.url("/")
    with pytest.raises(FetchRefused) as refused:
        safe_fetch(listener.url(f"/redirect?to={target}"), _allow_for_tests=listener.endpoint)
    assert refused.value.reason == "address"
    assert listener.connections == 1
    assert other_listener.connections == 0


def test_safe_fetch_rechecks_every_redirect_and_caps_their_number(listener: Listener) -> None:
    allow = listener.endpoint
    # Two allowed hops are followed...
    hop2 = listener.url("/page")
    hop1 = listener.url(f"/redirect?to={hop2}")
    result = safe_fetch(listener.url(f"/redirect?to={hop1}"), _allow_for_tests=allow)
    assert result.status == 200 and result.final_url == hop2
    # ...a third is refused before it is requested.
    listener.requests.clear()
    hop0 = listener.url(f"/redirect?to={listener.url(f'/redirect?to={hop1}')}")
    with pytest.raises(FetchRefused) as refused:
        safe_fetch(hop0, _allow_for_tests=allow)
    assert refused.value.reason == "redirects"
    assert [path for path, _host in listener.requests if path == "/page"] == []
    # A relative redirect to a credentialed or odd-port URL is refused as well.
    with pytest.raises(FetchRefused):
        safe_fetch(listener.url("/redirect?to=http://user:pw@127.0.0.1/"), _allow_for_tests=allow)


def test_safe_fetch_test_allowance_is_one_exact_endpoint(listener: Listener, other_listener: Listener) -> None:
    with pytest.raises(FetchRefused):
        safe_fetch(other_listener.url("/"), _allow_for_tests=listener.endpoint)
    with pytest.raises(FetchRefused):  # same address, another port
        safe_fetch(f"http://127.0.0.1:{other_listener.port}/", _allow_for_tests=listener.endpoint)
    assert other_listener.connections == 0


PRIVATE = [
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "169.254.169.254",
    "169.254.1.1",
    "127.8.9.10",
    "0.0.0.0",
    "224.0.0.251",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.0.8",
    "192.88.99.1",
    "[fd00::1]",
    "[fd12:3456::1]",
    "[fe80::1]",
    "[fec0::1]",
    "[ff02::1]",
    "[::]",
    "[::1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::10.0.0.1]",
    "[2002:a00:1::]",
    "[2002:a9fe:a9fe::]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    "[64:ff9b::10.0.0.1]",
    "[64:ff9b::169.254.169.254]",
    "[64:ff9b:1::a00:1]",
    "[2001:db8::1]",
    "[2001:2::1]",
    "[100::1]",
]


@pytest.mark.parametrize("host", PRIVATE)
def test_safe_fetch_refuses_private_and_special_addresses(
    host: str, no_network: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(FetchRefused) as refused:
        safe_fetch(f"http://{host}/latest/meta-data/")
    assert refused.value.reason == "address"
    # The same address behind a name is refused just the same.
    _fake_dns(monkeypatch, {"innocent.example.org": [[host.strip("[]")]]})
    with pytest.raises(FetchRefused):
        safe_fetch("https://innocent.example.org/")
    assert no_network == []


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1", "64:ff9b::5db8:d822", "2002:5db8:d822::1"])
def test_address_refusal_allows_public_addresses(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.216.34:8080/", "port"),
        ("https://93.184.216.34:8443/", "port"),
        ("http://93.184.216.34:22/", "port"),
        ("ftp://93.184.216.34/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://93.184.216.34/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("http://user:secret@93.184.216.34/", "userinfo"),
        ("http://93.184.216.34@127.0.0.1/", "userinfo"),
        ("http://@93.184.216.34/", "userinfo"),
        ("http://93.184.216.34:99999/", "host"),
        ("http:///nohost", "host"),
        ("http://exa mple.com/", "host"),
        ("http://example.com/a\r\nHost: evil", "host"),
    ],
)
def test_safe_fetch_refuses_bad_urls_without_any_lookup(
    url: str, reason: str, no_network: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _fake_dns(monkeypatch, {})
    with pytest.raises(FetchRefused) as refused:
        safe_fetch(url)
    assert refused.value.reason == reason
    assert no_network == [] and asked == []


def test_safe_fetch_refuses_name_on_other_port(
    no_network: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dns(monkeypatch, {"example.org": [["93.184.216.34"]]})
    with pytest.raises(FetchRefused) as refused:
        safe_fetch("http://example.org:8080/")
    assert refused.value.reason == "port"
    assert no_network == []


def test_safe_fetch_caps_a_declared_oversize_body(listener: Listener) -> None:
    with pytest.raises(FetchFailed) as failed:
        safe_fetch(listener.url("/big"), _allow_for_tests=listener.endpoint)
    assert failed.value.reason == "too_large"
    result = safe_fetch(listener.url("/big"), allow_truncated=True, _allow_for_tests=listener.endpoint)
    assert result.truncated and len(result.body) == 1024 * 1024


def test_safe_fetch_caps_an_undeclared_body_while_streaming(listener: Listener) -> None:
    with pytest.raises(FetchFailed) as failed:
        safe_fetch(listener.url("/big-undeclared"), max_bytes=200_000, _allow_for_tests=listener.endpoint)
    assert failed.value.reason == "too_large"
    result = safe_fetch(
        listener.url("/big-undeclared"), max_bytes=200_000, allow_truncated=True, _allow_for_tests=listener.endpoint
    )
    assert result.truncated and len(result.body) == 200_000


def test_safe_fetch_respects_the_timeout_for_a_silent_server(listener: Listener) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        safe_fetch(listener.url("/slow"), timeout=0.3, _allow_for_tests=listener.endpoint)
    assert failed.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_safe_fetch_deadline_covers_a_trickling_body(listener: Listener) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        safe_fetch(listener.url("/trickle"), timeout=0.5, _allow_for_tests=listener.endpoint)
    assert failed.value.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_safe_fetch_reports_a_closed_port_as_failed(other_listener: Listener) -> None:
    port = other_listener.port
    allow = other_listener.endpoint
    other_listener.server.shutdown()
    other_listener.server.server_close()
    with pytest.raises(FetchFailed) as failed:
        safe_fetch(f"http://127.0.0.1:{port}/", timeout=2, _allow_for_tests=allow)
    assert failed.value.reason in {"connect", "timeout"}


def test_safe_fetch_returns_page_through_the_test_allowance(listener: Listener) -> None:
    result = safe_fetch(listener.url("/page?x=é"), _allow_for_tests=listener.endpoint)
    assert result.status == 200
    assert result.content_type.startswith("text/html")
    assert b"og:title" in result.body and not result.truncated
    assert listener.requests[0][0] == "/page?x=%C3%A9"
