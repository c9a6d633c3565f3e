"""Everything the desk takes from outside the storefront, in one place.

``SessionDep``, ``FormValues`` and the session cookie come from the API package today; when
they move, only these imports change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from farmgate.api.deps import FormValues, SessionDep
from farmgate.errors import AuthenticationRequired, PermissionDenied
from farmgate.models import Account, Role
from farmgate.storefront.common import PageAccount, check_csrf

__all__ = ["DeskStaff", "FormValues", "Multipart", "SessionDep", "check_csrf"]


def desk_staff(account: PageAccount) -> Account:
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
