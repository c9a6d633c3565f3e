"""What can go wrong talking to WeChat's official-account API."""

from __future__ import annotations

from farmgate.errors import Conflict, FarmgateError


class WeChatError(FarmgateError):
    """WeChat answered with an error code (``errcode``), or not at all."""

    status = 502
    code = "wechat_failed"
    errcode: int | None = None

    @classmethod
    def answered(cls, errcode: int | None, errmsg: str | None) -> WeChatError:
        error = cls(f"微信接口返回错误 {errcode}：{errmsg or ''}".strip())
        error.errcode = errcode
        return error


class WeChatUnavailable(WeChatError):
    """Timed out, unreachable, or throttled (45009): try again later."""

    status = 503
    code = "wechat_unavailable"


class OpenIdTaken(Conflict):
    """This WeChat user is already bound to another account."""

    code = "openid_taken"
