"""The simulator's ASGI app: Tencent Cloud's API endpoint, the control API and the inbox page.

- ``POST /``: the Tencent Cloud API (``X-TC-Action: SendSms``, ``X-TC-Version: 2021-01-11``),
  TC3-HMAC-SHA256 checked: an unknown SecretId answers ``AuthFailure.SecretIdNotFound``, a bad
  signature ``AuthFailure.SignatureFailure``, a timestamp more than 5 minutes off
  ``AuthFailure.SignatureExpire``.
- ``GET /``: the "inbox", every message sent with its code, newest first (HTML).
- ``GET /_simulator/messages?phone=13800000000``: the same as JSON, oldest first.
- ``POST /_simulator/faults`` ``{"faults": [...], "timeout_seconds": 2}``: queue faults, each
  used once by the next SendSms (see ``state.FAULTS``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime
from html import escape
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from farmgate.simulation import SimulatorHeader, faults_route
from farmgate.sms.simulator.state import FAULTS, SentMessage, SmsSimState
from farmgate.sms.tencent import SERVICE, VERSION, parse_authorization, tc3_sign

BANNER = "模拟短信"
MAINLAND = re.compile(r"^\+861[3-9]\d{9}$")
SHANGHAI_OFFSET = 8 * 3600


def _answer(body: dict[str, Any]) -> Response:
    payload = {"Response": {**body, "RequestId": str(uuid.uuid4())}}
    return JSONResponse(payload)


def _error(code: str, message: str) -> Response:
    return _answer({"Error": {"Code": code, "Message": message}})


def _check_signature(state: SmsSimState, request: Request, body: bytes) -> Response | None:
    parts = parse_authorization(request.headers.get("authorization", ""))
    if parts is None:
        return _error("AuthFailure.SignatureFailure", "Authorization 格式不正确（模拟）")
    secret_id, _, scope = parts["Credential"].partition("/")
    if secret_id != state.secret_id:
        return _error("AuthFailure.SecretIdNotFound", "SecretId 不存在（模拟）")
    try:
        timestamp = int(request.headers.get("x-tc-timestamp", ""))
    except ValueError:
        return _error("MissingParameter", "缺少 X-TC-Timestamp（模拟）")
    if abs(time.time() - timestamp) > 300:
        return _error("AuthFailure.SignatureExpire", "签名已过期（模拟）")
    if parts["SignedHeaders"] != "content-type;host":
        return _error("AuthFailure.SignatureFailure", "SignedHeaders 不支持（模拟）")
    expected = tc3_sign(
        secret_id=state.secret_id,
        secret_key=state.secret_key,
        service=SERVICE,
        host=request.headers.get("host", ""),
        payload=body,
        timestamp=timestamp,
        content_type=request.headers.get("content-type", ""),
    )
    if scope != expected.credential_scope or not hmac.compare_digest(
        parts["Signature"], expected.signature
    ):
        return _error("AuthFailure.SignatureFailure", "签名验证失败（模拟）")
    return None


def build_app(state: SmsSimState) -> ASGIApp:
    async def api(request: Request) -> Response:
        body = await request.body()
        failure = _check_signature(state, request, body)
        if failure is not None:
            return failure
        if request.headers.get("x-tc-action") != "SendSms":
            return _error("InvalidAction", "接口不存在（模拟只支持 SendSms）")
        if request.headers.get("x-tc-version") != VERSION:
            return _error("InvalidParameter", f"X-TC-Version 应为 {VERSION}（模拟）")
        fault = state.take_fault("timeout", "error_500", "throttled")
        if fault == "timeout":  # stall, then give up without sending (nor using more faults)
            await asyncio.sleep(state.timeout_seconds)
            return _error("InternalError.Timeout", "请求超时（模拟）")
        if fault == "error_500":
            return Response("simulated outage（模拟故障）", status_code=502)
        if fault == "throttled":
            return _error("RequestLimitExceeded", "请求的次数超过了频率限制（模拟）")
        try:
            fields = json.loads(body)
            phones = [str(p) for p in fields["PhoneNumberSet"]]
            app_id, sign = str(fields["SmsSdkAppId"]), str(fields["SignName"])
            template_id = str(fields["TemplateId"])
            params = [str(p) for p in fields.get("TemplateParamSet") or []]
        except (ValueError, KeyError, TypeError):
            return _error("MissingParameter", "缺少参数（模拟）")
        if app_id != state.sdk_app_id:
            return _error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId 不存在（模拟）")
        if sign != state.sign_name:
            return _error("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批（模拟）")
        template = state.templates.get(template_id)
        if template is None:
            return _error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批（模拟）")
        statuses = []
        for phone in phones:
            status = _send_one(state, phone, sign, template_id, template, params)
            statuses.append(status)
        return _answer({"SendStatusSet": statuses})

    async def messages(request: Request) -> Response:
        wanted = request.query_params.get("phone")
        found = [
            {
                "serial_no": m.serial_no,
                "phone": m.phone,
                "template_id": m.template_id,
                "params": m.params,
                "text": m.text,
                "at": m.at.isoformat(),
            }
            for m in state.messages
            if wanted is None or m.phone in (wanted, "+86" + wanted)
        ]
        return JSONResponse({"messages": found, "refused": state.refused})

    async def inbox(request: Request) -> Response:
        rows = "".join(
            "<tr>"
            f"<td>{escape(_local(m.at))}</td><td>{escape(m.phone)}</td>"
            f"<td><b class='code'>{escape(m.params[0] if m.params else '')}</b></td>"
            f"<td>{escape(m.text)}</td></tr>"
            for m in reversed(state.messages)
        )
        table = (
            "<table><tr><th>时间</th><th>手机号</th><th>验证码</th><th>短信内容</th></tr>"
            f"{rows}</table>"
            if rows
            else "<p>还没有发送任何短信。</p>"
        )
        return HTMLResponse(_page("已发送的短信", table))

    app = Starlette(
        routes=[
            Route("/", api, methods=["POST"]),
            Route("/", inbox, methods=["GET"]),
            Route("/_simulator/messages", messages, methods=["GET"]),
            faults_route(state, FAULTS),
        ]
    )
    return SimulatorHeader(app, "tencent-sms")


def _send_one(
    state: SmsSimState, phone: str, sign: str, template_id: str, template: str, params: list[str]
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "SerialNo": "",
        "PhoneNumber": phone,
        "Fee": 0,
        "SessionContext": "",
        "IsoCode": "CN",
    }
    fault = state.take_fault("daily_limit", "invalid_number")
    if fault == "invalid_number" or not MAINLAND.match(phone):
        code, message = "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误（模拟）"
    elif fault == "daily_limit":
        code, message = (
            "LimitExceeded.PhoneNumberDailyLimit",
            "单个手机号日下发条数超过上限（模拟）",
        )
    else:
        text = template
        for i, value in enumerate(params, start=1):
            text = text.replace("{" + str(i) + "}", value)
        serial = f"sim:{secrets.token_hex(8)}"
        state.messages.append(
            SentMessage(serial, phone, sign, template_id, params, f"【{sign}】{text}", _now())
        )
        return {**status, "SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}
    state.refused.append((phone, code))
    return {**status, "Code": code, "Message": message}


def _now() -> datetime:
    return datetime.now(UTC)


def _local(at: datetime) -> str:
    return datetime.fromtimestamp(at.timestamp() + SHANGHAI_OFFSET, UTC).strftime("%m-%d %H:%M:%S")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="refresh" content="5">'
        f"<title>{title}（{BANNER}）</title><body style='font-family:sans-serif;padding:1rem'>"
        f"<p style='background:#fff3cd;padding:.5rem'><b>{BANNER}</b>："
        "这是 farmgate 的腾讯云短信模拟器，不会发出真实短信。验证码在下表中。</p>"
        f"<h1>{title}</h1>{body}</body></html>"
    )
