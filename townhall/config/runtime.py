"""Process-level tuning shared by every way of serving Townhall (and the benchmark,
which measures the server as it runs)."""

from __future__ import annotations

import gc
import threading


def tune_garbage_collector() -> None:
    """Held event streams and a warm Django keep hundreds of thousands of objects alive,
    and a full collection scans them all: measured pauses of 0.6-1.4 s at 2,000 streams
    (the p99 of delivery) and 100-150 ms in page requests (the p99 of the home feed).
    Freeze what exists after start-up (Django and the app, ~90,000 objects, never
    garbage) out of every collection, and collect the young generation less often so a
    request's burst of short-lived objects is not promoted (bench/sse.py: p99 at 2,000
    streams went from 1.8-2.0 s to 0.45 s). Only from the main thread: a server run
    inside a thread (tests) leaves the process alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
