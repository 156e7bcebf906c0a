"""The out-of-band young collection (config/runtime.py): after the last page or API
request in flight is answered, never while another is in flight, never for event
streams."""

from __future__ import annotations

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from townhall.config import runtime


@pytest.fixture
def collections(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(runtime.gc, "collect", lambda generation=2: calls.append(generation) or 0)
    monkeypatch.setattr(runtime.gc, "get_count", lambda: (runtime.OUT_OF_BAND_MIN, 0, 0))
    monkeypatch.setattr(runtime, "in_flight", runtime._InFlight())
    return calls


def test_collects_the_young_generation_when_a_request_starts_alone(collections):
    tracker = runtime.in_flight
    tracker.started(WSGIHandler, environ={})
    assert collections == [0]  # nothing else in flight: the garbage of earlier requests
    tracker.started(WSGIHandler, environ={})
    assert collections == [0]  # the first is still being served: its objects are live
    tracker.finished(WSGIHandler)
    tracker.finished(WSGIHandler)
    assert collections == [0]  # never as a request ends (its objects are still reachable)
    tracker.started(WSGIHandler, environ={})
    assert collections == [0, 0]


def test_event_streams_are_not_counted_and_collect_nothing(collections):
    tracker = runtime.in_flight
    tracker.started(ASGIHandler, scope={"type": "http"})  # an event stream opens and stays open
    assert collections == []
    tracker.started(WSGIHandler, environ={})
    assert collections == [0]  # the open stream does not hold collections back
    tracker.finished(WSGIHandler)
    tracker.finished(ASGIHandler)
    assert tracker.count == 0


def test_nothing_to_collect_below_the_minimum(collections, monkeypatch):
    monkeypatch.setattr(runtime.gc, "get_count", lambda: (runtime.OUT_OF_BAND_MIN - 1, 0, 0))
    runtime.in_flight.started(WSGIHandler, environ={})
    runtime.in_flight.finished(WSGIHandler)
    assert collections == []


@pytest.mark.django_db
def test_a_served_request_triggers_it_through_djangos_signals(collections, monkeypatch):
    monkeypatch.setattr(runtime, "in_flight", runtime._InFlight())
    runtime.collect_between_requests()
    try:
        assert Client().get("/healthz").status_code == 200
        assert collections == [0]
        assert runtime.in_flight.count == 0
    finally:
        from django.core.signals import request_finished, request_started

        request_started.disconnect(dispatch_uid="townhall-gc-started")
        request_finished.disconnect(dispatch_uid="townhall-gc-finished")


@pytest.mark.parametrize(("older", "oldest", "generation"), [(0, 0, 0), (19, 0, 0), (20, 0, 1), (20, 100, 1)])
def test_the_middle_generation_is_collected_on_the_collectors_schedule(
    collections, monkeypatch, older, oldest, generation
):
    """An explicit young collection never starts the automatic older ones: without
    this the middle generation grew with every request. The oldest is never collected
    here (a full collection scans every held event stream)."""
    monkeypatch.setattr(runtime.gc, "get_count", lambda: (runtime.OUT_OF_BAND_MIN, older, oldest))
    monkeypatch.setattr(runtime.gc, "get_threshold", lambda: (50_000, 20, 100))
    runtime.in_flight.started(WSGIHandler, environ={})
    assert collections == [generation]
