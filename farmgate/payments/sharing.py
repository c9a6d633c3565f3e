"""Payouts through WeChat Pay profit-sharing (分账, API v3): part of a cooperative's money goes
to its WeChat receiver straight from the buyer's payment; the rest stays for the bank transfer.

How much: once an order's money is payable (settled), each cooperative of the order with a
WeChat receiver gets, from each of the order's sharing payments, what the order still owes it
— never more than its available balance — and all the shares of one payment together never
more than ``FARMGATE_PROFIT_SHARING_MAX_BP`` of it (WeChat Pay's maximum sharing ratio, 30% by
default; over it the shares are cut in proportion). What is not shared stays available for
the township's bank transfer (farmgate/ledger/payouts.py). Then the rest of the payment is
unfrozen to the platform.

The ledger, one transaction per step, each keyed once (``farmgate.ledger.posting.post``):

- ``share:<id>`` when the share is decided: the cooperative's available balance pays it into
  ``clearing:wechat:sharing`` (money on its way), entry kind ``payout``;
- ``share_done:<id>`` when the receiver got it: out of the WeChat clearing account;
- ``share_back:<id>`` when WeChat Pay refused the order or closed the receiver: back to the
  cooperative's available balance (kind ``payout_back``);
- ``share_return:<id>`` when a merchant receiver gave part back (回退) after a refund: the
  money is at WeChat again and the cooperative's debt from the refund is paid
  (kind ``payout_back``). A personal (openid) receiver cannot be asked to give money back:
  the refund stays a debt on its balance, taken from its next payouts.

The unfreeze moves no money between our accounts (``clearing:wechat`` holds frozen and
unfrozen money alike): it is recorded on the payment (``unfrozen_at``), not in the ledger.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import audit
from farmgate.config import settings
from farmgate.db import pk, utcnow
from farmgate.errors import NotFound
from farmgate.errors import ValidationFailed as Invalid
from farmgate.ledger import accounts, posting, settlement
from farmgate.ledger.posting import Line
from farmgate.models import (
    Account,
    Cooperative,
    IntentStatus,
    LedgerEntry,
    LedgerTxn,
    Order,
    PaymentIntent,
    ProfitShare,
    ProfitShareReturn,
    Refund,
    RefundStatus,
    ShareReturnStatus,
    ShareStatus,
)
from farmgate.payments import providers
from farmgate.payments.wechat_sharing import RECEIVER_TYPES, SharingOrder, WeChatProfitSharing
from farmgate.payments.wechat_v3 import WeChatPayV3

SHARING = "clearing:wechat:sharing"  # shares asked for, not yet received
WECHAT = accounts.CLEARING["wechat_v3"]
FINAL = (ShareStatus.FINISHED, ShareStatus.CLOSED, ShareStatus.FAILED)
ORDER_KINDS = ("goods", "shipping", "commission", "refund")
_MCHID = re.compile(r"^\d{8,12}$")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def client() -> WeChatProfitSharing:
    """The configured v3 merchant's 分账 calls (PaymentFailed when v3 is not configured)."""
    found = providers.provider("wechat_v3")
    assert isinstance(found, WeChatPayV3)
    return WeChatProfitSharing(found)


# --- receivers -----------------------------------------------------------------------------


def set_receiver(
    session: Session, staff: Account, cooperative_id: int, kind: str, account: str, name: str
) -> Cooperative:
    """The township sets (or clears, all empty) a cooperative's WeChat receiver; a changed one
    is added at WeChat Pay again before its next share."""
    coop = session.get(Cooperative, cooperative_id, with_for_update=True)
    if coop is None:
        raise NotFound("合作社不存在")
    kind, account, name = kind.strip(), account.strip(), name.strip()
    fields: dict[str, str] = {}
    if kind or account or name:
        if kind not in RECEIVER_TYPES:
            fields["receiver_type"] = "请选择接收方类型：商户号或个人微信"
        elif kind == "MERCHANT_ID" and not _MCHID.match(account):
            fields["receiver_account"] = "商户号是 8 到 12 位数字，如 1900000109"
        elif kind == "PERSONAL_OPENID" and not _OPENID.match(account):
            fields["receiver_account"] = "openid 是 20 到 64 位的字母、数字、- 或 _"
        if kind == "MERCHANT_ID" and not 2 <= len(name) <= 100:
            fields["receiver_name"] = "请填写商户全称（与微信支付商户号登记的一致）"
        elif len(name) > 100:
            fields["receiver_name"] = "姓名最多 100 个字"
    if fields:
        raise Invalid("分账接收方填写有误", fields=fields)
    before = (coop.wechat_receiver_type, coop.wechat_receiver_account, coop.wechat_receiver_name)
    if before != (kind, account, name):
        coop.wechat_receiver_type, coop.wechat_receiver_account = kind, account
        coop.wechat_receiver_name, coop.wechat_receiver_added_at = name, None
        session.add(coop)
        audit.record(
            session,
            staff,
            "sharing.receiver",
            "cooperative",
            cooperative_id,
            f"微信分账接收方改为 {kind} {account}" if kind else "清除微信分账接收方",
        )
    return coop


def ensure_receiver(session: Session, coop: Cooperative, calls: WeChatProfitSharing) -> None:
    """Add the cooperative's receiver at WeChat Pay once (again after it changed)."""
    if coop.wechat_receiver_added_at is not None:
        return
    calls.add_receiver(
        coop.wechat_receiver_type,  # type: ignore[arg-type]
        coop.wechat_receiver_account,
        coop.wechat_receiver_name,
    )
    coop.wechat_receiver_added_at = utcnow()
    session.add(coop)


# --- deciding the shares -------------------------------------------------------------------


def sharing_intents(session: Session, order_id: int) -> list[PaymentIntent]:
    """The order's paid payments that WeChat Pay froze for profit-sharing."""
    return list(
        session.scalars(
            select(PaymentIntent)
            .where(
                col(PaymentIntent.order_id) == order_id,
                col(PaymentIntent.status) == IntentStatus.PAID,
                col(PaymentIntent.profit_sharing).is_(True),
                col(PaymentIntent.transaction_id).is_not(None),
            )
            .order_by(col(PaymentIntent.id))
        )
    )


def _owed_on_order(session: Session, order_id: int, cooperative_id: int) -> int:
    """What the order owes the cooperative: goods and shipping less commission and refunds."""
    return -int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                col(LedgerEntry.order_id) == order_id,
                col(LedgerEntry.cooperative_id) == cooperative_id,
                col(LedgerEntry.kind).in_(ORDER_KINDS),
            )
        )
        or 0
    )


def _shares_of(session: Session, intent_id: int) -> list[ProfitShare]:
    return list(
        session.scalars(
            select(ProfitShare)
            .where(col(ProfitShare.intent_id) == intent_id)
            .order_by(col(ProfitShare.id))
        )
    )


def _live(share: ProfitShare) -> int:
    """What a share took (or is taking) from the payment, less what was given back."""
    if share.status in (ShareStatus.CLOSED, ShareStatus.FAILED):
        return 0
    return share.amount_fen - share.returned_fen


def _refunded(session: Session, intent_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
                col(Refund.intent_id) == intent_id, col(Refund.status) == RefundStatus.SUCCEEDED
            )
        )
        or 0
    )


def cap_fen(intent: PaymentIntent) -> int:
    """The most all shares of one payment may take: the maximum ratio of it."""
    return intent.amount_fen * settings.profit_sharing_max_bp // 10_000


def start(session: Session, order: Order) -> list[ProfitShare]:
    """Decide and reserve (post) each cooperative's share of each sharing payment of a settled
    order; returns the new shares (already decided ones are never decided again)."""
    if not posting.is_settled(session, pk(order)):
        return []
    intents = sharing_intents(session, pk(order))
    paid_total = sum(i.amount_fen for i in intents) or 1
    made: list[ProfitShare] = []
    for intent in intents:
        existing = _shares_of(session, pk(intent))
        decided = {s.cooperative_id for s in existing}
        room = min(cap_fen(intent), intent.amount_fen - _refunded(session, pk(intent)))
        room -= sum(_live(s) for s in existing)
        wants: list[tuple[Cooperative, int]] = []
        for part in posting.parts(session, order):
            if part.cooperative_id in decided:
                continue
            # Locked while its balance is read, as a bank payout does: never both spend it.
            coop = session.get(
                Cooperative, part.cooperative_id, with_for_update=True, populate_existing=True
            )
            if coop is None or not coop.wechat_receiver_type:
                continue
            owed = _owed_on_order(session, pk(order), pk(coop)) * intent.amount_fen // paid_total
            want = min(owed, settlement.available_fen(session, pk(coop)))
            if want > 0:
                wants.append((coop, want))
        amounts = [want for _, want in wants]
        if sum(amounts) > max(0, room):
            amounts = posting._shares(max(0, room), amounts)
        for (coop, _), amount in zip(wants, amounts, strict=True):
            if amount > 0:
                made.append(_reserve(session, order, intent, coop, amount))
    return made


def _reserve(
    session: Session, order: Order, intent: PaymentIntent, coop: Cooperative, amount: int
) -> ProfitShare:
    share = ProfitShare(
        intent_id=pk(intent),
        order_id=pk(order),
        cooperative_id=pk(coop),
        amount_fen=amount,
        out_order_no=f"{intent.out_trade_no}S{pk(coop)}",  # unique as the payment is
        receiver_type=coop.wechat_receiver_type,
        receiver_account=coop.wechat_receiver_account,
    )
    session.add(share)
    session.flush()
    available = accounts.cooperative(pk(coop), accounts.AVAILABLE)
    posting.post(
        session,
        f"share:{pk(share)}",
        "share",
        [Line(available, amount, "payout", pk(coop)), Line(SHARING, -amount, "payout")],
        order_id=pk(order),
        memo=f"微信分账给{coop.name} ¥{_yuan(amount)}"
        f"（订单 {order.number}，分账单 {share.out_order_no}）",
    )
    return share


# --- results -------------------------------------------------------------------------------


def apply(session: Session, share: ProfitShare, result: SharingOrder) -> ShareStatus:
    """Record WeChat Pay's answer about a share; a finished or closed one is posted."""
    share.wechat_order_id = result.order_id or share.wechat_order_id
    receiver = result.receiver(share.receiver_account)
    outcome = receiver.result if receiver is not None else "PENDING"
    if outcome == "SUCCESS":
        share.status, share.finished_at = ShareStatus.FINISHED, utcnow()
        posting.post(
            session,
            f"share_done:{pk(share)}",
            "share_done",
            [Line(SHARING, share.amount_fen, "payout"), Line(WECHAT, -share.amount_fen, "payout")],
            order_id=share.order_id,
            memo=f"微信分账单 {share.out_order_no} 已到账",
        )
    elif outcome == "CLOSED":
        reason = receiver.fail_reason if receiver is not None else ""
        give_back(session, share, ShareStatus.CLOSED, f"接收方已关闭（{reason or '未说明'}）")
    else:
        share.status = ShareStatus.PROCESSING
    session.add(share)
    return share.status


def _to_balance(
    session: Session, key: str, source: str, share: ProfitShare, fen: int, memo: str
) -> None:
    """Money of ``share`` back from ``source`` to its cooperative's available balance (a
    share not made, or given back after a refund); posted once per ``key``."""
    coop = share.cooperative_id
    available = accounts.cooperative(coop, accounts.AVAILABLE)
    posting.post(
        session,
        key,
        key.split(":", 1)[0],
        [Line(source, fen, "payout_back"), Line(available, -fen, "payout_back", coop)],
        order_id=share.order_id,
        memo=memo[:200],
    )


def give_back(session: Session, share: ProfitShare, status: ShareStatus, reason: str) -> None:
    """The share was not made: its money is available to the cooperative again."""
    share.status, share.fail_reason, share.finished_at = status, reason[:200], utcnow()
    session.add(share)
    _to_balance(
        session,
        f"share_back:{pk(share)}",
        SHARING,
        share,
        share.amount_fen,
        f"微信分账单 {share.out_order_no} 未成功，退回余额：{reason}",
    )


def all_final(session: Session, intent_id: int) -> bool:
    return all(s.status in FINAL for s in _shares_of(session, intent_id))


# --- returns after refunds -----------------------------------------------------------------


def returns_due(session: Session, refund: Refund) -> list[ProfitShareReturn]:
    """For a completed refund of a shared payment: what each merchant receiver gives back,
    its part of the refund up to what it still holds of its share (rows made once)."""
    if refund.status != RefundStatus.SUCCEEDED:
        return []
    posting.refund(session, refund)  # posted first: its entries say whose part it was
    made = []
    for share in _shares_of(session, refund.intent_id):
        if share.status != ShareStatus.FINISHED or share.receiver_type != "MERCHANT_ID":
            continue
        found = session.scalars(
            select(ProfitShareReturn).where(
                col(ProfitShareReturn.share_id) == share.id,
                col(ProfitShareReturn.refund_id) == refund.id,
            )
        ).first()
        if found is not None:
            made.append(found)
            continue
        part = int(
            session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
                .join(LedgerTxn, col(LedgerTxn.id) == LedgerEntry.txn_id)
                .where(
                    col(LedgerTxn.key) == f"refund:{pk(refund)}",
                    col(LedgerEntry.cooperative_id) == share.cooperative_id,
                    col(LedgerEntry.kind) == "refund",
                )
            )
            or 0
        )
        amount = min(part, share.amount_fen - share.returned_fen - _held_back(session, share))
        if amount > 0:
            row = ProfitShareReturn(
                share_id=pk(share),
                refund_id=pk(refund),
                amount_fen=amount,
                out_return_no=f"{refund.out_refund_no}C{share.cooperative_id}",
            )
            session.add(row)
            session.flush()
            made.append(row)
    return made


def _held_back(session: Session, share: ProfitShare) -> int:
    """Returns asked for and not yet settled either way (so two refunds never over-ask)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(ProfitShareReturn.amount_fen), 0)).where(
                col(ProfitShareReturn.share_id) == share.id,
                col(ProfitShareReturn.status) == ShareReturnStatus.PROCESSING,
            )
        )
        or 0
    )


def returned(session: Session, row: ProfitShareReturn) -> None:
    """The receiver gave the money back: posted, and the share holds that much less."""
    share = session.get(ProfitShare, row.share_id, with_for_update=True)
    assert share is not None
    row.status, row.finished_at = ShareReturnStatus.SUCCESS, utcnow()
    share.returned_fen += row.amount_fen
    session.add_all([row, share])
    _to_balance(
        session,
        f"share_return:{pk(row)}",
        WECHAT,
        share,
        row.amount_fen,
        f"分账回退 ¥{_yuan(row.amount_fen)}（分账单 {share.out_order_no}，退款后）",
    )


def list_for(session: Session, cooperative_id: int, limit: int = 20) -> list[ProfitShare]:
    return list(
        session.scalars(
            select(ProfitShare)
            .where(col(ProfitShare.cooperative_id) == cooperative_id)
            .order_by(col(ProfitShare.id).desc())
            .limit(limit)
        )
    )
