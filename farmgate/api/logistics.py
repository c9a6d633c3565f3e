"""The carrier's tracking pushes: verify -> store -> acknowledge; applying is a job."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from farmgate.api.deps import RawBody, SessionDep
from farmgate.logistics import service

router = APIRouter(tags=["物流"])


@router.post("/logistics/kuaidi100/push", include_in_schema=False)
def kuaidi100_push(request: Request, body: RawBody, session: SessionDep) -> Response:
    status, content_type, payload = service.receive_push(session, request.headers, body)
    return Response(payload, status_code=status, media_type=content_type)
