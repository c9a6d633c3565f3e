"""EPCIS 2.0 for partners: ``POST /epcis/capture`` and ``GET /epcis/events``.

Partners (a processor, the post office) authenticate with their own API key, as
``Authorization: Bearer fgp_...`` or ``X-API-Key: fgp_...`` (created by the township admin:
``farmgate partners add``). A document that is not JSON or not valid EPCIS 2.0 is refused with
400 and the schema's errors; nothing of it is stored. An unknown or revoked key gets 401.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from farmgate.models import EpcisPartner
from farmgate.trace import capture
from farmgate.web.requests import RawBody
from farmgate.web.session import SessionDep
from farmgate.web.unit import reads_in_unit

router = APIRouter(prefix="/epcis", tags=["EPCIS"])
MEDIA_TYPE = "application/ld+json"


def partner_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


@reads_in_unit
def current_partner(request: Request, session: SessionDep) -> EpcisPartner:
    return capture.authenticate(session, partner_key(request))


CurrentPartner = Annotated[EpcisPartner, Depends(current_partner)]


@router.post(
    "/capture",
    status_code=202,
    summary="合作伙伴提交 EPCIS 2.0 文档",
    responses={400: {"description": "不是有效的 EPCIS 2.0 文档（附模式校验错误）"}},
)
def capture_document(body: RawBody, session: SessionDep, partner: CurrentPartner) -> JSONResponse:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems = [{"path": "/", "message": f"not JSON: {exc}"}]
        return _rejected("请求体不是 JSON", problems)
    try:
        result = capture.capture(session, partner, document)
    except capture.CaptureRejected as exc:
        return _rejected(exc.message, exc.problems)
    return JSONResponse(
        {
            "partner": partner.name,
            "captured": len(result.stored),
            "duplicates": len(result.duplicates),
            "eventIDs": result.stored + result.duplicates,
        },
        status_code=202,
    )


def _rejected(message: str, problems: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "invalid_epcis", "message": message, "schema_errors": problems}},
        status_code=400,
    )


@router.get("/events", summary="按 EPC、事件类型和时间查询合作伙伴提交的事件")
def query_events(
    session: SessionDep,
    partner: CurrentPartner,
    epc: Annotated[
        str | None, Query(max_length=300, description="EPC、批次或单品（URN 或数字链接）")
    ] = None,
    event_type: Annotated[
        str | None,
        Query(
            alias="eventType",
            pattern="^(ObjectEvent|AggregationEvent|TransactionEvent|TransformationEvent|AssociationEvent)$",
        ),
    ] = None,
    since: Annotated[AwareDatetime | None, Query(alias="GE_eventTime")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="LT_eventTime")] = None,
) -> JSONResponse:
    events = capture.query(session, epc=epc, event_type=event_type, since=since, until=until)
    document = capture.query_document(events, datetime.now(UTC))
    return JSONResponse(document, media_type=MEDIA_TYPE)
