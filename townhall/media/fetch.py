"""The one way Townhall fetches a URL someone else chose (SECURITY.md, outbound fetches).

`safe_fetch` only talks to the public internet: http(s) on ports 80/443, a host
written as a name or a canonical IP address, every address the name resolves to
globally routable. It then connects to the address it checked, never to the name
again (a second lookup could answer 127.0.0.1: DNS rebinding), sending the name as
Host and TLS SNI. Redirects are followed by hand, each checked from scratch; one
deadline covers lookup, connect, redirects and body; the body cap holds while
streaming, so a large or endless response costs at most `max_bytes`.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

MiB = 1024 * 1024
REDIRECTS = {301, 302, 303, 307, 308}
ALLOWED_PORTS = {80, 443}
USER_AGENT = "Townhall link preview (+https://github.com/townhall)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Endpoint = tuple[IPAddress, int]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Special-purpose blocks this Python's ipaddress still calls global (IETF protocol
# assignments, the 6to4 relay anycast, discard-only, IETF IPv6 assignments incl. Teredo).
_ALSO_REFUSED = [ipaddress.ip_network(block) for block in ("192.0.0.0/24", "192.88.99.0/24", "100::/64", "2001::/23")]
# A label inet_aton would read as a number: 127, 0x7f, 0177, 2130706433.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class FetchError(Exception):
    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class FetchRefused(FetchError):
    """The URL or an address it leads to is not allowed: nothing was sent to it.
    `reason`: scheme, userinfo, host, port, address or redirects."""


class FetchFailed(FetchError):
    """The fetch was allowed but did not work: `reason` timeout, connect, http,
    too_large or resolve. Worth another try later for timeout/connect/resolve."""


@dataclass(frozen=True)
class FetchResult:
    final_url: str
    status: int
    content_type: str
    body: bytes
    truncated: bool = False


def address_refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a public internet address, or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if ip in _NAT64:
            # DNS64 networks synthesise 64:ff9b::a.b.c.d: judge the IPv4 inside.
            inner = address_refusal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return f"NAT64 to {inner}" if inner else None
        if ip in _IPV4_COMPATIBLE:
            return "an IPv4-compatible IPv6 address"
        if ip.sixtofour is not None and address_refusal(ip.sixtofour):
            return "a 6to4 address of a private IPv4 address"
        if ip.teredo is not None:
            return "a Teredo address"
        if ip.is_site_local:
            return "a site-local address"
    if any(ip in block for block in _ALSO_REFUSED if block.version == ip.version):
        return "a special-purpose address"
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    for refused, why in checks:
        if refused:
            return why
    return None


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # as sent in Host and SNI: IDNA name or canonical IP
    port: int
    path: str  # path + query, never empty
    literal: IPAddress | None


def _parse(url: str) -> _Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchRefused("That is not a valid URL.", reason="host") from exc
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise FetchRefused("Only http and https links are fetched.", reason="scheme")
    netloc = parts.netloc
    if "@" in netloc or parts.username is not None or parts.password is not None:
        raise FetchRefused("Links with a user name or password are not fetched.", reason="userinfo")
    raw_host = (parts.hostname or "").rstrip(".")
    if not raw_host:
        raise FetchRefused("The link has no host.", reason="host")
    literal: IPAddress | None = None
    try:
        literal = ipaddress.ip_address(raw_host)
    except ValueError:
        if _NUMERIC_LABEL.match(raw_host.rsplit(".", 1)[-1]):
            # 2130706433, 0x7f.1, 0177.0.0.1, 127.1: the C resolver reads them all
            # as 127.0.0.1. Nobody writes a real address that way.
            raise FetchRefused("Numeric host names must be written as a plain IP address.", reason="host") from None
    if literal is not None and isinstance(literal, ipaddress.IPv6Address) and literal.scope_id:
        raise FetchRefused("Scoped IPv6 addresses are not fetched.", reason="host")
    if literal is None:
        try:
            host = raw_host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise FetchRefused("The link's host name is not valid.", reason="host") from exc
        if not re.fullmatch(r"[a-z0-9._-]+", host):
            raise FetchRefused("The link's host name is not valid.", reason="host")
    else:
        host = str(literal)
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url.strip()):
        raise FetchRefused("The link contains spaces or control characters.", reason="host")
    # Percent-encode what is not ASCII; what is already encoded stays as it is.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=?~-._")
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), path, literal)


def _getaddrinfo(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (the seam tests replace: DNS leaves the process)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolve(host: str, port: int, timeout: float) -> list[IPAddress]:
    found: list[str] = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            found.extend(_getaddrinfo(host, port))
        except BaseException as exc:
            failure.append(exc)

    # getaddrinfo cannot be given a timeout; a daemon thread bounds how long we wait.
    thread = threading.Thread(target=lookup, daemon=True, name="safe-fetch-resolve")
    thread.start()
    thread.join(max(timeout, 0.0))
    if thread.is_alive():
        raise FetchFailed("Looking up the host timed out.", reason="timeout")
    if failure or not found:
        raise FetchFailed("The host name could not be resolved.", reason="resolve")
    addresses: list[IPAddress] = []
    for text in found:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def _check(target: _Target, allow: frozenset[Endpoint], deadline: float) -> list[IPAddress]:
    """Every address the target leads to, refused unless all of them are public
    (one private answer among public ones is still an attack) and the port is 80/443."""
    addresses = [target.literal] if target.literal else _resolve(target.host, target.port, deadline - time.monotonic())
    checked = [ip for ip in addresses if (ip, target.port) not in allow]
    for ip in checked:
        why = address_refusal(ip)
        if why:
            raise FetchRefused(f"The link leads to {why} ({ip}), which is never fetched.", reason="address")
    if checked and target.port not in ALLOWED_PORTS:
        raise FetchRefused("Only links on the standard ports 80 and 443 are fetched.", reason="port")
    return addresses


class _Watchdog:
    """Shuts the socket down at the deadline, whatever read is blocked on it: a
    server trickling a byte a second must not hold the worker past the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire, args=(sock,))
        self.timer.daemon = True
        self.timer.start()

    @staticmethod
    def _fire(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self.timer.cancel()


def _connect(target: _Target, addresses: list[IPAddress], deadline: float) -> socket.socket:
    last: OSError | None = None
    for ip in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            sock = socket.create_connection((str(ip), target.port), timeout=remaining)
        except OSError as exc:
            last = exc
            continue
        if target.scheme == "https":
            context = ssl.create_default_context()
            try:
                return context.wrap_socket(sock, server_hostname=target.host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                last = exc
                continue
        return sock
    if time.monotonic() >= deadline:
        raise FetchFailed("The site took too long to answer.", reason="timeout")
    raise FetchFailed("Could not connect to the site.", reason="connect") from last


def _request(
    target: _Target, sock: socket.socket, *, deadline: float, max_bytes: int, allow_truncated: bool
) -> tuple[int, str, str | None, bytes, bool]:
    conn = http.client.HTTPConnection(target.host, target.port)
    conn.sock = sock  # already connected to the checked address; Host below is the name
    watchdog = _Watchdog(sock, deadline)
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if target.literal is None or target.literal.version == 4 else f"[{target.host}]"
        if target.port != default_port:
            host_header += f":{target.port}"
        conn.putrequest("GET", target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in (
            ("Host", host_header),
            ("User-Agent", USER_AGENT),
            ("Accept", "text/html,application/xhtml+xml,image/*;q=0.8,*/*;q=0.5"),
            ("Accept-Encoding", "identity"),  # never a compressed body: no decompression bombs
            ("Connection", "close"),
        ):
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        status = response.status
        content_type = response.getheader("Content-Type", "") or ""
        location = response.getheader("Location")
        if status in REDIRECTS:
            return status, content_type, location, b"", False
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes and not allow_truncated:
            raise FetchFailed("The response is too large.", reason="too_large")
        chunks: list[bytes] = []
        size = 0
        truncated = False
        while True:
            chunk = response.read1(64 * 1024)
            if time.monotonic() >= deadline:
                raise FetchFailed("The site took too long to answer.", reason="timeout")
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                if not allow_truncated:
                    raise FetchFailed("The response is too large.", reason="too_large")
                truncated = True
                break
        return status, content_type, location, b"".join(chunks)[:max_bytes], truncated
    except TimeoutError as exc:
        raise FetchFailed("The site took too long to answer.", reason="timeout") from exc
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline:
            raise FetchFailed("The site took too long to answer.", reason="timeout") from exc
        raise FetchFailed("The site sent a broken answer.", reason="http") from exc
    finally:
        watchdog.cancel()
        conn.close()
        sock.close()


def safe_fetch(
    url: str,
    *,
    max_bytes: int = MiB,
    timeout: float = 10.0,
    max_redirects: int = 2,
    allow_truncated: bool = False,
    _allow_for_tests: frozenset[Endpoint] = frozenset(),
) -> FetchResult:
    """GET `url` from the public internet under the SSRF rules above.

    Raises FetchRefused before sending anything to a forbidden place, FetchFailed when
    the site is slow, unreachable, broken or too large. Non-2xx answers are returned
    (the caller decides). With `allow_truncated` a body over `max_bytes` is cut there
    (a page's head is enough for a preview) instead of failing.
    `_allow_for_tests` lets the test suite reach its own loopback server: exact
    (address, port) pairs, passed explicitly, never read from settings."""
    deadline = time.monotonic() + timeout
    current = url
    for hop in range(max_redirects + 1):
        target = _parse(current)
        addresses = _check(target, _allow_for_tests, deadline)
        sock = _connect(target, addresses, deadline)
        status, content_type, location, body, truncated = _request(
            target, sock, deadline=deadline, max_bytes=max_bytes, allow_truncated=allow_truncated
        )
        if status in REDIRECTS and location:
            if hop == max_redirects:
                raise FetchRefused("The link redirects too many times.", reason="redirects")
            current = urljoin(current, location)
            continue
        return FetchResult(final_url=current, status=status, content_type=content_type, body=body, truncated=truncated)
    raise FetchRefused("The link redirects too many times.", reason="redirects")  # pragma: no cover
