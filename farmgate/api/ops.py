"""Probes and metrics for the proxy, the orchestrator and Prometheus (outside /api/v1)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from farmgate.accounts import service as accounts
from farmgate.db import session_scope
from farmgate.models import Role
from farmgate.ops import health, metrics
from farmgate.web.auth import bearer_token
from farmgate.web.cookies import SESSION_COOKIE

log = logging.getLogger(__name__)

router = APIRouter(tags=["运维"])


@router.get("/healthz", summary="进程存活")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _is_operator(request: Request) -> bool:
    """A signed-in admin (bearer token or session cookie). Never raises: the probe must answer
    while the database that would say who is asking is down."""
    token, kind = bearer_token(request), "api"
    if token is None:
        token, kind = request.cookies.get(SESSION_COOKIE), "session"
    if not token:
        return False
    try:
        with session_scope() as session:
            account = accounts.resolve_token(session, token, kind)
            return account is not None and account.role == Role.ADMIN
    except Exception:
        return False


@router.get("/readyz", summary="可以接收请求：数据库、迁移、Redis、搜索")
def readyz(request: Request) -> JSONResponse:
    """Anyone sees ok/fail per check; the reasons (error text, versions, times) go to the log
    and to a signed-in admin only: they name hosts, drivers and revisions."""
    ready, detail = health.readiness()
    for name, check in detail["checks"].items():
        if check["status"] != "ok":
            log.warning("readiness check %s failed: %s", name, check.get("error"))
    if not _is_operator(request):
        checks: dict[str, Any] = {
            name: {"status": check["status"]} for name, check in detail["checks"].items()
        }
        detail = {"status": detail["status"], "checks": checks}
    return JSONResponse(detail, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
