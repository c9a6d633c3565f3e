"""Probes and metrics for the proxy, the orchestrator and Prometheus (outside /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from farmgate.ops import health, metrics

router = APIRouter(tags=["运维"])


@router.get("/healthz", summary="进程存活")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="可以接收请求：数据库、迁移、Redis、搜索")
def readyz() -> JSONResponse:
    ready, detail = health.readiness()
    return JSONResponse(detail, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
