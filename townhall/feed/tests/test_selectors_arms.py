"""The arms' SQL plumbing (feed/selectors.py)."""

from __future__ import annotations

from townhall.feed.selectors import _placeholder_to


def test_placeholder_to_replaces_only_the_chosen_parameter() -> None:
    sql = "SELECT 1 WHERE a = %s AND b LIKE '10%%s' AND c = %s AND d = %s"
    assert _placeholder_to(sql, 1, "x.v") == "SELECT 1 WHERE a = %s AND b LIKE '10%%s' AND c = x.v AND d = %s"
    assert _placeholder_to(sql, 0, "x.v").startswith("SELECT 1 WHERE a = x.v AND")
