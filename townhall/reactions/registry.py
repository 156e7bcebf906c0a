"""Content apps register the target types people can react to (reactions imports no
content app). For each type: who may see a target (so who may react and see who
reacted), and what to do after the reactions on a target changed (recount, rescore)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from townhall.core.errors import NotFound


@dataclass(frozen=True)
class TargetType:
    name: str
    # visible_ids(viewer, ids) -> the subset of ids the viewer may see (one query).
    visible_ids: Callable[[Any, list[int]], set[int]]
    # after_change(target_id) runs inside the reacting transaction.
    after_change: Callable[[int], None]
    # reactable_ids(viewer, ids) -> the subset the viewer may react to now (e.g. not in
    # a read-only archive); None means every visible target takes reactions.
    reactable_ids: Callable[[Any, list[int]], set[int]] | None = None


_TYPES: dict[str, TargetType] = {}


def register(target: TargetType) -> None:
    _TYPES[target.name] = target


def get(name: str) -> TargetType:
    """The registered type, or NotFound (an unknown type answers like a missing target)."""
    try:
        return _TYPES[name]
    except KeyError as exc:
        raise NotFound() from exc


def names() -> list[str]:
    return sorted(_TYPES)
