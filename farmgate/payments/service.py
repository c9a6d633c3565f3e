"""Collecting money for orders: intents, notifications (applied once), reconciliation, refunds."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate import callbacks
from farmgate.config import settings
from farmgate.db import insert_row, new_row, pk, run, table_of, update_row, utcnow
from farmgate.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from farmgate.models import (
    Account,
    DeliveryMethod,
    IntentStatus,
    Order,
    OrderStatus,
    PaymentIntent,
    PaymentNotification,
    PresaleOrder,
    Refund,
    RefundStatus,
    Township,
)
from farmgate.notify import service as notify
from farmgate.orders import guest_limits, state
from farmgate.orders import service as orders
from farmgate.payments import providers
from farmgate.payments.provider import (
    AlreadyPaid,
    Channel,
    Notification,
    PaymentError,
    PaymentProvider,
    PaymentUnavailable,
    QueryResult,
    TradeClosed,
)
from farmgate.payments.providers import PaymentFailed

log = logging.getLogger(__name__)
CHANNEL_CODES = {"native": "N", "jsapi": "J", "mweb": "H", "cash": "C"}
PROVIDER_LABELS = {"wechat_v2": "微信支付", "wechat_v3": "微信支付", "cash": "到站现金付款"}

__all__ = ["PaymentFailed", "create_intent", "receive_notification"]


CASH_NOT_LOCAL = "现金付款只适用于村服务站自提或本县内的配送，寄往外地的快递、邮政包裹请用微信支付"


def cash_allowed(session: Session, order: Order) -> bool:
    """Cash reaches a station or a township courier: pickup at a station, or an address in
    the county of a township the platform serves. Never a parcel to another county."""
    if order.delivery_method == DeliveryMethod.PICKUP:
        return True
    return (
        session.scalars(
            select(col(Township.id)).where(
                col(Township.city) == order.city, col(Township.county) == order.county
            )
        ).first()
        is not None
    )


# What the order's pre-sale parts leave for the balance payment (see presale_balance_fen).
_PRESALE_BALANCE = (
    select(func.coalesce(func.sum(col(PresaleOrder.balance_fen)), 0))
    .where(col(PresaleOrder.order_id) == bindparam("order_id"))
    .scalar_subquery()
)
# The intent already made for a trade number, if any, and that balance: one statement, built
# once. The outer join from a one-row select returns the balance even when there is no intent.
_INTENT_AND_BALANCE = (
    select(PaymentIntent, _PRESALE_BALANCE)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(PaymentIntent, col(PaymentIntent.out_trade_no) == bindparam("out_trade_no"))
)
# The order locked and read afresh (``orders.get_for(lock=True)``) with the same two: its
# first payment's trade number is the order's number and the channel's code.
_ORDER_TO_PAY = (
    select(Order, PaymentIntent, _PRESALE_BALANCE)
    .outerjoin(
        PaymentIntent,
        col(PaymentIntent.out_trade_no) == col(Order.number) + bindparam("channel_code"),
    )
    .where(col(Order.id) == bindparam("order_id"))
    .with_for_update(of=Order)
    .execution_options(populate_existing=True)
)


class Prior(NamedTuple):
    """What a first payment's intent needs read besides the order."""

    intent: PaymentIntent | None  # made before for the same trade number
    presale_balance: int


def order_to_pay(
    session: Session, actor: Account, order_id: int, channel: str
) -> tuple[Order, Prior]:
    """``orders.get_for(session, actor, order_id, lock=True)`` and what ``create_intent`` reads
    for its first payment through ``channel``, in one statement."""
    row = session.execute(
        _ORDER_TO_PAY, {"order_id": order_id, "channel_code": CHANNEL_CODES.get(channel, "")}
    ).first()
    if row is None or not orders.may_see(actor, row[0].account_id):
        raise NotFound("订单不存在")
    return row[0], Prior(row[1], row[2])


def create_intent(
    session: Session,
    order: Order,
    channel: Channel,
    *,
    client_ip: str,
    openid: str | None = None,
    balance_fen: int | None = None,
    prior: Prior | None = None,
) -> PaymentIntent:
    """An intent to pay ``order``; asking again returns the same one, never a second charge.

    A pre-sale order with a deposit is paid in two intents: the first (checked out as usual)
    is the total less the balances owed; ``balance_fen`` asks for the second, the balance
    (尾款), on a paid order (farmgate/presale checks that it is due and not late).
    ``prior``: what ``order_to_pay`` read with the order, for a first payment.
    """
    if balance_fen is None:
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise InvalidTransition("该订单不是待付款状态")
        if utcnow() >= order.pay_by:
            raise InvalidTransition("订单已超过支付期限")
        suffix = ""
    else:
        if order.status != OrderStatus.PAID:
            raise InvalidTransition("该订单不能支付尾款")
        suffix = "B"
    if channel not in CHANNEL_CODES:
        raise ValidationFailed(
            "不支持的支付方式", fields={"channel": "可选 native、jsapi、mweb、cash"}
        )
    if channel == "jsapi" and not openid:
        raise ValidationFailed("微信内支付需要 openid", fields={"openid": "必填"})
    if channel == "cash" and not settings.cash_payments:
        raise ValidationFailed("本平台未开通到站现金付款", fields={"channel": "请选择微信支付"})
    if channel == "cash" and not cash_allowed(session, order):
        raise ValidationFailed(
            CASH_NOT_LOCAL, code="cash_not_local", fields={"channel": "请选择微信支付"}
        )
    # Deterministic: a retry after a timeout reaches the provider with the same key.
    out_trade_no = f"{order.number}{suffix}{CHANNEL_CODES[channel]}"
    if prior is None or suffix:
        found = session.execute(
            _INTENT_AND_BALANCE, {"out_trade_no": out_trade_no, "order_id": pk(order)}
        ).one()
        prior = Prior(found[0], found[1])
    intent, presale_balance = prior
    if intent is not None and intent.client:
        return intent
    amount_fen = order.total_fen - presale_balance if balance_fen is None else balance_fen
    name = "cash" if channel == "cash" else providers.wechat_name()
    provider = providers.provider(name)
    if intent is None:
        intent = new_row(
            PaymentIntent,
            order_id=pk(order),
            provider=name,
            channel=channel,
            out_trade_no=out_trade_no,
            amount_fen=amount_fen,
        )
    # Whether the provider freezes this payment for profit-sharing (分账) is kept with it: the
    # setting may change before the money is payable, the payment's terms do not.
    intent.profit_sharing = bool(getattr(provider, "profit_sharing", False))
    try:
        created = provider.create_intent(
            out_trade_no=out_trade_no,
            amount_fen=amount_fen,
            description=f"乡村好物订单 {order.number}{'（尾款）' if suffix else ''}",
            channel=channel,
            notify_url=callbacks.public_url(callbacks.WECHAT_PAY_NOTIFY),
            client_ip=client_ip,
            openid=openid,
        )
    except AlreadyPaid as exc:
        # Paid already (our answer to an earlier request was lost): record the provider's
        # word like a notification and apply it now; nothing is charged again.
        session.add(intent)
        session.flush()
        record_provider_paid(session, intent, exc.result, "create_intent")
        return intent
    except TradeClosed as exc:
        raise PaymentFailed("该支付单已关闭，请重新下单", code="trade_closed", status=409) from exc
    except PaymentUnavailable as exc:
        raise PaymentFailed("微信支付暂时无法连接，请稍后重试", status=503) from exc
    except PaymentError as exc:
        raise PaymentFailed(f"微信支付下单失败：{exc}") from exc
    intent.provider_ref = created.provider_ref
    intent.client = created.client
    if intent.id is None:
        insert_row(session, intent)
    else:
        session.add(intent)
    if channel == "cash":
        _hold_for_cash(session, order)
    session.flush()
    return intent


def _hold_for_cash(session: Session, order: Order) -> None:
    """Keep the stock reserved until the buyer can reach the station, with its own release."""
    hours = guest_limits.cash_hold_hours(order)
    deadline = utcnow() + timedelta(hours=hours)
    if deadline <= order.pay_by:
        return
    order.pay_by = deadline
    session.add(order)
    from farmgate.orders.tasks import release_unpaid

    release_unpaid.enqueue(
        session,
        {"order_id": pk(order), "due": deadline.isoformat()},
        key=f"order:{order.id}",
        delay_seconds=hours * 3600,
    )


def record_provider_paid(
    session: Session, intent: PaymentIntent, result: QueryResult, source: str
) -> PaymentNotification | None:
    """Store a "this trade is paid" answer from the provider as a notification, apply it."""
    if result.state != "SUCCESS" or not result.transaction_id or result.amount_fen is None:
        return None
    note = Notification(
        intent.out_trade_no,
        result.transaction_id,
        result.amount_fen,
        "CNY",
        True,
        result.paid_at,
        {"source": source},
    )
    row = store_notification(session, intent.provider, note)
    if row is not None:
        _apply(session, row)
    return row


def open_intent(session: Session, order: Order) -> PaymentIntent | None:
    """The order's latest intent still waiting for the payer, if any."""
    return session.scalars(
        select(PaymentIntent)
        .where(
            col(PaymentIntent.order_id) == order.id,
            col(PaymentIntent.status) == IntentStatus.CREATED,
        )
        .order_by(col(PaymentIntent.id).desc())
    ).first()


def receive_notification(
    session: Session, headers: Mapping[str, str], body: bytes
) -> tuple[int, str, bytes]:
    """verify -> apply -> store (keyed by transaction id) -> acknowledge.

    The notification is applied in the webhook's own transaction and then stored with its
    outcome, so the order shows paid as soon as WeChat is answered. If this transaction id was
    stored already (WeChat repeats itself; a repeat racing the first delivery waits for its
    commit), the transaction is rolled back: nothing is applied twice. If applying fails, the
    transaction is rolled back too, and the notification is stored "pending" with the
    ``payments.apply_notification`` job instead: WeChat is still told "received", and the job
    applies it later. A stored notification is thus always applied: now, or by its job.

    ``session`` must hold nothing but this (the webhook's own): it may be rolled back. No
    savepoint, so none of its two round trips and bookkeeping on every payment.
    """
    # v3 notifications are signed in headers; v2's signature is inside the XML body.
    name = "wechat_v3" if "wechatpay-signature" in headers else "wechat_v2"
    try:
        provider: PaymentProvider = providers.provider(name)
    except PaymentFailed:  # that version is not configured: let the configured one refuse it
        name, provider = providers.wechat_name(), providers.wechat()
    try:
        note = provider.parse_notification(headers, body)
    except PaymentError as exc:
        log.warning("payment notification refused (%s): %s", name, exc)
        _, ctype, payload = provider.ack(False, "签名或格式错误")
        return 400, ctype, payload
    try:
        outcome, why = _settle(session, name, note)
        stored = _insert_notification(session, name, note, outcome, why)
    except Exception:
        log.exception(
            "payment notification %s not applied now; its job will retry", note.transaction_id
        )
        session.rollback()  # what applying did so far
        stored = _insert_notification(session, name, note, "pending", "")
        if stored is None:
            log.info("duplicate notification %s ignored", note.transaction_id)
        else:
            _queue_apply(session, stored, note.transaction_id)
        return provider.ack(True)
    if stored is None:
        session.rollback()  # stored before: undo applying it again
        log.info("duplicate notification %s ignored", note.transaction_id)
    return provider.ack(True)


_NOTIFICATIONS = table_of(PaymentNotification)
# Stored with its outcome in one statement; nothing when the transaction id is known already
# (the unique key answers "seen before?", also for two deliveries racing).
_STORE = {
    name: dialect.insert(_NOTIFICATIONS)
    .on_conflict_do_nothing(index_elements=["provider", "transaction_id"])
    .returning(_NOTIFICATIONS.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _insert_notification(
    session: Session, provider: str, note: Notification, outcome: str, why: str
) -> int | None:
    """Store a verified notification with its outcome; its id, or None if already stored."""
    statement = _STORE[session.get_bind().dialect.name]
    values = {
        "provider": provider,
        "transaction_id": note.transaction_id,
        "out_trade_no": note.out_trade_no,
        "amount_fen": note.amount_fen,
        "currency": note.currency,
        "paid": note.paid,
        "payload": note.raw,
        "outcome": outcome,
        "note": why[:200],
    }
    stored: int | None = run(session, statement, values).scalar()
    return stored


def _queue_apply(session: Session, notification_id: int, transaction_id: str) -> None:
    from farmgate.payments import tasks  # the job bodies import this module

    tasks.apply_notification.enqueue(
        session, {"notification_id": notification_id}, key=f"payment:{transaction_id}"
    )


def confirm_cash(
    session: Session, order: Order, *, receipt_no: str, amount_fen: int, staff: Account
) -> PaymentNotification | None:
    """Station staff received the cash for ``order``: stored and applied like a notification.

    Confirming the same receipt twice stores it once; a wrong amount is rejected.
    """
    intent = session.scalars(
        select(PaymentIntent)
        .where(col(PaymentIntent.order_id) == order.id, col(PaymentIntent.provider) == "cash")
        # a pre-sale's balance is a second cash intent: the one still open comes first
        .order_by(col(PaymentIntent.status) == IntentStatus.PAID, col(PaymentIntent.id).desc())
    ).first()
    if intent is None:
        raise InvalidTransition("该订单没有选择到站现金付款")
    if amount_fen != intent.amount_fen:
        raise ValidationFailed(
            "收款金额与订单金额不符",
            fields={"amount_fen": f"应收 {intent.amount_fen} 分"},
        )
    try:
        note = providers.cash().confirm(
            out_trade_no=intent.out_trade_no,
            amount_fen=amount_fen,
            receipt_no=receipt_no,
            received_by=f"{staff.display_name or staff.phone}",
        )
    except PaymentError as exc:
        raise ValidationFailed(
            "收据号无效", fields={"receipt_no": "1-32 位字母、数字或 -"}
        ) from exc
    row = store_notification(session, "cash", note)
    if row is not None:
        _apply(session, row)
    return row


def store_notification(
    session: Session, provider: str, note: Notification
) -> PaymentNotification | None:
    """Store a verified notification once; None when this transaction id was already stored.

    The caller applies it (``_apply``) in the same transaction: stored and applied together,
    or neither. (The webhook stores what it applied itself: ``receive_notification``.)
    """
    seen = session.scalars(
        select(PaymentNotification).where(
            col(PaymentNotification.provider) == provider,
            col(PaymentNotification.transaction_id) == note.transaction_id,
        )
    ).first()
    if seen is not None:
        return None
    row = PaymentNotification(
        provider=provider,
        transaction_id=note.transaction_id,
        out_trade_no=note.out_trade_no,
        amount_fen=note.amount_fen,
        currency=note.currency,
        paid=note.paid,
        payload=note.raw,
    )
    session.add(row)
    session.flush()
    return row


def apply_notification(session: Session, notification_id: int) -> str:
    """Apply a stored notification at most once; returns its outcome."""
    note = session.get(PaymentNotification, notification_id, with_for_update=True)
    if note is None or note.outcome != "pending":
        return "skipped"
    return _apply(session, note)


def _apply(session: Session, note: PaymentNotification) -> str:
    """Apply ``note``, pending and locked: either read under ``apply_notification``'s lock, or
    stored by ``store_notification`` in this very transaction (no other transaction sees it
    before the commit, so reading it back FOR UPDATE would only cost a round trip)."""
    note.outcome, why = _settle(session, note.provider, note)
    note.note = why[:200]
    session.add(note)
    return note.outcome


class _Reported(Protocol):
    """What a provider said about a trade: a parsed ``Notification`` or a stored row."""

    @property
    def out_trade_no(self) -> str: ...
    @property
    def transaction_id(self) -> str: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def paid(self) -> bool: ...


# The intent and its order, both locked, and whether the order has pre-sale parts: one
# statement (built once) for what applying a notification reads.
_INTENT_AND_ORDER = (
    select(
        PaymentIntent,
        Order,
        exists().where(col(PresaleOrder.order_id) == col(Order.id)).label("presale"),
    )
    .join(Order, col(Order.id) == col(PaymentIntent.order_id))
    .where(col(PaymentIntent.out_trade_no) == bindparam("out_trade_no"))
    .with_for_update()
    .execution_options(populate_existing=True)  # read under the lock, whatever was loaded
)


def _settle(session: Session, provider: str, note: _Reported) -> tuple[str, str]:
    """Apply what ``provider`` reported about a trade; its outcome and why (for the row).

    Outcomes: applied, duplicate (the intent was paid already), rejected, or late (paid after
    the order was cancelled: the money goes back)."""

    def rejected(why: str) -> tuple[str, str]:
        log.warning("payment notification %s rejected: %s", note.transaction_id, why)
        return "rejected", why

    found = session.execute(_INTENT_AND_ORDER, {"out_trade_no": note.out_trade_no}).first()
    if found is None:
        return rejected("unknown out_trade_no")
    intent: PaymentIntent = found[0]
    order: Order = found[1]
    presale: bool = found[2]
    if provider != intent.provider:
        return rejected(f"{provider} notification for a {intent.provider} intent")
    if not note.paid:
        return rejected("notification does not report success")
    if note.amount_fen != intent.amount_fen or note.currency != intent.currency:
        return rejected(
            f"amount {note.amount_fen} {note.currency} != {intent.amount_fen} {intent.currency}"
        )
    if intent.status == IntentStatus.PAID:
        return "duplicate", "intent already paid"
    update_row(  # one Core UPDATE, not a flush
        session,
        intent,
        {"status": IntentStatus.PAID, "transaction_id": note.transaction_id, "paid_at": utcnow()},
    )
    if (
        order.status == OrderStatus.PAID
        and presale
        and _presale_balance_paid(session, order, intent)
    ):
        return "applied", ""
    if order.status != OrderStatus.PENDING_PAYMENT:
        # Paid after the order was cancelled (stock released): the money goes back.
        from farmgate.ledger import tasks as ledger  # the job bodies are registered by install()

        ledger.queue(session, "late_payment", pk(intent))
        request_refund(session, order, intent, intent.amount_fen, "订单已取消，自动退款")
        return "late", f"order was {order.status}; refund requested"
    label = PROVIDER_LABELS.get(provider, provider)
    orders.mark_paid(session, order, note=f"{label} {note.transaction_id}", presale=presale)
    notify.order_paid(session, order)
    return "applied", ""


def presale_balance_fen(session: Session, order: Order) -> int:
    """What a pre-sale order leaves for the balance payment (0 for any other order)."""
    return sum(
        part.balance_fen
        for part in session.scalars(
            select(PresaleOrder).where(col(PresaleOrder.order_id) == order.id)
        )
    )


def _presale_balance_paid(session: Session, order: Order, intent: PaymentIntent) -> bool:
    """A pre-sale's balance intent was paid: record it; packing follows (farmgate/presale)."""
    from farmgate.models import Fulfilment, FulfilmentStatus, Presale, PresaleStatus

    parts = list(
        session.scalars(
            select(PresaleOrder).where(
                col(PresaleOrder.order_id) == order.id,
                col(PresaleOrder.balance_trade_no) == intent.out_trade_no,
            )
        )
    )
    if not parts:
        return False
    from farmgate.ledger import tasks as ledger  # the job bodies are registered by install()

    ledger.queue(session, "presale_balance", pk(intent))  # the balance, and the deposit held
    for part in parts:
        part.balance_paid_at = utcnow()
        session.add(part)
        presale = session.get(Presale, part.presale_id)
        if presale is not None and presale.status == PresaleStatus.HARVESTED:
            for fulfilment in session.scalars(
                select(Fulfilment).where(
                    col(Fulfilment.order_id) == order.id,
                    col(Fulfilment.status) == FulfilmentStatus.PENDING,
                )
            ):
                fulfilment.status = FulfilmentStatus.TO_PACK
                session.add(fulfilment)
    return True


def intent_refundable_fen(session: Session, intent: PaymentIntent) -> int:
    """What of a paid intent may still be refunded: its amount less refunds not failed."""
    refunded = sum(
        r.amount_fen
        for r in session.scalars(
            select(Refund).where(
                col(Refund.intent_id) == intent.id, col(Refund.status) != RefundStatus.FAILED
            )
        )
    )
    return intent.amount_fen - refunded


def request_refund(
    session: Session, order: Order, intent: PaymentIntent, amount_fen: int, reason: str
) -> Refund:
    refunded = intent.amount_fen - intent_refundable_fen(session, intent)
    if amount_fen <= 0 or refunded + amount_fen > intent.amount_fen:
        raise Conflict(f"退款金额超过可退金额（还可退 {intent.amount_fen - refunded} 分）")
    count = session.scalars(select(col(Refund.id)).where(col(Refund.order_id) == order.id)).all()
    refund = Refund(
        order_id=pk(order),
        intent_id=pk(intent),
        out_refund_no=f"{order.number}R{len(count) + 1}",
        amount_fen=amount_fen,
        reason=reason[:80],
    )
    session.add(refund)
    session.flush()
    from farmgate.payments import tasks  # the job bodies import this module

    tasks.refund.enqueue(
        session,
        {"refund_id": pk(refund)},
        key=f"refund:{refund.out_refund_no}",
    )
    return refund


def paid_intent(session: Session, order: Order) -> PaymentIntent:
    intent = session.scalars(
        select(PaymentIntent).where(
            col(PaymentIntent.order_id) == order.id, col(PaymentIntent.status) == IntentStatus.PAID
        )
    ).first()
    if intent is None:
        raise InvalidTransition("该订单没有已完成的支付")
    return intent


def approve_refund(session: Session, order: Order, amount_fen: int | None, reason: str) -> Refund:
    """The township admin refunds a paid order in full or in part."""
    intent = paid_intent(session, order)
    return request_refund(session, order, intent, amount_fen or intent.amount_fen, reason)


def cash_returned(session: Session, refund: Refund, staff: Account) -> None:
    """Station staff handed a cash refund back to the buyer."""
    if refund.status != RefundStatus.PENDING_CASH:
        raise InvalidTransition("该退款不是待退现金状态")
    complete_refund(session, refund, refund.refund_id or f"CASH-REFUND-{refund.out_refund_no}")


def complete_refund(session: Session, refund: Refund, refund_id: str) -> None:
    refund.status, refund.refund_id, refund.completed_at = (
        RefundStatus.SUCCEEDED,
        refund_id,
        utcnow(),
    )
    session.add(refund)
    from farmgate.ledger import tasks as ledger  # the job bodies are registered by install()

    ledger.queue(session, "refund", pk(refund))
    from farmgate.payments import sharing_jobs  # registered by install(), like the ledger's

    sharing_jobs.queue_return(session, refund)  # part of it was shared: ask for it back
    order = session.get(Order, refund.order_id, with_for_update=True)
    assert order is not None
    done = sum(
        r.amount_fen
        for r in session.scalars(
            select(Refund).where(
                col(Refund.order_id) == order.id, col(Refund.status) == RefundStatus.SUCCEEDED
            )
        )
    )
    paid = sum(
        i.amount_fen
        for i in session.scalars(
            select(PaymentIntent).where(
                col(PaymentIntent.order_id) == order.id,
                col(PaymentIntent.status) == IntentStatus.PAID,
            )
        )
    )  # a pre-sale order with only its deposit paid is refunded once the deposit is back
    if done >= min(order.total_fen, paid) and order.status not in state.CLOSED:
        if order.status != OrderStatus.REFUND_REQUESTED:
            state.transition(
                session, order, OrderStatus.REFUND_REQUESTED, actor_name="admin", note=refund.reason
            )
        state.transition(
            session, order, OrderStatus.REFUNDED, actor_name="payment", note=f"退款 {refund_id}"
        )
