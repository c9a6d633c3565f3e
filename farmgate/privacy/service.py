"""A consumer's personal information on request (个人信息保护法, PIPL arts. 45 and 47): a copy of
everything we hold about them, and its deletion.

Deleting an account cannot delete its orders: they are the cooperatives' and the township's
trade records (and the tax office's). What identifies the person is removed from them instead:
name, mobile number, street address and note; the province, city and county stay, as figures
by region need them and name nobody. Orders still on their way keep their address until they
arrive, so the account can be deleted only when none is open.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.accounts import service as accounts
from farmgate.db import utcnow
from farmgate.errors import Conflict, PermissionDenied
from farmgate.models import (
    Account,
    Address,
    AuthToken,
    Cart,
    CartItem,
    LoginThrottle,
    Order,
    OrderLine,
    OrderStatus,
    Parcel,
    PaymentIntent,
    ProductReview,
    ReviewReport,
    Role,
    SmsCode,
)
from farmgate.orders import service as orders
from farmgate.orders.addresses import FIELDS as ADDRESS_FIELDS

ERASED = "已注销用户"
# Orders that still need the address or the buyer (delivery, a refund being decided).
ON_THEIR_WAY = {
    OrderStatus.PAID,
    OrderStatus.FULFILLING,
    OrderStatus.SHIPPED,
    OrderStatus.REFUND_REQUESTED,
}


def _orders(session: Session, account: Account) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(col(Order.account_id) == account.id).order_by(col(Order.id))
        )
    )


def export(session: Session, account: Account) -> dict[str, Any]:
    """Everything held about this person, as one JSON-ready document."""
    orders = []
    for order in _orders(session, account):
        lines = session.scalars(select(OrderLine).where(col(OrderLine.order_id) == order.id))
        parcels = session.scalars(select(Parcel).where(col(Parcel.order_id) == order.id))
        orders.append(
            {
                "number": order.number,
                "status": order.status,
                "created_at": order.created_at.isoformat(),
                "paid_at": order.paid_at.isoformat() if order.paid_at else None,
                "recipient": order.recipient,
                "phone": order.phone,
                "address": {
                    "province": order.province,
                    "city": order.city,
                    "county": order.county,
                    "township": order.township,
                    "village": order.village,
                    "detail": order.address_detail,
                },
                "delivery_method": order.delivery_method,
                "note": order.note,
                "total_fen": order.total_fen,
                "lines": [
                    {
                        "product": line.product_name,
                        "spec": line.sku_spec,
                        "quantity": line.quantity,
                        "unit_price_fen": line.unit_price_fen,
                    }
                    for line in lines
                ],
                "parcels": [
                    {"carrier": p.carrier, "waybill_no": p.waybill_no, "events": p.events}
                    for p in parcels
                ],
            }
        )
    cart = session.scalars(select(Cart).where(col(Cart.account_id) == account.id)).first()
    items = (
        [
            {"sku_id": i.sku_id, "quantity": i.quantity}
            for i in session.scalars(select(CartItem).where(col(CartItem.cart_id) == cart.id))
        ]
        if cart
        else []
    )
    return {
        "exported_at": utcnow().isoformat(),
        "account": {
            "phone": account.phone,
            "display_name": account.display_name,
            "role": account.role,
            "created_at": account.created_at.isoformat(),
        },
        "orders": orders,
        "addresses": [
            {name: getattr(a, name) for name in ADDRESS_FIELDS} | {"is_default": a.is_default}
            for a in session.scalars(
                select(Address)
                .where(col(Address.account_id) == account.id)
                .order_by(col(Address.id))
            )
        ],
        "cart": items,
        "reviews": [
            {
                "product_id": r.product_id,
                "stars": r.stars,
                "body": r.body,
                "photos": len(r.photos),
                "created_at": r.created_at.isoformat(),
                "hidden": r.hidden,
            }
            for r in session.scalars(
                select(ProductReview).where(col(ProductReview.account_id) == account.id)
            )
        ],
        "review_reports": [
            {"review_id": r.review_id, "reason": r.reason, "note": r.note}
            for r in session.scalars(
                select(ReviewReport).where(col(ReviewReport.account_id) == account.id)
            )
        ],
        "sessions": session.scalar(
            select(col(AuthToken.id)).where(col(AuthToken.account_id) == account.id).limit(1)
        )
        is not None,
    }


def erase(session: Session, account: Account, password: str) -> None:
    """Delete the account and take the person out of its orders (see the module docstring)."""
    if account.role != Role.CONSUMER:
        raise PermissionDenied("合作社、配送员和管理员账号请联系乡镇管理员注销")
    accounts.authenticate(session, account.phone, password)  # the person, not a stolen token
    open_orders = [o.number for o in _orders(session, account) if o.status in ON_THEIR_WAY]
    if open_orders:
        raise Conflict(
            "还有订单在进行中，完成后才能注销账号",
            fields={"orders": "、".join(open_orders)},
        )
    for order in _orders(session, account):
        if order.status == OrderStatus.PENDING_PAYMENT:  # never paid: cancelled, stock back
            orders.cancel(session, order, account, note="账号注销")
        order.recipient, order.phone = ERASED, ""
        order.township = order.village = order.address_detail = order.note = ""
        order.account_id = None
        session.add(order)
        session.execute(
            update(PaymentIntent).where(col(PaymentIntent.order_id) == order.id).values(client={})
        )
    cart = session.scalars(select(Cart).where(col(Cart.account_id) == account.id)).first()
    if cart is not None:
        session.execute(delete(CartItem).where(col(CartItem.cart_id) == cart.id))
        session.delete(cart)
    session.execute(delete(Address).where(col(Address.account_id) == account.id))
    session.execute(delete(AuthToken).where(col(AuthToken.account_id) == account.id))
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.phone) == account.phone))
    session.execute(delete(SmsCode).where(col(SmsCode.phone) == account.phone))
    account.phone = f"D{account.id}"  # unique, and no longer anyone's number
    account.display_name, account.password_hash, account.is_active = "", "!", False
    session.add(account)
