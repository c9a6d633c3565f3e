"""The township administrator: approving cooperatives and products."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from farmgate.callbacks import API_PREFIX
from farmgate.catalog import service, views
from farmgate.catalog.schemas import ProductOwnerView
from farmgate.cooperatives import service as cooperatives
from farmgate.cooperatives.schemas import CooperativePrivate
from farmgate.models import CooperativeStatus
from farmgate.web.auth import CurrentAdmin
from farmgate.web.session import SessionDep

router = APIRouter(prefix=f"{API_PREFIX}/admin", tags=["乡镇管理"])


class ReviewNote(BaseModel):
    note: str = Field(default="", max_length=500)


@router.get("/cooperatives", response_model=list[CooperativePrivate], summary="合作社（含待审核）")
def list_cooperatives(
    session: SessionDep, _: CurrentAdmin, status: CooperativeStatus | None = None
) -> list[CooperativePrivate]:
    return [
        cooperatives.private_view(session, c) for c in cooperatives.list_for_admin(session, status)
    ]


@router.post(
    "/cooperatives/{cooperative_id}/{action}",
    response_model=CooperativePrivate,
    summary="审核通过（approve）或暂停（suspend）合作社",
)
def cooperative_action(
    cooperative_id: int,
    action: Literal["approve", "suspend"],
    session: SessionDep,
    admin: CurrentAdmin,
) -> CooperativePrivate:
    target = CooperativeStatus.APPROVED if action == "approve" else CooperativeStatus.SUSPENDED
    return cooperatives.private_view(
        session, cooperatives.set_status(session, admin, cooperative_id, target)
    )


@router.get("/review-queue", response_model=list[ProductOwnerView], summary="待审核商品")
def review_queue(session: SessionDep, admin: CurrentAdmin) -> list[ProductOwnerView]:
    return [views.product_owner_view(session, p) for p in service.review_queue(session, admin)]


@router.post(
    "/products/{product_id}/{action}",
    response_model=ProductOwnerView,
    summary="审核通过（approve）、驳回（reject，需填原因）或下架（delist）",
)
def product_action(
    product_id: int,
    action: Literal["approve", "reject", "delist"],
    session: SessionDep,
    admin: CurrentAdmin,
    body: ReviewNote | None = None,
) -> ProductOwnerView:
    note = body.note if body else ""
    if action == "approve":
        product = service.approve(session, admin, product_id)
    elif action == "reject":
        product = service.reject(session, admin, product_id, note)
    else:
        product = service.delist(session, admin, product_id, note)
    return views.product_owner_view(session, product)
