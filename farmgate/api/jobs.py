"""The township admin's view of background jobs: counts, dead letters, re-driving."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from farmgate.callbacks import API_PREFIX
from farmgate.db import pk
from farmgate.jobs import admin
from farmgate.web.auth import CurrentAdmin
from farmgate.web.session import SessionDep

router = APIRouter(prefix=f"{API_PREFIX}/admin/jobs", tags=["后台任务"])


class DeadJobOut(BaseModel):
    id: int
    outbox_id: int
    job: str
    args: dict[str, Any]
    attempts: int
    error: str
    failed_at: datetime
    redriven_at: datetime | None


class Redriven(BaseModel):
    outbox_ids: list[int]


@router.get("", summary="任务数量（排队、运行、失败重试、死信）")
def status(session: SessionDep, _: CurrentAdmin) -> dict[str, int]:
    return admin.counts(session)


@router.get("/dead", response_model=list[DeadJobOut], summary="死信任务")
def dead(session: SessionDep, _: CurrentAdmin, include_redriven: bool = False) -> list[DeadJobOut]:
    rows = admin.dead_letters(session, include_redriven)
    return [DeadJobOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/dead/retry-all", response_model=Redriven, summary="重新投递全部死信")
def retry_all(session: SessionDep, _: CurrentAdmin) -> Redriven:
    return Redriven(outbox_ids=[pk(r) for r in admin.redrive_all(session)])


@router.post("/dead/{dead_id}/retry", response_model=Redriven, summary="重新投递一个死信任务")
def retry(dead_id: int, session: SessionDep, _: CurrentAdmin) -> Redriven:
    return Redriven(outbox_ids=[admin.redrive(session, dead_id).id])  # type: ignore[list-item]
