"""One decision for every error: its status, code, message and fields.

The API answers it as ``{"error": {"code", "message", "fields"}}`` (api/errors.py), the pages
as a readable page in Chinese (storefront/errors.py); both ask ``error_payload``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from farmgate.errors import FarmgateError
from farmgate.messages import validation_fields

log = logging.getLogger(__name__)

# The exception types the app registers a handler for; ``Exception`` catches the rest (500).
HANDLED_ERRORS: tuple[type[Exception], ...] = (
    FarmgateError,
    RequestValidationError,
    StarletteHTTPException,
    IntegrityError,
    DataError,
    OverflowError,
    OperationalError,
    PoolTimeout,  # no connection came free in time: overloaded
    Exception,
)

_HTTP_CODES = {
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "没有权限"),
    413: ("too_large", "请求内容过大，请缩小文件或分批提交"),
}


@dataclass(frozen=True)
class ErrorPayload:
    status: int
    code: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    retry_after: int | None = None  # seconds, for a Retry-After header (503 busy)

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else None

    def body(self) -> dict[str, Any]:
        """The API's error body."""
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


def error_payload(exc: BaseException) -> ErrorPayload:
    """What to tell the caller about ``exc``; unexpected and database failures are logged."""
    if isinstance(exc, FarmgateError):
        retry_after = getattr(exc, "retry_after", None)
        return ErrorPayload(exc.status, exc.code, exc.message, exc.fields, retry_after)
    if isinstance(exc, RequestValidationError):
        fields = validation_fields(list(exc.errors()))
        return ErrorPayload(422, "validation_failed", "提交的内容有误，请检查后重试", fields)
    if isinstance(exc, StarletteHTTPException):
        code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "请求无法处理"))
        return ErrorPayload(exc.status_code, code, message)
    if isinstance(exc, IntegrityError):
        log.info("integrity error mapped to 409: %s", exc)
        return ErrorPayload(409, "conflict", "数据与已有记录冲突，请刷新后重试")
    if isinstance(exc, DataError | OverflowError):
        # An id or amount beyond what the database stores (an INTEGER column): it names nothing.
        log.info("value out of the database's range mapped to 422: %s", exc)
        return ErrorPayload(422, "out_of_range", "数值超出范围", {"_": "编号或数值超出范围"})
    if isinstance(exc, OperationalError | PoolTimeout):
        log.exception("database unavailable", exc_info=exc)
        return ErrorPayload(503, "service_unavailable", "服务暂时繁忙，请稍后重试", retry_after=1)
    log.exception("unhandled error", exc_info=exc)
    return ErrorPayload(500, "internal_error", "服务器内部错误，请稍后重试")
