"""Request ids, JSON logs and /metrics (townhall/core/observability.py)."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import replace

import pytest
from django.test import Client
from django.utils import timezone

from townhall.config import env as env_module
from townhall.core.models import WorkerHeartbeat
from townhall.core.observability import (
    _HOST,
    BUCKETS,
    METRICS,
    JsonFormatter,
    RequestContextFilter,
    _metrics_dir,
    register_gauge,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_metrics_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    # Other test processes on this machine write their metrics files too.
    settings.ENV = replace(settings.ENV, var_dir=tmp_path)


@pytest.fixture
def metrics_token(settings):  # type: ignore[no-untyped-def]
    settings.ENV = replace(settings.ENV, metrics_token="s3cret-metrics-token")
    return "s3cret-metrics-token"


def test_metrics_count_requests_by_route_and_show_queue_and_workers(client: Client, member_client: Client):
    METRICS.reset()
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="host:1:abc", hostname="host", pid=1, started_at=now, seen_at=now)
    register_gauge("townhall_test_gauge", "A gauge another app registers.", lambda: [({"kind": "x"}, 3)])
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    member_client.get("/never-existed-page")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert 'townhall_http_requests_total{route="core:health",method="GET",status="2xx"} 3' in text
    assert 'townhall_http_requests_total{route="unmatched",method="GET",status="4xx"} 1' in text
    assert 'townhall_http_request_duration_seconds_count{route="core:health",method="GET"} 3' in text
    assert 'townhall_http_request_duration_seconds_bucket{route="core:health",method="GET",le="+Inf"} 3' in text
    assert 'townhall_task_queue_depth{queue="default"} 0' in text
    assert "townhall_workers_alive 1" in text
    assert 'townhall_worker_heartbeat_age_seconds{worker="host:1:abc"}' in text
    assert 'townhall_test_gauge{kind="x"} 3' in text
    for line in text.splitlines():  # every sample line is "name{labels} number"
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_metrics_add_up_the_processes_of_this_machine(client: Client, settings):
    METRICS.reset()
    client.get("/healthz")
    folder = _metrics_dir()
    folder.mkdir(parents=True, exist_ok=True)
    row = ["core:health", "GET", "2xx", 5, 0.05, [5] * len(BUCKETS)]
    (folder / f"{_HOST}-{os.getppid()}.json").write_text(json.dumps([row]))  # a live process
    dead = folder / f"{_HOST}-999999999.json"
    dead.write_text(json.dumps([row]))
    (folder / f"otherhost-{os.getppid()}.json").write_text(json.dumps([row]))  # another machine's
    text = client.get("/metrics").content.decode()
    assert 'townhall_http_requests_total{route="core:health",method="GET",status="2xx"} 6' in text
    assert not dead.exists()
    METRICS.flush()
    assert (folder / f"{_HOST}-{os.getpid()}.json").exists()


def test_metrics_are_loopback_only_without_a_token(client: Client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404
    # Through a proxy on this machine: refused, and answered like any missing page.
    proxied = client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    missing = client.get("/never-existed")
    assert proxied.status_code == missing.status_code == 404
    assert b"There is nothing here" in proxied.content and b"There is nothing here" in missing.content


def test_metrics_with_a_token(client: Client, metrics_token: str):
    assert client.get("/metrics").status_code == 404  # loopback is not enough once a token is set
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    ok = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")
    assert ok.status_code == 200


def test_request_id_is_echoed_or_made(client: Client):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="proxy-abc-12345")["X-Request-ID"] == "proxy-abc-12345"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n<script>")["X-Request-ID"] != "bad id\n<script>"


def test_request_log_line_in_json(member, member_client: Client, caplog):
    caplog.set_level(logging.INFO, logger="townhall.request")
    member_client.get("/healthz", HTTP_X_REQUEST_ID="req-0123456789")
    record = next(r for r in caplog.records if r.name == "townhall.request")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-0123456789"
    assert line["user_id"] == str(member.pk)
    assert line["path"] == "/healthz" and line["route"] == "core:health"
    assert line["status"] == 200 and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["logger"] == "townhall.request"


def test_json_formatter_carries_the_request_id_and_exceptions():
    from townhall.core.observability import request_id_var

    token = request_id_var.set("ctx-id-123456")
    try:
        record = logging.LogRecord("townhall.x", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
        try:
            raise ValueError("bad")
        except ValueError:
            record.exc_info = sys.exc_info()
        RequestContextFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "boom x" and line["request_id"] == "ctx-id-123456"
    assert "ValueError: bad" in line["exception"]


def test_log_format_setting(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert env_module.load().log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "")
    assert env_module.load().log_format == "plain"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        env_module.load()
