"""The signed-in buyer's order notifications: on or off for every order of the account."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from farmgate.callbacks import API_PREFIX
from farmgate.notify import service as notify
from farmgate.web.auth import CurrentAccount
from farmgate.web.session import SessionDep

router = APIRouter(prefix=f"{API_PREFIX}/me/notifications", tags=["账号"])


class NotificationSettings(BaseModel):
    off: bool = Field(
        description="true：不再发送付款、发货、送达和退款结果通知（产品召回通知始终发送）"
    )


@router.get("", response_model=NotificationSettings, summary="我的订单通知设置")
def get_settings(session: SessionDep, account: CurrentAccount) -> NotificationSettings:
    return NotificationSettings(off=notify.account_opted_out(session, account))


@router.put("", response_model=NotificationSettings, summary="开启或关闭订单通知")
def put_settings(
    data: NotificationSettings, session: SessionDep, account: CurrentAccount
) -> NotificationSettings:
    notify.set_opt_out(session, off=data.off, account=account)
    return NotificationSettings(off=data.off)
