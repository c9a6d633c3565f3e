"""After the purchase, in the domain: the address book, confirming receipt (by hand and after
the configured days), cancelling, and after-sales requests answered through the refund flow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.errors import InvalidTransition, NotFound, ValidationFailed
from farmgate.models import Address, Order, OrderEvent, OrderStatus, Refund, RefundRequest, Sku
from farmgate.models import RefundRequestStatus as RS
from farmgate.orders import addresses, receipt
from farmgate.orders import service as orders
from farmgate.orders import tasks as order_tasks
from farmgate.orders.schemas import AddressIn
from farmgate.payments import aftersales, requests
from farmgate.privacy import service as privacy
from tests.support import aftercare, desk
from tests.support import factories as f
from tests.support.images import jpeg

OS = OrderStatus
HOME = {
    "recipient": "王五",
    "phone": "13912345679",
    "province": "湖南省",
    "city": "怀化市",
    "county": "辰溪县",
    "township": "谭家场乡",
    "village": "高坪",
    "address_detail": "5组8号",
}


def test_the_address_book_keeps_one_default(session: Session) -> None:
    f.create_township(session)
    buyer = f.create_account(session)
    first = addresses.add(session, buyer, AddressIn(**HOME))
    second = addresses.add(session, buyer, AddressIn(**{**HOME, "address_detail": "6组1号"}))
    assert first.is_default and not second.is_default
    addresses.set_default(session, buyer, second.id)  # type: ignore[arg-type]
    assert [a.id for a in addresses.list_for(session, buyer)] == [second.id, first.id]
    assert not first.is_default
    addresses.update(session, buyer, first.id, AddressIn(**{**HOME, "recipient": "赵六"}))  # type: ignore[arg-type]
    assert first.recipient == "赵六"
    addresses.delete(session, buyer, second.id)  # type: ignore[arg-type]
    assert [(a.id, a.is_default) for a in addresses.list_for(session, buyer)] == [(first.id, True)]
    # Someone else's address is not found; a village not of this township is refused.
    with pytest.raises(NotFound):
        addresses.get_for(session, f.create_account(session), first.id)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as bad:
        addresses.add(session, buyer, AddressIn(**{**HOME, "village": "不存在村"}))
    assert "village" in bad.value.fields


def test_confirm_receipt_once_and_only_after_delivery(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    with pytest.raises(InvalidTransition):
        receipt.confirm(session, order, None)
    aftercare.delivered(session, order)
    assert receipt.confirm(session, order, None) is True
    assert receipt.confirm(session, order, None) is False  # twice: harmless
    assert order.status == OS.COMPLETED
    completed = session.query(OrderEvent).filter_by(order_id=order.id, to_status=OS.COMPLETED)
    assert completed.count() == 1


def test_delivered_orders_confirm_themselves_after_the_configured_days(session: Session) -> None:
    s = desk.shop(session)
    old = aftercare.delivered(session, desk.order(session, s.sku))
    fresh = aftercare.delivered(session, desk.order(session, s.sku))
    event = session.query(OrderEvent).filter_by(order_id=old.id, to_status=OS.DELIVERED).one()
    event.created_at = utcnow() - timedelta(days=settings.auto_confirm_days, minutes=1)
    session.flush()
    order_tasks.auto_confirm(session)
    session.expire_all()
    assert session.get(Order, old.id).status == OS.COMPLETED  # type: ignore[union-attr]
    assert session.get(Order, fresh.id).status == OS.DELIVERED  # type: ignore[union-attr]
    assert receipt.auto_confirm(session) == 0  # nothing left that is due
    later = utcnow() + timedelta(days=settings.auto_confirm_days, minutes=1)
    assert receipt.auto_confirm(session, now=later) == 1


def test_cancelling_gives_the_stock_back_and_a_paid_order_is_refused(session: Session) -> None:
    s = desk.shop(session)
    before = session.get(Sku, s.sku.id).stock  # type: ignore[union-attr]
    unpaid = desk.order(session, s.sku, paid=False)
    assert session.get(Sku, s.sku.id).stock == before - 2  # type: ignore[union-attr]
    orders.cancel(session, unpaid, None, note="买家取消订单")
    session.expire_all()
    assert session.get(Sku, s.sku.id).stock == before  # type: ignore[union-attr]
    paid = desk.order(session, s.sku)
    with pytest.raises(InvalidTransition):
        orders.cancel(session, paid, None)


def test_an_after_sales_request_carries_cold_chain_evidence_and_is_refunded(
    session: Session,
) -> None:
    s = desk.shop(session)
    buyer = f.create_account(session)
    order = aftercare.delivered(session, desk.order(session, s.sku, buyer=buyer))
    aftercare.packed_with_excursion(session, order, s.lot)
    (part,) = aftersales.parts(session, order)
    limit = aftersales.refundable(session, order, part)
    asked = aftersales.ask(
        session,
        buyer,
        order,
        fulfilment_id=part.id,  # type: ignore[arg-type]
        kind="spoiled",
        amount="5.50",
        note="到货时已经发软",
        photos=[("a.jpg", jpeg())],
    )
    assert asked.amount_asked_fen == 550 and asked.kind == "spoiled" and len(asked.photos) == 1
    assert asked.evidence[0]["lot"] == s.lot.lot_code and asked.evidence[0]["max_c"] == 14.6
    assert order.status == OS.REFUND_REQUESTED
    assert [r.id for r in aftersales.open_after_sales(session, order.id)] == [asked.id]  # type: ignore[arg-type]
    # A second request on the same part while one is open is refused.
    with pytest.raises(ValidationFailed):
        aftersales.ask(session, buyer, order, fulfilment_id=part.id, kind="quality", amount="1")  # type: ignore[arg-type]
    # The cooperative accepts "in full": the amount asked, not everything refundable.
    refund = requests.accept(session, s.owner, asked.id, None)  # type: ignore[arg-type]
    assert refund.amount_fen == 550 < limit
    assert aftersales.open_after_sales(session, order.id) == []  # type: ignore[arg-type]
    assert order.status == OS.DELIVERED  # back where it was: the rest is not refunded
    assert session.query(Refund).filter_by(order_id=order.id).count() == 1


@pytest.mark.parametrize(
    ("kind", "amount", "photo", "field"),
    [
        ("", "1", None, "kind"),
        ("quality", "99999", None, "amount"),
        ("quality", "abc", None, "amount"),
        ("quality", "0", None, "amount"),
        ("quality", "1", b"%PDF-1.4 not an image", "photos"),
    ],
)
def test_bad_after_sales_requests_change_nothing(
    session: Session, kind: str, amount: str, photo: bytes | None, field: str
) -> None:
    s = desk.shop(session)
    order = aftercare.delivered(session, desk.order(session, s.sku))
    (part,) = aftersales.parts(session, order)
    photos = [("x.pdf", photo)] if photo else []
    with pytest.raises(ValidationFailed) as bad:
        aftersales.ask(
            session,
            None,
            order,
            fulfilment_id=part.id,
            kind=kind,
            amount=amount,
            photos=photos,  # type: ignore[arg-type]
        )
    assert field in bad.value.fields
    assert session.query(RefundRequest).filter_by(order_id=order.id).count() == 0
    assert order.status == OS.DELIVERED


def test_a_refused_after_sales_request_leaves_the_order_delivered(session: Session) -> None:
    s = desk.shop(session)
    order = aftercare.delivered(session, desk.order(session, s.sku))
    (part,) = aftersales.parts(session, order)
    asked = aftersales.ask(session, None, order, fulfilment_id=part.id, kind="missing", amount="2")  # type: ignore[arg-type]
    requests.refuse(session, s.owner, asked.id, "已核实发货数量无误")  # type: ignore[arg-type]
    assert asked.status == RS.REFUSED and order.status == OS.DELIVERED
    assert aftersales.open_after_sales(session, order.id) == []  # type: ignore[arg-type]
    assert asked.evidence == []  # no lot with an excursion


def test_the_address_book_is_exported_and_erased_with_the_account(session: Session) -> None:
    f.create_township(session)
    buyer = f.create_account(session)
    addresses.add(session, buyer, AddressIn(**HOME))
    exported = privacy.export(session, buyer)
    assert exported["addresses"][0]["address_detail"] == "5组8号"
    assert exported["addresses"][0]["is_default"] is True
    privacy.erase(session, buyer, f.PASSWORD)
    session.flush()
    assert session.query(Address).filter_by(account_id=buyer.id).count() == 0
