"""Process-level tuning shared by every way of serving Townhall (and the benchmark,
which measures the server as it runs)."""

from __future__ import annotations

import gc
import threading
from typing import Any

from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started

# Out-of-band collection (see collect_between_requests): only once the young generation
# holds at least this many objects (a feed page leaves ~1,500 behind in cycles).
OUT_OF_BAND_MIN = 1_000


class _InFlight:
    """Page and API requests (WSGI) being served by this process right now. Event
    streams (Django's ASGI handler) are not counted: they stay open for hours."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def started(self, sender: Any, **kwargs: Any) -> None:
        if "environ" not in kwargs:  # ASGI sends a scope, not an environ
            return
        with self.lock:
            idle = self.count == 0
            self.count += 1
        if idle and gc.get_count()[0] >= OUT_OF_BAND_MIN:
            _collect()

    def finished(self, sender: Any, **kwargs: Any) -> None:
        if isinstance(sender, type) and issubclass(sender, ASGIHandler):
            return
        with self.lock:
            self.count = max(0, self.count - 1)


def _collect() -> None:
    """The young generation, and the middle one on the collector's own schedule: an
    explicit collection never starts the automatic one, so without this the middle
    generation was never collected and grew by every object that outlived a young
    collection (the process by ~25 MB per 200 page requests). Never the oldest: a full
    collection scans every held event stream (0.6-1.4 s at 2,000 streams), and the
    collector's own rule, which runs it only once the oldest generation has grown by a
    quarter, still applies when the threshold triggers it."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    gc.collect(1 if counts[1] >= thresholds[1] else 0)


in_flight = _InFlight()


def collect_between_requests() -> None:
    """A request's objects die in reference cycles (Django's model instances and their
    caches point at each other), so only the collector frees them: with the threshold
    below, a 20-30 ms young collection landed inside one page request in ~30 (about
    4 % of requests, all among the slowest 5 %). So when a request starts and no other
    is in flight, the young generation is collected first: what it holds is then the
    earlier requests' garbage, ~0.3 ms of work, instead of a pause in one request in
    thirty (in the spirit of unicorn's out-of-band GC). Not when the previous request
    ends (`request_finished`): its objects are still reachable then. While other
    requests are in flight the threshold decides, as before (collecting then would
    promote their live objects)."""
    request_started.connect(in_flight.started, dispatch_uid="townhall-gc-started")
    request_finished.connect(in_flight.finished, dispatch_uid="townhall-gc-finished")


def tune_garbage_collector() -> None:
    """Held event streams and a warm Django keep hundreds of thousands of objects alive,
    and a full collection scans them all: measured pauses of 0.6-1.4 s at 2,000 streams
    (the p99 of delivery) and 100-150 ms in page requests (the p99 of the home feed).
    Freeze what exists after start-up (Django and the app, ~90,000 objects, never
    garbage) out of every collection, and collect the young generation less often so a
    request's burst of short-lived objects is not promoted (bench/sse.py: p99 at 2,000
    streams went from 1.8-2.0 s to 0.45 s); and between requests when idle
    (collect_between_requests). Only from the main thread: a server run inside a thread
    (tests) leaves the process alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    collect_between_requests()
