"""The console's landing page: how many records in each queue need a person today."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from farmgate.reports import todo
from farmgate.storefront.township.deps import ConsoleAdmin, SessionDep, console_page

router = APIRouter(include_in_schema=False)


@router.get("/township", response_class=HTMLResponse)
def today(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    queues = todo.today(session)
    return console_page(
        request,
        admin,
        "township/today.html",
        section="today",
        queues=queues,
        waiting=sum(q.count for q in queues),
    )
