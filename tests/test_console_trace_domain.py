"""The domain under the console's trace pages: which alerts are found, who a recall reaches."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from farmgate.errors import Conflict, PermissionDenied, ValidationFailed
from farmgate.models import Alert, BatchStatus, ProductStatus, Role, Sku
from farmgate.trace import alerts, lineage, recalls
from farmgate.trace.schemas import BatchIn, TransformIn, TransformInput
from tests.support import console as c
from tests.support import desk
from tests.support import factories as f


def test_an_expired_certificate_alerts_only_while_its_product_sells(session: Session) -> None:
    made = desk.shop(session)
    c.expired_certificate(session, made.lot)
    made.product.status = ProductStatus.DRAFT
    session.add(made.product)
    assert alerts.find_new(session) == 0
    made.product.status = ProductStatus.PUBLISHED
    assert alerts.find_new(session) == 1
    assert alerts.find_new(session) == 0  # stored once
    (found,) = alerts.township_alerts(session)
    assert found.kind == alerts.CERT_EXPIRED and found.batch_id == made.lot.id


def test_only_the_admin_resolves_and_a_note_is_required(session: Session) -> None:
    made = desk.shop(session)
    alert = c.excursion(session, made.lot)
    with pytest.raises(PermissionDenied):
        alerts.resolve(session, made.owner, alert.id, "好了")  # type: ignore[arg-type]
    admin = f.create_account(session, role=Role.ADMIN)
    with pytest.raises(ValidationFailed):
        alerts.resolve(session, admin, alert.id, "  \n ")  # type: ignore[arg-type]
    assert alerts.resolve(session, admin, alert.id, "已处理")  # type: ignore[arg-type]
    assert not alerts.resolve(session, admin, alert.id, "再处理一次")  # type: ignore[arg-type]
    assert session.get(Alert, alert.id).resolution_note == "已处理"  # type: ignore[union-attr]
    assert alerts.township_alerts(session) == []
    assert [a.id for a in alerts.township_alerts(session, resolved=True)] == [alert.id]


def test_a_recall_reaches_the_lots_made_from_it_and_their_orders(session: Session) -> None:
    made = desk.shop(session)
    dried = f.create_product(
        session, made.owner, f.first_village(session, made.township), name="干辣椒粉"
    )
    output = lineage.transform(
        session,
        made.owner,
        TransformIn(
            inputs=[TransformInput(batch_id=made.lot.id, quantity=Decimal("100"), unit="kg")],  # type: ignore[arg-type]
            output=BatchIn(product_id=dried.id, lot_code="FEN1", quantity=Decimal("20"), unit="kg"),  # type: ignore[arg-type]
            process="烘干磨粉",
        ),
    )
    dried_sku = session.query(Sku).filter_by(product_id=dried.id).one()
    order = desk.order(session, dried_sku)
    c.packed(session, made.owner, order, output)
    admin = f.create_account(session, role=Role.ADMIN)

    recall = recalls.start(session, admin, made.lot.id, "原料农残超标")  # type: ignore[arg-type]
    hit = recalls.affected(session, recall)
    assert [b.id for b in hit.lots] == [made.lot.id, output.id]
    assert [o.id for o in hit.orders] == [order.id]
    assert output.status == BatchStatus.RECALLED and not dried_sku.is_active
    with pytest.raises(Conflict):
        recalls.start(session, admin, made.lot.id, "再来一次")  # type: ignore[arg-type]
    assert recalls.mark_contacted(session, admin, recall.id, order.id)  # type: ignore[arg-type]
    assert recalls.close(session, admin, recall.id)  # type: ignore[arg-type]
    assert recalls.list_recalls(session) == []
    assert output.status == BatchStatus.RECALLED  # closing does not put anything back on sale
