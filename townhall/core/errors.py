"""Errors that services raise and every adapter (page, API, command) turns into a
clear message. A service raises before it writes, so a raised error changes nothing."""

from __future__ import annotations


class TownhallError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(TownhallError):
    code = "invalid"
    status = 422


class PermissionDenied(TownhallError):
    code = "forbidden"
    status = 403


class NotFound(TownhallError):
    """Also raised for objects the actor may not see: hidden answers like absent."""

    code = "not_found"
    status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class Conflict(TownhallError):
    code = "conflict"
    status = 409
