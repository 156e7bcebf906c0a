"""Registration points for apps above directory (it imports none of them).

`communities` registers a hook so department communities follow the directory: it
runs inside the transaction that changed someone's department.
"""

from __future__ import annotations

from collections.abc import Callable

DepartmentHook = Callable[[int, int | None, int | None], None]  # user_id, old, new

_department_changed: list[DepartmentHook] = []
_bulk_changed: list[Callable[[], None]] = []


def on_department_changed(hook: DepartmentHook) -> None:
    if hook not in _department_changed:
        _department_changed.append(hook)


def run_department_changed(user_id: int, old: int | None, new: int | None) -> None:
    if old != new:
        for hook in _department_changed:
            hook(user_id, old, new)


def on_bulk_directory_change(hook: Callable[[], None]) -> None:
    """For bulk writers (HR import, demo) that bypass per-person hooks: resync everything."""
    if hook not in _bulk_changed:
        _bulk_changed.append(hook)


def run_bulk_directory_change() -> None:
    for hook in _bulk_changed:
        hook()
