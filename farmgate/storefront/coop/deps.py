"""Everything the desk takes from outside the storefront, in one place.

``SessionDep`` and ``FormValues`` come from the web layer both delivery packages share.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from farmgate.errors import AuthenticationRequired, PermissionDenied
from farmgate.models import Account, Role
from farmgate.storefront.common import PageAccount, check_csrf
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

__all__ = ["DeskStaff", "FormValues", "Multipart", "SessionDep", "check_csrf"]


async def desk_staff(account: PageAccount) -> Account:
    """The signed-in staff member of a cooperative; everyone else is refused."""
    if account is None:
        raise AuthenticationRequired("请先登录")
    if account.role != Role.COOPERATIVE or account.cooperative_id is None:
        raise PermissionDenied("这个页面只供合作社工作人员使用")
    return account


DeskStaff = Annotated[Account, Depends(desk_staff)]


async def _multipart(request: Request) -> FormData:
    # Read here (async); the plain ``def`` endpoints then read the files' bytes in the pool.
    return await request.form()


Multipart = Annotated[FormData, Depends(_multipart)]
