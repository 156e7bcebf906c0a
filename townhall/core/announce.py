from __future__ import annotations


def results_status(*, count: int, more: bool, has_next: bool, singular: str, plural: str, empty: str) -> str:
    """What a screen reader hears after a list changes: "Showing 3 people.", "2 more
    posts loaded. More are available.", or `empty` when nothing arrived."""
    if not count:
        return empty
    noun = singular if count == 1 else plural
    text = f"{count} more {noun} loaded." if more else f"Showing {count} {noun}."
    return f"{text} More are available." if has_next else text
