"""The console's reviews queue: reported reviews first, recent and hidden ones a tab away;
hide, show again, or keep a reported review, each with a note in the audit log."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError
from farmgate.models import Account
from farmgate.reviews import service as reviews
from farmgate.reviews import views
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
)

router = APIRouter(include_in_schema=False)

DONE = {
    "hide": "已隐藏这条评价，它不再显示在商品页，也不计入平均分",
    "unhide": "已恢复显示这条评价",
    "keep": "已保留这条评价，举报已处理",
}
ALREADY = "这条评价已经是这个状态了，没有重复操作"


def _page(
    request: Request,
    session: Session,
    admin: Account,
    show: str,
    page: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    show = show if show in views.QUEUES else "reported"
    rows, pages, counts = views.queue(session, show, page)
    return console_page(
        request,
        admin,
        "township/reviews.html",
        section="reviews",
        status=status,
        show=show,
        queues=views.QUEUES,
        counts=counts,
        rows=rows,
        page=min(max(1, page), pages),
        pages=pages,
        errors=errors or {},
        values=values or {},
    )


@router.get("/township/reviews", response_class=HTMLResponse)
def review_queue(
    request: Request,
    session: SessionDep,
    admin: ConsoleAdmin,
    show: str = "reported",
    page: str = "1",
) -> Response:
    return _page(request, session, admin, show, int(page) if page.isdigit() else 1)


@router.post("/township/reviews/{review_id:int}/{action}")
def moderate(
    review_id: int,
    action: str,
    request: Request,
    form: FormValues,
    session: SessionDep,
    admin: ConsoleAdmin,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    show = form.get("show", "reported")
    note = form.get("note", "")
    try:
        acted = reviews.moderate(session, admin, review_id, action, note)
    except FarmgateError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        key = f"note-{review_id}"
        return _page(
            request,
            session,
            admin,
            show,
            1,
            errors={key: exc.fields.get("note", exc.message)},
            values={key: note},
            status=422,
        )
    done = DONE.get(action, "") if acted else ALREADY
    return see_other(f"/township/reviews?{urlencode({'show': show, 'done': done})}")
