"""The console's settlement: every cooperative's balance, its statement, payouts recorded with
the bank transfer's voucher photo, and payouts the bank returned."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from farmgate.config import settings
from farmgate.errors import FarmgateError, NotFound, ValidationFailed
from farmgate.ledger import accounts, payouts, posting, statements
from farmgate.models import Account, Cooperative, Payout, ShareStatus
from farmgate.payments import sharing
from farmgate.payments.wechat_sharing import RECEIVER_TYPES
from farmgate.storefront.coop.deps import Multipart
from farmgate.storefront.coop.forms import Errors, clean
from farmgate.storefront.coop.money import PDF, XLSX, voucher_response
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
    undo_refusal,
)
from farmgate.validators import yuan_to_fen
from farmgate.web.downloads import download

router = APIRouter(include_in_schema=False)


def _list_page(
    request: Request, session: Session, admin: Account, errors: Errors | None = None, **kw: Any
) -> Response:
    return console_page(
        request,
        admin,
        "township/money_list.html",
        section="orders",
        rows=statements.balances(session),
        station_cash=posting.balance(session, accounts.STATION_CASH),
        # A liability (credit balance): deposits of pre-sale orders whose balance is not in.
        deposits_held=-posting.balance(session, accounts.PRESALE_DEPOSITS),
        errors=errors or {},
        **kw,
    )


@router.get("/township/money", response_class=HTMLResponse)
def money_list(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    return _list_page(request, session, admin)


@router.post("/township/money/cash-handover")
def cash_handover(
    request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    values = {k: form.get(k, "") for k in ("amount", "station", "slip_no")}
    errors = Errors()
    amount = 0
    try:
        amount = yuan_to_fen(clean(values["amount"]))
    except ValueError:
        errors["amount"] = "请填写缴存金额（元），如 860"
    done = False
    if not errors:
        try:
            done = payouts.cash_handed_over(
                session, admin, amount, station=values["station"], slip_no=values["slip_no"]
            )
        except FarmgateError as exc:
            undo_refusal(session, exc)
            names = {"amount": "amount", "station": "station", "slip_no": "slip_no"}
            errors.absorb(exc, names, "amount")
    if errors:
        return _list_page(request, session, admin, errors, values=values)
    message = "已登记服务站缴存现金" if done else "这张存款单已经登记过了，没有重复记账"
    return see_other(f"/township/money?done={message}")


def _coop(session: Session, coop_id: int) -> Cooperative:
    coop = session.get(Cooperative, coop_id)
    if coop is None:
        raise NotFound("合作社不存在")
    return coop


def _coop_page(
    request: Request,
    session: Session,
    admin: Account,
    coop_id: int,
    *,
    month: str = "",
    page: int = 1,
    errors: Errors | dict[str, str] | None = None,
    **kw: Any,
) -> Response:
    coop = _coop(session, coop_id)
    errors = dict(errors or {})
    try:
        period = statements.month(month)
    except ValidationFailed as exc:
        period = statements.month()
        errors.update(exc.fields)
    return console_page(
        request,
        admin,
        "township/money_coop.html",
        section="orders",
        coop=coop,
        stmt=statements.build(session, coop_id, period, page=page),
        payouts=payouts.list_for(session, coop_id, limit=10),
        shares=sharing.list_for(session, coop_id, limit=10),
        share_labels=ShareStatus.labels(),
        receiver_types=list(RECEIVER_TYPES.items()),
        profit_sharing=settings.profit_sharing,
        max_share_percent=settings.profit_sharing_max_bp / 100,
        voucher_url=payouts.voucher_url,
        base=f"/township/money/{coop_id}",
        month_value=month if "month" in errors else period.key,
        settlement_days=settings.settlement_days,
        errors=errors,
        **kw,
    )


@router.get("/township/money/{coop_id:int}", response_class=HTMLResponse)
def money_coop(
    coop_id: int,
    request: Request,
    session: SessionDep,
    admin: ConsoleAdmin,
    month: str = "",
    page: int = 1,
) -> Response:
    return _coop_page(request, session, admin, coop_id, month=month, page=page)


@router.post("/township/money/{coop_id:int}/payouts")
def record_payout(
    coop_id: int, request: Request, form: Multipart, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    _coop(session, coop_id)
    values = {k: str(form.get(k) or "") for k in ("amount", "bank_ref", "note")}
    errors = Errors()
    amount = 0
    try:
        amount = yuan_to_fen(clean(values["amount"]))
    except ValueError:
        errors["amount"] = "请填写打款金额（元），如 1280.50"
    upload = form.get("voucher")
    voucher = b""
    if isinstance(upload, UploadFile):
        voucher = upload.file.read(settings.max_upload_bytes + 1)
    if not voucher:
        errors["voucher"] = "请上传转账凭证照片"
    if not errors:
        try:
            payouts.record(
                session,
                admin,
                coop_id,
                amount,
                bank_ref=values["bank_ref"],
                voucher=voucher,
                note=values["note"],
            )
        except FarmgateError as exc:
            undo_refusal(session, exc)
            names = {"amount": "amount", "bank_ref": "bank_ref", "photo": "voucher"}
            errors.absorb(exc, names, "voucher")
    if errors:
        return _coop_page(request, session, admin, coop_id, errors=errors, values=values)
    return see_other(f"/township/money/{coop_id}?done=已登记打款")


@router.post("/township/money/{coop_id:int}/wechat-receiver")
def wechat_receiver(
    coop_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    """The cooperative's WeChat Pay profit-sharing receiver (empty everything: none)."""
    check_csrf(request, form.get("csrf_token", ""))
    keys = ("receiver_type", "receiver_account", "receiver_name")
    values = {k: form.get(k, "") for k in keys}
    try:
        sharing.set_receiver(session, admin, coop_id, *values.values())
    except FarmgateError as exc:
        undo_refusal(session, exc)
        errors = Errors()
        errors.absorb(exc, {k: k for k in keys}, "receiver_type")
        return _coop_page(request, session, admin, coop_id, errors=errors, values=values)
    return see_other(f"/township/money/{coop_id}?done=已保存微信分账接收方")


@router.post("/township/money/payouts/{payout_id:int}/returned")
def payout_returned(
    payout_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    payout = session.get(Payout, payout_id)
    if payout is None:
        raise NotFound("打款记录不存在")
    key = f"note-{payout_id}"
    try:
        payouts.mark_returned(session, admin, payout_id, form.get("note", ""))
    except FarmgateError as exc:
        undo_refusal(session, exc)
        errors = Errors()
        errors.absorb(exc, {"note": key}, key)
        values = {key: form.get("note", "")}
        return _coop_page(
            request, session, admin, payout.cooperative_id, errors=errors, values=values
        )
    return see_other(
        f"/township/money/{payout.cooperative_id}?done=已登记为退回，金额回到可打款余额"
    )


@router.get("/township/money/payouts/{payout_id:int}/voucher")
def payout_voucher(payout_id: int, session: SessionDep, admin: ConsoleAdmin) -> Response:
    """A payout's voucher photo: private, never in public media."""
    return voucher_response(payouts.voucher_for(session, admin, payout_id))


@router.get("/township/money/{coop_id:int}/statement.pdf")
def statement_pdf(
    coop_id: int, session: SessionDep, admin: ConsoleAdmin, month: str = ""
) -> Response:
    _coop(session, coop_id)
    name, body = statements.pdf(
        session, statements.build(session, coop_id, statements.month(month))
    )
    return download(body, PDF, name)


@router.get("/township/money/{coop_id:int}/statement.xlsx")
def statement_xlsx(
    coop_id: int, session: SessionDep, admin: ConsoleAdmin, month: str = ""
) -> Response:
    _coop(session, coop_id)
    name, body = statements.xlsx(
        session, statements.build(session, coop_id, statements.month(month))
    )
    return download(body, XLSX, name)
