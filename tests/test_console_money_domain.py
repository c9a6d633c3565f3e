"""The domain behind the console's money pages: order search, late refund requests, step-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.errors import NotFound
from farmgate.models import OrderStatus, Role
from farmgate.orders import lookup
from farmgate.payments import requests, township
from tests.support import desk
from tests.support import factories as f


def test_search_filters_combine_and_page(session: Session) -> None:
    s = desk.shop(session)
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    a = desk.order(session, s.sku)
    b = desk.order(session, other.sku, paid=False)
    assert [o.id for o in lookup.search(session, lookup.OrderQuery()).orders] == [b.id, a.id]
    mine = lookup.OrderQuery(cooperative_id=s.coop.id, status=OrderStatus.PAID)
    assert [o.id for o in lookup.search(session, mine).orders] == [a.id]
    nobody = lookup.OrderQuery(cooperative_id=s.coop.id, status=OrderStatus.PENDING_PAYMENT)
    assert lookup.search(session, nobody).total == 0
    phone = lookup.OrderQuery(phone=b.phone[-4:])
    assert b.id in [o.id for o in lookup.search(session, phone).orders]
    today = utcnow().date()
    window = lookup.OrderQuery(date_from=today - timedelta(days=1), date_to=today + timedelta(1))
    assert lookup.search(session, window).total == 2
    assert lookup.search(session, lookup.OrderQuery(date_to=today - timedelta(days=2))).total == 0
    far = lookup.search(session, lookup.OrderQuery(), page=99)
    assert far.page == far.pages == 1  # past the end: the last page


def test_late_requests_and_the_admins_reach(session: Session) -> None:
    s = desk.shop(session)
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    (fresh,) = requests.ask(session, None, desk.order(session, s.sku), "坏了")
    (old,) = requests.ask(session, None, desk.order(session, s.sku), "少了")
    old.created_at = utcnow() - timedelta(hours=48, minutes=1)
    session.flush()
    assert requests.is_late(old) and not requests.is_late(fresh)
    assert [r.id for r in requests.list_all(session, late_only=True)] == [old.id]
    admin = f.create_account(session, role=Role.ADMIN)
    assert requests.get_for(session, admin, fresh.id) is fresh
    with pytest.raises(NotFound):
        requests.get_for(session, other.owner, fresh.id)
    refund = township.step_in_accept(session, admin, old.id, None)
    assert refund is not None and refund.amount_fen == requests.refundable_fen(session, old) + (
        refund.amount_fen
    )
    assert old.answered_by == admin.id
    assert township.step_in_accept(session, admin, old.id, None) is None  # already answered
    assert township.step_in_refuse(session, admin, old.id, "不行") is None
