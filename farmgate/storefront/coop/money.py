"""The desk's money: what is payable and pending, and the month's statement (page, PDF, XLSX)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from farmgate.config import settings
from farmgate.errors import ValidationFailed
from farmgate.ledger import payouts, statements
from farmgate.storefront.coop.deps import DeskStaff, SessionDep
from farmgate.storefront.coop.forms import desk_page
from farmgate.web.downloads import download

router = APIRouter(include_in_schema=False)
PDF, XLSX = "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(month: str) -> tuple[statements.Period, dict[str, str]]:
    try:
        return statements.month(month), {}
    except ValidationFailed as exc:
        return statements.month(), dict(exc.fields)


@router.get("/coop/money", response_class=HTMLResponse)
def money(
    request: Request, session: SessionDep, staff: DeskStaff, month: str = "", page: int = 1
) -> Response:
    period, errors = _period(month)
    stmt = statements.build(session, staff.cooperative_id or 0, period, page=page)
    return desk_page(
        request,
        session,
        staff,
        "coop/money.html",
        section="money",
        stmt=stmt,
        payouts=payouts.list_for(session, staff.cooperative_id or 0, limit=10),
        voucher_url=payouts.voucher_url,
        base="/coop/money",
        month_value=month if errors else period.key,
        settlement_days=settings.settlement_days,
        errors=errors,
        status=422 if errors else 200,
    )


@router.get("/coop/money/statement.pdf")
def statement_pdf(session: SessionDep, staff: DeskStaff, month: str = "") -> Response:
    stmt = statements.build(session, staff.cooperative_id or 0, statements.month(month))
    name, body = statements.pdf(session, stmt)
    return download(body, PDF, name)


@router.get("/coop/money/statement.xlsx")
def statement_xlsx(session: SessionDep, staff: DeskStaff, month: str = "") -> Response:
    stmt = statements.build(session, staff.cooperative_id or 0, statements.month(month))
    name, body = statements.xlsx(session, stmt)
    return download(body, XLSX, name)


def voucher_response(photo: bytes) -> Response:
    """A voucher photo shown in the browser, never stored by a cache on the way."""
    return Response(
        photo,
        media_type="image/webp",
        headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"},
    )


@router.get("/coop/money/payouts/{payout_id:int}/voucher")
def payout_voucher(payout_id: int, session: SessionDep, staff: DeskStaff) -> Response:
    """The voucher photo of a transfer to this cooperative (another's: 404)."""
    return voucher_response(payouts.voucher_for(session, staff, payout_id))
