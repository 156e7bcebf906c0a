"""deploy/: the nginx configuration is valid, and a production-mode Townhall (several
server processes plus a task worker, Redis for the cache, JSON logs) works behind it
exactly as deploy/nginx/townhall.conf sets it up: TLS, HTTP redirected, static files
from nginx, the API through the proxy, `/metrics` closed to the public but readable on
the app port from loopback, request ids from nginx echoed and logged.

Needs `nginx` on PATH (Debian: nginx-light; `make test` installs it); skipped without.
With DATABASE_URL pointing at PostgreSQL the app runs against a scratch database.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_crash_safety import SETUP, _free_port

TOWNHALL = str(Path(sys.executable).with_name("townhall"))
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def _nginx_conf(tmp: Path, *, http_port: int, https_port: int, app_port: int, static: Path) -> Path:
    certs = tmp / "certs"
    certs.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=townhall.example.com",
            "-keyout",
            str(certs / "privkey.pem"),
            "-out",
            str(certs / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = (DEPLOY / "nginx" / "townhall.conf").read_text()
    for old, new in (
        ("server app:8000;", f"server 127.0.0.1:{app_port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("/etc/nginx/certs/", f"{certs}/"),
        ("/var/lib/townhall/static/", f"{static}/"),
    ):
        assert old in site, f"deploy/nginx/townhall.conf no longer has {old!r}"
        site = site.replace(old, new)
    (tmp / "site.conf").write_text(site)
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    user = "user root root;" if os.geteuid() == 0 else ""
    temp = " ".join(f"{kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp / "nginx.conf"
    main.write_text(
        f"{user}\ndaemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
        f"events {{}}\nhttp {{\n {mime}\n access_log off;\n {temp}\n include {tmp}/site.conf;\n}}\n"
    )
    return main


def test_nginx_config_is_valid(tmp_path):
    conf = _nginx_conf(tmp_path, http_port=8080, https_port=8443, app_port=8000, static=tmp_path)
    done = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def _get(port: int, path: str, *, tls: bool = True, method: str = "GET", body: bytes | None = None, headers=None):  # type: ignore[no-untyped-def]
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
        conn: http.client.HTTPConnection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": "townhall.example.com", **(headers or {})})
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def _wait(check, what: str, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    # Generous: production start-up runs collectstatic and two server processes, and
    # CI runs this beside another test process on two cores.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} did not come up")


def test_production_behind_nginx(tmp_path, scratch_database):
    database = scratch_database
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env.update(
        TOWNHALL_ENV="production",
        TOWNHALL_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="townhall.example.com,127.0.0.1",
        BASE_URL="https://townhall.example.com",
        EMAIL_URL="smtp://127.0.0.1:2525",
        REDIS_URL=REDIS_URL,
        WORKERS_EXTERNAL="1",
        LOG_FORMAT="json",
        DEBUG="0",
    )
    if database:
        env["DATABASE_URL"] = database
    subprocess.run([TOWNHALL, "migrate", "--verbosity", "0"], env=env, check=True, timeout=120)
    token = (
        subprocess.run(
            [TOWNHALL, "shell", "-c", SETUP], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        .stdout.split("TOKEN=", 1)[1]
        .strip()
    )
    app_port, http_port, https_port = _free_port(), _free_port(), _free_port()
    log = (tmp_path / "app.log").open("w")
    processes = [
        subprocess.Popen(
            [TOWNHALL, "serve", "--workers", "2", "--port", str(app_port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
        subprocess.Popen(
            [TOWNHALL, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        ),
    ]
    try:
        _wait(lambda: _get(app_port, "/readyz", tls=False).status == 200, "townhall serve")
        (tmp_path / "nginx").mkdir()
        conf = _nginx_conf(
            tmp_path / "nginx",
            http_port=http_port,
            https_port=https_port,
            app_port=app_port,
            static=tmp_path / "var" / "static",
        )
        processes.append(subprocess.Popen([NGINX, "-c", str(conf)], stderr=subprocess.DEVNULL, start_new_session=True))
        _wait(lambda: _get(https_port, "/healthz").status == 200, "nginx")

        plain = _get(http_port, "/signin", tls=False)
        assert plain.status == 301 and plain.getheader("Location").startswith("https://townhall.example.com/")

        page = _get(https_port, "/signin")
        assert page.status == 200 and page.getheader("Strict-Transport-Security")
        request_id = page.getheader("X-Request-ID")
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id  # nginx's $request_id, echoed

        css = re.search(rb'href="(/static/[^"]+\.css)"', page.body)
        assert css, "the sign-in page links no stylesheet"
        static = _get(https_port, css.group(1).decode())
        assert static.status == 200 and "immutable" in static.getheader("Cache-Control", "")

        created = _get(
            https_port,
            "/api/v1/posts",
            method="POST",
            body=json.dumps({"body": "Through the proxy"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert created.status == 201, created.body
        assert _get(https_port, "/metrics").status == 404  # never through the public site

        _wait(lambda: b"townhall_workers_alive 1" in _get(app_port, "/metrics", tls=False).body, "worker heartbeat")
        # Whichever server process answers the scrape counts the POST another one served.
        expected = 'townhall_http_requests_total{route="api-1.0.0:posts_create",method="POST",status="2xx"} 1'
        for _ in range(3):
            _wait(lambda: expected in _get(app_port, "/metrics", tls=False).body.decode(), "request metrics")
        metrics = _get(app_port, "/metrics", tls=False).body.decode()
        assert "townhall_task_queue_depth" in metrics

        log.flush()
        lines = []
        for raw in (tmp_path / "app.log").read_text().splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        signin = [line for line in lines if line.get("logger") == "townhall.request" and line.get("path") == "/signin"]
        assert any(line.get("request_id") == request_id and line.get("status") == 200 for line in signin), lines[-5:]
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
        log.close()
