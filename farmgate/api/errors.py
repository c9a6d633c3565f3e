"""Every error leaves the API as ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from farmgate.errors import FarmgateError
from farmgate.messages import validation_fields

log = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


_HTTP_CODES = {
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "没有权限"),
    413: ("too_large", "请求内容过大，请缩小文件或分批提交"),
}


async def farmgate_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FarmgateError)
    return JSONResponse(exc.to_dict(), status_code=exc.status)


async def request_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = validation_fields(list(exc.errors()))
    return JSONResponse(
        error_body("validation_failed", "提交的内容有误，请检查后重试", fields), status_code=422
    )


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "请求无法处理"))
    return JSONResponse(error_body(code, message), status_code=exc.status_code)


async def integrity_error(_: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error mapped to 409: %s", exc)
    return JSONResponse(error_body("conflict", "数据与已有记录冲突，请刷新后重试"), status_code=409)


async def out_of_range(_: Request, exc: Exception) -> JSONResponse:
    # An id or amount beyond what the database stores (an INTEGER column): it names nothing.
    log.info("value out of the database's range mapped to 422: %s", exc)
    return JSONResponse(
        error_body("out_of_range", "数值超出范围", {"_": "编号或数值超出范围"}), status_code=422
    )


async def operational_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("database unavailable", exc_info=exc)
    return JSONResponse(
        error_body("service_unavailable", "服务暂时繁忙，请稍后重试"), status_code=503
    )


async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "服务器内部错误，请稍后重试"), status_code=500)


JSON_HANDLERS = {
    FarmgateError: farmgate_error,
    RequestValidationError: request_validation_error,
    StarletteHTTPException: http_error,
    IntegrityError: integrity_error,
    DataError: out_of_range,
    OverflowError: out_of_range,
    OperationalError: operational_error,
    Exception: unexpected_error,
}
