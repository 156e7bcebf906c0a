from __future__ import annotations

import dataclasses

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bench_smoke: the benchmark harness end to end on a small dataset (CI smoke)")


@pytest.fixture
def var_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Point the credentials file at a temporary var/ directory."""
    settings.ENV = dataclasses.replace(settings.ENV, var_dir=tmp_path)
    return tmp_path
