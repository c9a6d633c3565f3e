"""Payouts: the township's bank transfers to a cooperative, each with its voucher photo.

The voucher (a bank receipt: account numbers, names) is kept in the database, like an
invoice's PDF, and served only to the admin and that cooperative's staff (anyone else: 404);
it never goes to public media.

A payout is posted as it is recorded, never above what is available: the cooperative's row
is locked while its balance is read, so two payouts recorded at once cannot both spend it. A
payout the bank sent back gives the money back to the available balance.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, defer
from sqlmodel import col

from farmgate import audit
from farmgate.db import pk, utcnow
from farmgate.errors import InvalidTransition, NotFound
from farmgate.errors import ValidationFailed as Invalid
from farmgate.ledger import accounts, posting, settlement
from farmgate.ledger.posting import Line
from farmgate.media import images
from farmgate.media.storage import get_storage
from farmgate.models import Account, Cooperative, Payout, PayoutStatus, Role


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def record(
    session: Session,
    staff: Account,
    cooperative_id: int,
    amount_fen: int,
    *,
    bank_ref: str,
    voucher: bytes | None = None,
    note: str = "",
    made_at: datetime | None = None,
) -> Payout:
    """Record a bank transfer already made to the cooperative, and post it. ``voucher``, the
    transfer's receipt photographed, is checked and stored once the rest is found valid.
    ``made_at``: when the transfer was made, if not just now (it dates the ledger entry)."""
    coop = session.get(Cooperative, cooperative_id, with_for_update=True, populate_existing=True)
    if coop is None:
        raise NotFound("合作社不存在")
    bank_ref = bank_ref.strip()
    if not bank_ref or len(bank_ref) > 64:
        raise Invalid("请填写转账流水号", fields={"bank_ref": "请填写银行转账的流水号（64字以内）"})
    if amount_fen <= 0:
        raise Invalid("打款金额必须大于0", fields={"amount": "打款金额必须大于0"})
    available = settlement.available_fen(session, cooperative_id)
    if amount_fen > available:
        raise Invalid(
            "打款金额超过可结算余额",
            fields={"amount": f"最多可打款 {_yuan(max(0, available))} 元"},
        )
    photo = None
    if voucher:  # checked (size, format, bombs), re-encoded without metadata, kept private
        processed = images.process_upload(voucher)
        photo = processed.variants[max(processed.variants)]
    payout = Payout(
        cooperative_id=cooperative_id,
        amount_fen=amount_fen,
        bank_ref=bank_ref,
        voucher=photo,
        voucher_size=len(photo or b""),
        note=note.strip()[:200],
        recorded_by=staff.id,
        recorded_at=made_at or utcnow(),
    )
    session.add(payout)
    session.flush()
    posting.post(
        session,
        f"payout:{pk(payout)}",
        "payout",
        [
            Line(
                accounts.cooperative(cooperative_id, accounts.AVAILABLE),
                amount_fen,
                "payout",
                cooperative_id,
            ),
            Line(accounts.BANK, -amount_fen, "payout"),
        ],
        occurred_at=payout.recorded_at,
        memo=f"打款给{coop.name}（流水号 {bank_ref}）",
    )
    audit.record(
        session,
        staff,
        "payout.record",
        "cooperative",
        cooperative_id,
        f"打款 {_yuan(amount_fen)} 元，流水号 {bank_ref}",
    )
    return payout


def mark_returned(session: Session, staff: Account, payout_id: int, note: str) -> Payout:
    """The bank returned the transfer: the money is available to the cooperative again."""
    payout = session.get(Payout, payout_id, with_for_update=True, populate_existing=True)
    if payout is None:
        raise NotFound("打款记录不存在")
    if payout.status != PayoutStatus.PAID:
        raise InvalidTransition("这笔打款已经登记为退回了", code="already_returned")
    note = note.strip()
    if not note:
        raise Invalid("请填写退回原因", fields={"note": "请填写银行退回的原因"})
    payout.status, payout.returned_at, payout.returned_note = (
        PayoutStatus.RETURNED,
        utcnow(),
        note[:200],
    )
    session.add(payout)
    coop = payout.cooperative_id
    posting.post(
        session,
        f"payout_back:{pk(payout)}",
        "payout_back",
        [
            Line(
                accounts.cooperative(coop, accounts.AVAILABLE),
                -payout.amount_fen,
                "payout_back",
                coop,
            ),
            Line(accounts.BANK, payout.amount_fen, "payout_back"),
        ],
        occurred_at=payout.returned_at,
        memo=f"打款退回（流水号 {payout.bank_ref}）：{note}"[:200],
    )
    audit.record(
        session, staff, "payout.returned", "cooperative", coop, f"打款 {payout.id} 退回：{note}"
    )
    return payout


def list_for(session: Session, cooperative_id: int | None = None, limit: int = 50) -> list[Payout]:
    query = (
        select(Payout)
        .options(defer(Payout.voucher))  # type: ignore[arg-type]
        .order_by(col(Payout.id).desc())
        .limit(limit)
    )
    if cooperative_id is not None:
        query = query.where(col(Payout.cooperative_id) == cooperative_id)
    return list(session.scalars(query))


def voucher_url(payout: Payout, *, desk: bool = False) -> str:
    """Where the voucher photo is seen: the console's (or the desk's) checked route."""
    if payout.voucher_size:
        return f"/{'coop' if desk else 'township'}/money/payouts/{payout.id}/voucher"
    return get_storage().url(payout.voucher_key) if payout.voucher_key else ""


def voucher_for(session: Session, viewer: Account, payout_id: int) -> bytes:
    """The voucher photo, for the admin and the paid cooperative's staff; anyone else (and a
    payout without one) gets NotFound, as if it did not exist."""
    payout = session.get(Payout, payout_id)
    allowed = payout is not None and (
        viewer.role == Role.ADMIN
        or (viewer.cooperative_id is not None and viewer.cooperative_id == payout.cooperative_id)
    )
    if not allowed or payout is None or not payout.voucher:
        raise NotFound("转账凭证不存在")
    return payout.voucher


def cash_handed_over(
    session: Session,
    staff: Account,
    amount_fen: int,
    *,
    station: str,
    slip_no: str,
    made_at: datetime | None = None,
) -> bool:
    """A village station paid the cash it collected into the platform's bank account (the
    bank's deposit slip number makes it idempotent). Returns False when already recorded."""
    station, slip_no = station.strip(), slip_no.strip()
    if not station or len(station) > 30:
        raise Invalid("请填写服务站", fields={"station": "请填写缴存现金的村服务站（30字以内）"})
    if not slip_no or len(slip_no) > 40:
        raise Invalid("请填写存款单号", fields={"slip_no": "请填写银行存款单上的编号（40字以内）"})
    key = f"cash_handover:{slip_no}"
    if posting.posted(session, key) is not None:
        return False
    held = posting.balance(session, accounts.STATION_CASH)
    if amount_fen <= 0 or amount_fen > held:
        raise Invalid(
            "缴存金额不对",
            fields={"amount": f"缴存金额要大于0，且不超过服务站现有现金 {_yuan(max(0, held))} 元"},
        )
    posting.post(
        session,
        key,
        "cash_handover",
        [
            Line(accounts.BANK, amount_fen, "cash"),
            Line(accounts.STATION_CASH, -amount_fen, "cash"),
        ],
        occurred_at=made_at,
        memo=f"{station}缴存现金（存款单 {slip_no}）",
    )
    audit.record(
        session,
        staff,
        "cash.handover",
        "station",
        None,
        f"{station}缴存现金 {_yuan(amount_fen)} 元",
    )
    return True
