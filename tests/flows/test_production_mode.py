"""The `townhall` command in production mode, as an operator runs it: refusing unsafe
settings, passing the deploy checks, and serving through gunicorn with Redis as the
shared cache (sign-in throttling then spans every process)."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

TOWNHALL = str(Path(sys.executable).with_name("townhall"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        TOWNHALL_ENV="production",
        TOWNHALL_VAR_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="townhall.example.com,127.0.0.1",
        BASE_URL="https://townhall.example.com",
        EMAIL_URL="smtp://127.0.0.1:2525",
        REDIS_URL=REDIS_URL,
        DEBUG="0",
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_production_refuses_unsafe_configuration(tmp_path):
    env = _env(tmp_path, SECRET_KEY="", ALLOWED_HOSTS="*", BASE_URL="http://insecure.example", DEBUG="1")
    result = subprocess.run([TOWNHALL, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    for setting in ("SECRET_KEY", "ALLOWED_HOSTS", "BASE_URL", "DEBUG"):
        assert setting in result.stderr
    check = subprocess.run([TOWNHALL, "check"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 2


def test_production_deploy_checks_pass(tmp_path):
    result = subprocess.run(
        [TOWNHALL, "check"], env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _request(port: int, method: str, path: str, body: str = "", headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        method,
        path,
        body=body,
        headers={"X-Forwarded-Proto": "https", "Host": "townhall.example.com", **(headers or {})},
    )
    response = conn.getresponse()
    response.body = response.read().decode()  # type: ignore[attr-defined]
    conn.close()
    return response


def test_production_server_serves_and_shares_throttle_through_redis(tmp_path):
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    env = _env(tmp_path)
    subprocess.run([TOWNHALL, "migrate", "--verbosity", "0"], env=env, check=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [TOWNHALL, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # production start-up compresses static files: slow on a busy CI
        while True:
            try:
                if _request(port, "GET", "/readyz").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        # Plain HTTP is redirected to HTTPS in production.
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        plain.request("GET", "/signin", headers={"Host": "townhall.example.com"})
        assert plain.getresponse().status == 301
        page = _request(port, "GET", "/signin")
        assert page.status == 200
        assert page.getheader("Strict-Transport-Security")
        assert page.getheader("X-Content-Type-Options") == "nosniff"
        # Failed sign-ins land in Redis, where every worker process sees them.
        cookie = page.getheader("Set-Cookie").split(";")[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
        form = urlencode({"email": "nobody@example.com", "password": "wrong-password-1", "csrfmiddlewaretoken": token})
        failed = _request(
            port,
            "POST",
            "/signin",
            form,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
                "Origin": "https://townhall.example.com",
                "Referer": "https://townhall.example.com/signin",
            },
        )
        assert failed.status == 400 and "not correct" in failed.body
        assert any(b"signin" in key for key in client.keys("*"))
    finally:
        server.terminate()
        server.wait(timeout=20)
        client.flushdb()
