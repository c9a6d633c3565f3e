"""Profit-sharing jobs (rules in farmgate/jobs/__init__.py), each keyed by a business id and
safe to run twice: WeChat Pay treats a repeated out_order_no / out_return_no as the same
request, and every ledger step is posted once by its key.

``payments.share_order`` (queued by the settlement, farmgate/ledger/settlement.py) decides
and reserves the shares of a settled order and queues ``payments.share_send`` for each;
a share still PROCESSING is looked at again by ``payments.share_query``; once all shares of a
payment are final, ``payments.share_unfreeze`` gives the rest to the platform. A refund of a
shared payment queues ``payments.share_return`` (回退).
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import pk, utcnow
from farmgate.jobs.errors import PermanentJobError, TransientJobError
from farmgate.jobs.registry import job
from farmgate.models import (
    Cooperative,
    Order,
    PaymentIntent,
    ProfitShare,
    Refund,
    ShareReturnStatus,
    ShareStatus,
)
from farmgate.payments import providers, sharing
from farmgate.payments.provider import PaymentError, PaymentUnavailable
from farmgate.payments.wechat_sharing import ReceiverResult, WeChatProfitSharing

QUERY_DELAY = 60  # seconds before asking about a PROCESSING share


class OrderArgs(TypedDict):
    order_id: int


class ShareArgs(TypedDict):
    share_id: int


class IntentArgs(TypedDict):
    intent_id: int


class RefundArgs(TypedDict):
    refund_id: int


def _client() -> WeChatProfitSharing:
    try:
        return sharing.client()
    except providers.PaymentFailed as exc:
        raise TransientJobError("WeChat Pay v3 is not configured") from exc


def queue_order(session: Session, order_id: int) -> None:
    share_order.enqueue(session, {"order_id": order_id}, key=f"share_order:{order_id}")


@job("payments.share_order", queue="quick", max_tries=8, timeout=30)
def share_order(session: Session, args: OrderArgs) -> int:
    """Decide the shares of a settled order; queue each to be sent (and unfreeze payments
    that have nothing, or nothing more, to share)."""
    order = session.get(Order, args["order_id"], with_for_update=True)
    if order is None:
        return 0
    made = sharing.start(session, order)
    for share in made:
        share_send.enqueue(session, {"share_id": pk(share)}, key=f"share:{pk(share)}")
    for intent in sharing.sharing_intents(session, pk(order)):
        _maybe_unfreeze(session, intent)
    return len(made)


@job("payments.share_send", queue="slow", max_tries=8, timeout=30, backoff_base=30)
def share_send(session: Session, args: ShareArgs) -> str:
    """Add the receiver (once) and ask WeChat Pay for the share."""
    share = session.get(ProfitShare, args["share_id"], with_for_update=True)
    if share is None or share.status != ShareStatus.PENDING:
        return "skipped"
    intent = session.get(PaymentIntent, share.intent_id)
    coop = session.get(Cooperative, share.cooperative_id, with_for_update=True)
    assert intent is not None and intent.transaction_id and coop is not None
    calls = _client()
    receiver = ReceiverResult(share.receiver_type, share.receiver_account, share.amount_fen, "")
    try:
        for attempt in (1, 2):
            if (coop.wechat_receiver_type, coop.wechat_receiver_account) == (
                share.receiver_type,
                share.receiver_account,
            ):
                sharing.ensure_receiver(session, coop, calls)
            try:
                result = calls.create(
                    transaction_id=intent.transaction_id,
                    out_order_no=share.out_order_no,
                    receiver=receiver,
                    description=f"乡村好物货款（{coop.name}）",
                )
                break
            except PaymentError as exc:
                if exc.code != "RECEIVER_INVALID" or attempt == 2:
                    raise
                coop.wechat_receiver_added_at = None  # WeChat forgot it: add it again
    except PaymentUnavailable as exc:
        raise TransientJobError(str(exc)) from exc
    except PaymentError as exc:
        # A refusal no retry changes (over the ratio, not enough left, receiver refused):
        # the money is the cooperative's again, for the bank transfer.
        sharing.give_back(session, share, ShareStatus.FAILED, f"微信支付拒绝分账：{exc}")
        _maybe_unfreeze(session, intent)
        return "failed"
    status = sharing.apply(session, share, result)
    if status == ShareStatus.PROCESSING:
        share_query.enqueue(
            session,
            {"share_id": pk(share)},
            key=f"share_query:{pk(share)}",
            delay_seconds=QUERY_DELAY,
        )
    else:
        _maybe_unfreeze(session, intent)
    return str(status)


@job("payments.share_query", queue="slow", max_tries=12, timeout=30, backoff_base=60)
def share_query(session: Session, args: ShareArgs) -> str:
    """Ask about a share WeChat Pay is still processing, until it is FINISHED."""
    share = session.get(ProfitShare, args["share_id"], with_for_update=True)
    if share is None or share.status != ShareStatus.PROCESSING:
        return "skipped"
    intent = session.get(PaymentIntent, share.intent_id)
    assert intent is not None and intent.transaction_id
    try:
        result = _client().query(
            transaction_id=intent.transaction_id, out_order_no=share.out_order_no
        )
    except PaymentUnavailable as exc:
        raise TransientJobError(str(exc)) from exc
    except PaymentError as exc:
        raise PermanentJobError(str(exc)) from exc
    if sharing.apply(session, share, result) == ShareStatus.PROCESSING:
        raise TransientJobError(f"share {share.out_order_no} still processing")
    _maybe_unfreeze(session, intent)
    return str(share.status)


def _maybe_unfreeze(session: Session, intent: PaymentIntent) -> None:
    if intent.unfrozen_at is None and sharing.all_final(session, pk(intent)):
        share_unfreeze.enqueue(session, {"intent_id": pk(intent)}, key=f"unfreeze:{pk(intent)}")


@job("payments.share_unfreeze", queue="slow", max_tries=8, timeout=30, backoff_base=60)
def share_unfreeze(session: Session, args: IntentArgs) -> str:
    """Unfreeze what the payment did not share, to the platform's merchant balance."""
    intent = session.get(PaymentIntent, args["intent_id"], with_for_update=True)
    if intent is None or intent.unfrozen_at is not None or not intent.transaction_id:
        return "skipped"
    if not sharing.all_final(session, pk(intent)):
        raise TransientJobError("a share of this payment is not final yet")
    try:
        _client().unfreeze(
            transaction_id=intent.transaction_id,
            out_order_no=f"{intent.out_trade_no}UF",
            description="解冻剩余资金给平台",
        )
    except PaymentUnavailable as exc:
        raise TransientJobError(str(exc)) from exc
    except PaymentError as exc:
        raise PermanentJobError(str(exc)) from exc
    intent.unfrozen_at = utcnow()
    session.add(intent)
    return "unfrozen"


def queue_return(session: Session, refund: Refund) -> None:
    """After a refund of a payment some of which was shared: ask for it back (if any)."""
    shared = session.scalars(
        select(col(ProfitShare.id)).where(
            col(ProfitShare.intent_id) == refund.intent_id,
            col(ProfitShare.status) == ShareStatus.FINISHED,
        )
    ).first()
    if shared is not None:
        share_return.enqueue(session, {"refund_id": pk(refund)}, key=f"share_return:{pk(refund)}")


@job("payments.share_return", queue="slow", max_tries=8, timeout=30, backoff_base=30)
def share_return(session: Session, args: RefundArgs) -> int:
    """Ask merchant receivers to return (回退) their part of a refund; posted when returned."""
    refund = session.get(Refund, args["refund_id"], with_for_update=True)
    if refund is None:
        return 0
    done = 0
    for row in sharing.returns_due(session, refund):
        if row.status != ShareReturnStatus.PROCESSING:
            continue
        share = session.get(ProfitShare, row.share_id)
        assert share is not None
        calls = _client()
        try:
            result = calls.give_back(
                out_order_no=share.out_order_no,
                out_return_no=row.out_return_no,
                return_mchid=share.receiver_account,
                amount_fen=row.amount_fen,
                description="买家退款，分账回退",
            )
            if result.result == "PROCESSING":
                result = calls.return_status(
                    out_order_no=share.out_order_no, out_return_no=row.out_return_no
                )
        except PaymentUnavailable as exc:
            raise TransientJobError(str(exc)) from exc
        except PaymentError as exc:
            row.status, row.fail_reason = ShareReturnStatus.FAILED, str(exc)[:200]
            row.finished_at = utcnow()
            session.add(row)
            continue  # the refund stays a debt on the cooperative's balance
        if result.result == "PROCESSING":
            raise TransientJobError(f"return {row.out_return_no} still processing")
        if result.result == "SUCCESS":
            sharing.returned(session, row)
            done += 1
        else:
            row.status, row.fail_reason = ShareReturnStatus.FAILED, result.fail_reason[:200]
            row.finished_at = utcnow()
            session.add(row)
    return done
