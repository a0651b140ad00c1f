"""Errors the console turns into JSON ``{"error": "…"}`` with a proper status, never a traceback."""

from __future__ import annotations


class ApiError(Exception):
    """A request the console refuses; ``message`` is shown to the specialist (Chinese)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def forbidden(message: str = "没有权限执行此操作") -> ApiError:
    return ApiError(403, message)


def not_found(message: str = "找不到该记录") -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)
