"""The desk's domain additions: refund requests answered by a cooperative, staff accounts with
an owner, a new name waiting for the township."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.accounts import service as accounts
from farmgate.cooperatives import service as cooperatives
from farmgate.cooperatives import staff as staffing
from farmgate.cooperatives.schemas import CooperativeUpdate
from farmgate.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from farmgate.models import OrderStatus, Refund, RefundRequest, Role
from farmgate.orders import service as orders
from farmgate.payments import requests
from tests.support import desk
from tests.support import factories as f


def test_a_buyer_asks_and_the_cooperative_refunds_part_then_the_order_goes_back(
    session: Session,
) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    assert order.status == OrderStatus.PAID and order.total_fen > 0
    (request,) = requests.ask(session, None, order, "辣椒有两袋压坏了")
    assert order.status == OrderStatus.REFUND_REQUESTED
    assert requests.refundable_fen(session, request) == order.total_fen
    with pytest.raises(ValidationFailed) as too_much:
        requests.accept(session, s.owner, request.id, order.total_fen + 1)  # type: ignore[arg-type]
    assert "最多可退" in too_much.value.fields["amount"]
    with pytest.raises(ValidationFailed):
        requests.accept(session, s.owner, request.id, 0)  # type: ignore[arg-type]
    refund = requests.accept(session, s.owner, request.id, 1234)  # type: ignore[arg-type]
    assert (refund.amount_fen, refund.order_id, refund.reason) == (
        1234,
        order.id,
        "辣椒有两袋压坏了",
    )
    assert request.status == "accepted" and request.refund_id == refund.id
    assert order.status == OrderStatus.PAID  # partly refunded: back where it was
    with pytest.raises(InvalidTransition):  # answered once only
        requests.accept(session, s.owner, request.id, 100)  # type: ignore[arg-type]
    # Asked again: only what is left may go back.
    (again,) = requests.ask(session, None, order, "还有一袋也坏了")
    assert requests.refundable_fen(session, again) == order.total_fen - 1234
    full = requests.accept(session, s.owner, again.id, None)  # type: ignore[arg-type]
    assert full.amount_fen == order.total_fen - 1234
    assert order.status == OrderStatus.REFUND_REQUESTED  # the refund's completion closes it


def test_refusing_needs_a_reason_the_buyer_sees_and_restores_the_order(session: Session) -> None:
    s = desk.shop(session)
    order = desk.order(session, s.sku)
    orders.mark_packed(session, s.owner, orders.fulfilments_for(session, s.owner)[0].id)
    assert order.status == OrderStatus.FULFILLING
    (request,) = requests.ask(session, None, order, "不想要了")
    with pytest.raises(ValidationFailed) as empty:
        requests.refuse(session, s.owner, request.id, "  ")  # type: ignore[arg-type]
    assert "answer" in empty.value.fields and request.status == "open"
    requests.refuse(session, s.owner, request.id, "已经发货，收到后可以退货")  # type: ignore[arg-type]
    assert request.answer == "已经发货，收到后可以退货" and request.status == "refused"
    assert order.status == OrderStatus.FULFILLING
    assert session.query(Refund).count() == 0


def test_another_cooperatives_request_is_not_found(session: Session) -> None:
    s = desk.shop(session)
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    order = desk.order(session, s.sku)
    (request,) = requests.ask(session, None, order, "")
    for call in (
        lambda: requests.get_for(session, other.owner, request.id),  # type: ignore[arg-type]
        lambda: requests.accept(session, other.owner, request.id, None),  # type: ignore[arg-type]
        lambda: requests.refuse(session, other.owner, request.id, "不行"),  # type: ignore[arg-type]
    ):
        with pytest.raises(NotFound):
            call()
    assert requests.list_for(session, other.owner) == []
    assert [r.id for r in requests.list_for(session, s.owner)] == [request.id]
    with pytest.raises(PermissionDenied):
        requests.list_for(session, f.create_account(session))


def test_an_order_of_two_cooperatives_asks_each_and_caps_each_part(session: Session) -> None:
    a = desk.shop(session)
    b = desk.shop(session, "二号合作社", lot="B1")
    order = desk.order(session, a.sku, b.sku)
    asked = requests.ask(session, None, order, "都坏了")
    assert sorted(r.cooperative_id for r in asked) == sorted([a.coop.id, b.coop.id])
    mine = next(r for r in asked if r.cooperative_id == a.coop.id)
    theirs = next(r for r in asked if r.cooperative_id == b.coop.id)
    assert requests.refundable_fen(session, mine) < order.total_fen
    requests.refuse(session, a.owner, mine.id, "没有问题")  # type: ignore[arg-type]
    assert order.status == OrderStatus.REFUND_REQUESTED  # b has not answered yet
    requests.accept(session, b.owner, theirs.id, None)  # type: ignore[arg-type]
    assert order.status == OrderStatus.PAID
    assert session.query(RefundRequest).filter_by(status="open").count() == 0


def test_the_first_staff_account_owns_and_invites_with_a_one_time_link(session: Session) -> None:
    s = desk.shop(session)
    assert s.owner.is_owner
    helper = desk.staff_of(session, s.coop)
    assert not helper.is_owner
    invited = staffing.invite(session, s.owner, "139 8888 0001", "李会计")
    assert invited.token and invited.account.phone == "13988880001"
    assert invited.account.cooperative_id == s.coop.id and not invited.account.is_owner
    with pytest.raises(AuthenticationRequired):  # no password before the link is used
        accounts.authenticate(session, "13988880001", "anything-at-all")
    assert staffing.pending_invite(session, invited.account)
    with pytest.raises(ValidationFailed):
        staffing.accept_invite(session, invited.token, "short")
    staffing.accept_invite(session, invited.token, "new password 1")
    assert accounts.authenticate(session, "13988880001", "new password 1").id == invited.account.id
    with pytest.raises(NotFound):  # used up
        staffing.accept_invite(session, invited.token, "another password")
    with pytest.raises(ValidationFailed) as bad:
        staffing.invite(session, s.owner, "12345")
    assert "phone" in bad.value.fields
    with pytest.raises(Conflict):
        staffing.invite(session, s.owner, "13988880001")
    with pytest.raises(PermissionDenied):
        staffing.invite(session, helper, "13988880002")
    # A shopper's existing account is bound and keeps its password; no link is made.
    shopper = f.create_account(session)
    bound = staffing.invite(session, s.owner, shopper.phone)
    assert bound.token is None and shopper.role == Role.COOPERATIVE
    assert staffing.list_staff(session, s.owner)[0].id == s.owner.id


def test_the_owner_removes_staff_but_not_themselves_nor_another_cooperatives(
    session: Session,
) -> None:
    s = desk.shop(session)
    other = desk.shop(session, "别家合作社", lot="OTHER1")
    helper = desk.staff_of(session, s.coop)
    session_token = accounts.issue_token(session, helper, "session").token
    with pytest.raises(PermissionDenied):
        staffing.remove(session, helper, s.owner.id)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        staffing.remove(session, s.owner, s.owner.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        staffing.remove(session, other.owner, helper.id)  # type: ignore[arg-type]
    staffing.remove(session, s.owner, helper.id)  # type: ignore[arg-type]
    assert helper.role == Role.CONSUMER and helper.cooperative_id is None
    session.flush()
    assert accounts.resolve_token(session, session_token, "session") is None


def test_a_new_name_waits_for_the_township(session: Session) -> None:
    s = desk.shop(session)
    cooperatives.update(session, s.owner, s.coop.id, CooperativeUpdate(name="谭家场辣椒合作社"))  # type: ignore[arg-type]
    assert s.coop.name == "红辣椒合作社" and s.coop.pending_name == "谭家场辣椒合作社"
    assert cooperatives.public_view(session, s.coop).name == "红辣椒合作社"
    with pytest.raises(PermissionDenied):
        cooperatives.decide_name(session, s.owner, s.coop.id, True)  # type: ignore[arg-type]
    admin = f.create_account(session, role=Role.ADMIN)
    cooperatives.decide_name(session, admin, s.coop.id, True)  # type: ignore[arg-type]
    assert s.coop.name == "谭家场辣椒合作社" and s.coop.pending_name == ""
    with pytest.raises(ValidationFailed) as bad:
        cooperatives.update_contacts(
            session,
            s.owner,
            s.coop.id,
            service_phone="打电话",
            pickup_address="",  # type: ignore[arg-type]
        )
    assert "service_phone" in bad.value.fields
    cooperatives.update_contacts(
        session,
        s.owner,
        s.coop.id,
        service_phone="0745-1234567",
        pickup_address="谭家场村服务站",  # type: ignore[arg-type]
    )
    assert cooperatives.public_view(session, s.coop).service_phone == "0745-1234567"
