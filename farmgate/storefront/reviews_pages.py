"""Reviews on the storefront: a buyer writes one for a received order line, anyone reads a
product's reviews page by page, and a signed-in user reports one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from farmgate.catalog import service as catalog
from farmgate.config import settings
from farmgate.errors import AuthenticationRequired, FarmgateError
from farmgate.models import Account, ReportReason
from farmgate.reviews import service as reviews
from farmgate.reviews import views
from farmgate.storefront.common import PageAccount, check_csrf, render, see_other
from farmgate.web.requests import FormValues
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)


async def _multipart(request: Request) -> FormData:
    return await request.form()


Multipart = Annotated[FormData, Depends(_multipart)]


def _signed_in(account: Account | None) -> Account:
    if account is None:
        raise AuthenticationRequired("请先登录")
    return account


def _review_path(number: str, line_id: int) -> str:
    return f"/orders/{number}/lines/{line_id}/review"


def _write_page(
    request: Request,
    session: Session,
    account: Account,
    number: str,
    line_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    target = reviews.line_to_review(session, account, number, line_id)
    response = render(
        request,
        "reviews/write.html",
        account,
        order=target.order,
        line=target.line,
        lot_code=views.lot_code(session, target.line.batch_id),
        received=target.received,
        review=views.one(session, target.review) if target.review else None,
        action=_review_path(number, line_id),
        errors=errors or {},
        values=values or {},
        refusal=refusal,
        max_photos=reviews.MAX_PHOTOS,
        max_body=reviews.MAX_BODY,
        max_mb=settings.max_upload_bytes // 1024 // 1024,
        done=request.query_params.get("done") == "1",
    )
    response.status_code = status
    return response


@router.get("/orders/{number}/lines/{line_id:int}/review", response_class=HTMLResponse)
def review_form(
    number: str, line_id: int, request: Request, session: SessionDep, account: PageAccount
) -> Response:
    return _write_page(request, session, _signed_in(account), number, line_id)


@router.post("/orders/{number}/lines/{line_id:int}/review", response_class=HTMLResponse)
def post_review(
    number: str,
    line_id: int,
    request: Request,
    form: Multipart,
    session: SessionDep,
    account: PageAccount,
) -> Response:
    buyer = _signed_in(account)
    check_csrf(request, str(form.get("csrf_token") or ""))
    values = {"stars": str(form.get("stars") or ""), "body": str(form.get("body") or "")}
    files = []
    for upload in form.getlist("photos"):
        if not isinstance(upload, UploadFile):
            continue
        # One byte past the limit is enough for the check to refuse it.
        data = upload.file.read(settings.max_upload_bytes + 1)
        if upload.filename or data:  # an empty file input still sends an empty part
            files.append((upload.filename or "", data))
    try:
        reviews.write_review(
            session, buyer, number, line_id, stars=values["stars"], body=values["body"], files=files
        )
    except FarmgateError as exc:
        if exc.status in (401, 403, 404, 429):
            raise
        session.rollback()
        if exc.status == 409:
            return _write_page(
                request, session, buyer, number, line_id, refusal=exc.message, status=409
            )
        errors = reviews.error_fields(exc, "stars")
        return _write_page(
            request, session, buyer, number, line_id, errors=errors, values=values, status=422
        )
    return see_other(_review_path(number, line_id) + "?done=1")


@router.get("/products/{product_id:int}/reviews", response_class=HTMLResponse)
def product_reviews(
    product_id: int, request: Request, session: SessionDep, account: PageAccount, page: str = "1"
) -> Response:
    product = catalog.get_public(session, product_id)
    page_no = int(page) if page.isdigit() else 1
    rows, pages = views.page_of(session, product_id, page_no)
    return render(
        request,
        "reviews/list.html",
        account,
        product=product,
        summary=views.summary(session, product_id, latest=0),
        reviews=rows,
        page=min(max(1, page_no), pages),
        pages=pages,
    )


def _report_page(
    request: Request,
    session: Session,
    account: Account,
    review_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    review = reviews.reportable(session, review_id)
    response = render(
        request,
        "reviews/report.html",
        account,
        review=views.one(session, review),
        reasons=ReportReason.labels(),
        errors=errors or {},
        values=values or {},
        refusal=refusal,
    )
    response.status_code = status
    return response


@router.get("/reviews/{review_id:int}/report", response_class=HTMLResponse)
def report_form(
    review_id: int, request: Request, session: SessionDep, account: PageAccount
) -> Response:
    return _report_page(request, session, _signed_in(account), review_id)


@router.post("/reviews/{review_id:int}/report", response_class=HTMLResponse)
def post_report(
    review_id: int, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    reporter = _signed_in(account)
    check_csrf(request, form.get("csrf_token", ""))
    values = {"reason": form.get("reason", ""), "note": form.get("note", "")}
    try:
        review = reviews.report(session, reporter, review_id, values["reason"], values["note"])
    except FarmgateError as exc:
        if exc.status in (401, 403, 404, 429):
            raise
        session.rollback()
        if exc.status == 409:
            return _report_page(
                request, session, reporter, review_id, refusal=exc.message, status=409
            )
        errors = reviews.error_fields(exc, "reason")
        return _report_page(
            request, session, reporter, review_id, errors=errors, values=values, status=422
        )
    product_id = reviews.reportable(session, review.review_id).product_id
    return see_other(f"/products/{product_id}/reviews?reported=1")
