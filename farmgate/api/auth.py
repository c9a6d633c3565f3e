from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from farmgate.accounts import phone as phone_accounts
from farmgate.accounts import service as accounts
from farmgate.callbacks import API_PREFIX
from farmgate.config import settings
from farmgate.privacy import service as privacy
from farmgate.sms.codes import Purpose
from farmgate.validators import normalize_mobile
from farmgate.web.auth import CurrentAccount, bearer_token
from farmgate.web.cookies import SESSION_COOKIE
from farmgate.web.downloads import download
from farmgate.web.requests import client_ip
from farmgate.web.session import SessionDep

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["账号"])


class PhoneModel(BaseModel):
    phone: str = Field(description="中国大陆手机号")

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalize_mobile(v)


class CodeRequest(PhoneModel):
    purpose: Purpose = Field(
        default=Purpose.LOGIN, description="login：注册或验证码登录；reset：重设密码"
    )


class CodeSent(BaseModel):
    message: str
    expires_in: int = Field(description="验证码有效秒数")
    resend_after: int = Field(description="多少秒后可以重新获取")


class Register(PhoneModel):
    code: str = Field(min_length=1, max_length=10, description="短信验证码（6位数字）")
    password: str | None = Field(
        default=None, min_length=8, max_length=128, description="可选：以后也可以设置"
    )
    display_name: str = Field(default="", max_length=50)


class CodeLogin(PhoneModel):
    code: str = Field(min_length=1, max_length=10, description="短信验证码（6位数字）")


class PasswordReset(CodeLogin):
    password: str = Field(min_length=8, max_length=128)


class Login(PhoneModel):
    password: str = Field(min_length=1, max_length=128)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class AccountOut(BaseModel):
    id: int
    phone: str
    display_name: str
    role: str
    cooperative_id: int | None


@router.post("/codes", response_model=CodeSent, status_code=202, summary="获取短信验证码")
def request_code(data: CodeRequest, request: Request, session: SessionDep) -> CodeSent:
    """The same answer whether or not the number has an account (for a reset, a number
    without one receives nothing). 429 within the resend interval or over a daily limit."""
    phone_accounts.request_code(session, data.phone, data.purpose, client_ip(request))
    return CodeSent(
        message="验证码已发送，请查看短信",
        expires_in=settings.sms_code_minutes * 60,
        resend_after=settings.sms_resend_seconds,
    )


@router.post(
    "/register", response_model=AccountOut, status_code=201, summary="消费者注册（短信验证码）"
)
def register(data: Register, session: SessionDep) -> AccountOut:
    """Needs a code from ``POST /auth/codes`` (purpose login). A number that already has an
    account answers alike: the code proves it is the caller's, and a password given is set."""
    account = phone_accounts.register_with_code(
        session, data.phone, data.code, data.password, data.display_name
    )
    return AccountOut.model_validate(account, from_attributes=True)


@router.post("/token/sms", response_model=TokenOut, summary="手机号 + 短信验证码换取 API 令牌")
def token_by_code(data: CodeLogin, session: SessionDep) -> TokenOut:
    account = phone_accounts.sign_in_with_code(session, data.phone, data.code)
    issued = accounts.issue_token(session, account, "api")
    return TokenOut(access_token=issued.token, expires_at=issued.record.expires_at)


@router.post("/password/reset", status_code=204, summary="用短信验证码重设密码")
def reset_password(data: PasswordReset, session: SessionDep) -> None:
    phone_accounts.reset_password(session, data.phone, data.code, data.password)


@router.post("/token", response_model=TokenOut, summary="手机号 + 密码换取 API 令牌")
def token(data: Login, session: SessionDep) -> TokenOut:
    account = accounts.authenticate(session, data.phone, data.password)
    issued = accounts.issue_token(session, account, "api")
    return TokenOut(access_token=issued.token, expires_at=issued.record.expires_at)


@router.post("/logout", status_code=204, summary="注销当前令牌")
def logout(request: Request, session: SessionDep, _: CurrentAccount) -> None:
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.revoke_token(session, token)


@router.get("/me", response_model=AccountOut, summary="当前账号")
def me(account: CurrentAccount) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


class EraseIn(BaseModel):
    password: str = Field(min_length=1, max_length=128, description="再次输入密码以确认")


@router.get("/me/data", summary="导出我的个人信息（账号、订单、地址、购物车）")
def my_data(session: SessionDep, account: CurrentAccount) -> Response:
    body = json.dumps(privacy.export(session, account), ensure_ascii=False)
    return download(body, "application/json", "farmgate-my-data.json")


@router.post("/me/erase", status_code=204, summary="注销账号并删除个人信息（订单记录去标识化保留）")
def erase_me(data: EraseIn, session: SessionDep, account: CurrentAccount) -> None:
    privacy.erase(session, account, data.password)
