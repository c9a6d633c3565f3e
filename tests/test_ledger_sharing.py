"""WeChat Pay profit-sharing (分账) payouts, against the simulator over real HTTP, on both
databases: the share under the ratio cap and the available balance, each step posted once,
a closed receiver or a refusal giving the money back, a refund returned (回退)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.db import utcnow
from farmgate.errors import ValidationFailed
from farmgate.jobs import registry
from farmgate.ledger import checks, payouts, settlement, statements
from farmgate.models import (
    LedgerTxn,
    Order,
    OutboxJob,
    OutboxStatus,
    PaymentIntent,
    ProfitShare,
    ProfitShareReturn,
    Role,
    ShareReturnStatus,
    ShareStatus,
)
from farmgate.payments import providers, sharing
from farmgate.payments import service as payments
from farmgate.payments import tasks as payment_tasks
from farmgate.payments.provider import PaymentError
from farmgate.payments.simulator import SimulatorServer
from farmgate.payments.simulator.state import new_rsa_key, private_pem
from farmgate.payments.wechat_sharing import WeChatProfitSharing
from farmgate.payments.wechat_v3 import WeChatPayV3
from tests.support import desk
from tests.support import factories as f
from tests.support.billing import use_simulator
from tests.support.ledger import complete, post_pending, run_sharing

MERCHANT = "1900001234"


@pytest.fixture
def sharing_sim(pay_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    use_simulator(monkeypatch, pay_sim, "v3")
    monkeypatch.setattr(settings, "profit_sharing", True)
    pay_sim.state.faults.clear()
    return pay_sim


def _receiver(session: Session, shop: desk.Shop, account: str = MERCHANT) -> None:
    admin = f.create_account(session, role=Role.ADMIN)
    sharing.set_receiver(session, admin, shop.coop.id, "MERCHANT_ID", account, shop.coop.name)


def _wechat_order(session: Session, sim: SimulatorServer, *skus: Any) -> Order:
    """An order paid with WeChat Pay v3 at the simulator (so frozen for sharing), completed."""
    order = desk.order(session, *skus, paid=False, channel="native")
    intent = payments.create_intent(session, order, "native", client_ip="127.0.0.1")
    assert intent.profit_sharing
    sim.pay(intent.out_trade_no)
    provider = providers.provider("wechat_v3")
    payments.record_provider_paid(session, intent, provider.query(intent.out_trade_no), "test")
    session.flush()
    complete(session, order)
    post_pending(session)
    return order


def _settle(session: Session) -> None:
    settlement.settle_due(session, utcnow() + timedelta(days=settings.settlement_days + 1))


def _intent(session: Session, order: Order) -> PaymentIntent:
    return session.scalars(select(PaymentIntent).where(PaymentIntent.order_id == order.id)).one()


def _keys(session: Session, kind: str) -> list[str]:
    return list(session.scalars(select(LedgerTxn.key).where(LedgerTxn.kind == kind)))


def test_a_payment_is_created_for_sharing_only_when_the_setting_is_on(
    session: Session, sharing_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = desk.shop(session)
    monkeypatch.setattr(settings, "profit_sharing", False)
    order = desk.order(session, s.sku, paid=False, channel="native")
    intent = payments.create_intent(session, order, "native", client_ip="127.0.0.1")
    assert intent.profit_sharing is False
    # Nothing is shared of a payment that was not frozen for it, whatever the cooperative.
    _receiver(session, s)
    sharing_sim.pay(intent.out_trade_no)
    provider = providers.provider("wechat_v3")
    payments.record_provider_paid(session, intent, provider.query(intent.out_trade_no), "test")
    complete(session, order)
    post_pending(session)
    _settle(session)
    assert run_sharing(session) == []
    assert settlement.available_fen(session, s.coop.id) == order.total_fen


def test_the_share_is_capped_at_the_ratio_posted_once_and_the_rest_unfrozen(
    session: Session, sharing_sim: SimulatorServer
) -> None:
    s = desk.shop(session)
    _receiver(session, s)
    order = _wechat_order(session, sharing_sim, s.sku)
    intent = _intent(session, order)
    _settle(session)
    run_sharing(session, times=2)  # every job twice: posted once all the same
    (share,) = session.scalars(select(ProfitShare)).all()
    cap = order.total_fen * 3000 // 10_000
    assert share.status == ShareStatus.FINISHED and share.amount_fen == cap
    assert _keys(session, "share") == [f"share:{share.id}"]
    assert _keys(session, "share_done") == [f"share_done:{share.id}"]
    # The rest is left for the bank transfer, and unfrozen to the platform at WeChat Pay.
    assert settlement.available_fen(session, s.coop.id) == order.total_fen - cap
    assert intent.unfrozen_at is not None
    at_wechat = sharing_sim.state.shares
    assert at_wechat[share.out_order_no].receivers[0]["amount"] == cap
    unfrozen = at_wechat[f"{intent.out_trade_no}UF"]
    assert unfrozen.unfreeze and unfrozen.receivers[0]["amount"] == order.total_fen - cap
    # The receiver was added once, its name sent encrypted and read by WeChat Pay.
    assert sharing_sim.state.receivers[("MERCHANT_ID", MERCHANT)] == s.coop.name
    # The cooperative's statement shows it as a payout.
    stmt = statements.build(session, s.coop.id, statements.month())
    assert any("微信分账" in p.memo and p.amount == -cap for p in stmt.payouts)
    assert checks.all_problems(session) == []


def test_a_share_never_exceeds_what_is_available(
    session: Session, sharing_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "profit_sharing_max_bp", 10_000)
    sharing_sim.state.max_sharing_bp = 10_000
    s = desk.shop(session)
    _receiver(session, s)
    order = _wechat_order(session, sharing_sim, s.sku)
    admin = f.create_account(session, role=Role.ADMIN)
    # Settled, then most of it sent by bank before the sharing job ran.
    settlement.settle_order(session, order, utcnow() + timedelta(days=30))
    payouts.record(session, admin, s.coop.id, order.total_fen - 150, bank_ref="B1")
    run_sharing(session)
    (share,) = session.scalars(select(ProfitShare)).all()
    assert share.amount_fen == 150 and share.status == ShareStatus.FINISHED
    assert settlement.available_fen(session, s.coop.id) == 0
    assert checks.all_problems(session) == []


def test_two_cooperatives_share_the_cap_in_proportion(
    session: Session, sharing_sim: SimulatorServer
) -> None:
    a = desk.shop(session)
    b = desk.shop(session, "别家合作社", lot="OTHER1")
    _receiver(session, a)
    _receiver(session, b, "1900005678")
    order = _wechat_order(session, sharing_sim, a.sku, b.sku)
    _settle(session)
    run_sharing(session)
    shares = session.scalars(select(ProfitShare)).all()
    assert len(shares) == 2 and all(x.status == ShareStatus.FINISHED for x in shares)
    assert sum(x.amount_fen for x in shares) <= order.total_fen * 3000 // 10_000
    assert checks.all_problems(session) == [] and checks.shares_within_cap(session) == []


@pytest.mark.parametrize("fault", ["share_receiver_closed", "share_ratio_exceeded"])
def test_a_closed_receiver_or_a_refusal_gives_the_money_back(
    session: Session, sharing_sim: SimulatorServer, fault: str
) -> None:
    s = desk.shop(session)
    _receiver(session, s)
    order = _wechat_order(session, sharing_sim, s.sku)
    _settle(session)
    sharing_sim.state.faults.append(fault)
    run_sharing(session, times=2)
    (share,) = session.scalars(select(ProfitShare)).all()
    expected = ShareStatus.CLOSED if fault == "share_receiver_closed" else ShareStatus.FAILED
    assert share.status == expected and share.fail_reason
    assert _keys(session, "share_back") == [f"share_back:{share.id}"]
    assert _keys(session, "share_done") == []
    assert settlement.available_fen(session, s.coop.id) == order.total_fen  # all of it again
    assert _intent(session, order).unfrozen_at is not None
    assert checks.all_problems(session) == []


def test_processing_then_finished_and_a_forgotten_receiver_added_again(
    session: Session, sharing_sim: SimulatorServer
) -> None:
    s = desk.shop(session)
    _receiver(session, s)
    order = _wechat_order(session, sharing_sim, s.sku)
    _settle(session)
    sharing_sim.state.faults += ["share_receiver_missing", "share_processing"]
    outcomes = run_sharing(session)
    assert "processing" in outcomes and "finished" in outcomes  # send, then the query job
    (share,) = session.scalars(select(ProfitShare)).all()
    assert share.status == ShareStatus.FINISHED
    assert ("MERCHANT_ID", MERCHANT) in sharing_sim.state.receivers
    assert settlement.available_fen(session, s.coop.id) == order.total_fen - share.amount_fen
    assert checks.all_problems(session) == []


def test_an_outage_is_retried_and_posts_nothing_twice(
    session: Session, sharing_sim: SimulatorServer
) -> None:
    from farmgate.jobs.errors import TransientJobError

    s = desk.shop(session)
    _receiver(session, s)
    _wechat_order(session, sharing_sim, s.sku)
    _settle(session)
    session.flush()
    row = session.scalars(select(OutboxJob).where(OutboxJob.job == "payments.share_order")).one()
    registry.get(row.job).body(session, row.args)  # type: ignore[union-attr]
    row.status = OutboxStatus.DONE
    sharing_sim.state.faults += ["error_500"] * 2  # add receiver and create both fail once
    send = session.scalars(select(OutboxJob).where(OutboxJob.job == "payments.share_send")).one()
    with pytest.raises(TransientJobError):
        registry.get(send.job).body(session, send.args)  # type: ignore[union-attr]
    sharing_sim.state.faults.clear()
    run_sharing(session)
    assert len(_keys(session, "share")) == 1 and len(_keys(session, "share_done")) == 1
    assert checks.all_problems(session) == []


def test_a_refund_after_sharing_is_returned_and_posted(
    session: Session, sharing_sim: SimulatorServer
) -> None:
    s = desk.shop(session)
    _receiver(session, s)
    order = _wechat_order(session, sharing_sim, s.sku)
    intent = _intent(session, order)
    _settle(session)
    run_sharing(session)
    (share,) = session.scalars(select(ProfitShare)).all()
    available = settlement.available_fen(session, s.coop.id)
    sharing_sim.state.faults.append("return_processing")
    refund = payments.request_refund(session, order, intent, 100, "少发")
    payment_tasks.refund(session, {"refund_id": refund.id})
    post_pending(session)
    assert settlement.available_fen(session, s.coop.id) == available - 100  # owed back
    run_sharing(session, times=2)
    (back,) = session.scalars(select(ProfitShareReturn)).all()
    assert back.status == ShareReturnStatus.SUCCESS and back.amount_fen == 100
    assert _keys(session, "share_return") == [f"share_return:{back.id}"]
    assert share.returned_fen == 100
    assert sharing_sim.state.shares[share.out_order_no].returned == 100
    assert settlement.available_fen(session, s.coop.id) == available  # the debt is paid
    assert checks.all_problems(session) == []


def test_a_receiver_is_validated_beside_its_fields(session: Session) -> None:
    s = desk.shop(session)
    admin = f.create_account(session, role=Role.ADMIN)
    with pytest.raises(ValidationFailed) as bad:
        sharing.set_receiver(session, admin, s.coop.id, "MERCHANT_ID", "12ab", "")
    assert set(bad.value.fields) == {"receiver_account", "receiver_name"}
    with pytest.raises(ValidationFailed) as bad:
        sharing.set_receiver(session, admin, s.coop.id, "BANK", "x", "")
    assert set(bad.value.fields) == {"receiver_type"}
    coop = sharing.set_receiver(
        session, admin, s.coop.id, "PERSONAL_OPENID", "o" + "x" * 27, "张三"
    )
    assert coop.wechat_receiver_type == "PERSONAL_OPENID" and coop.wechat_receiver_added_at is None
    sharing.set_receiver(session, admin, s.coop.id, "", "", "")
    assert coop.wechat_receiver_type == ""


def test_a_wrongly_signed_sharing_request_is_refused(sharing_sim: SimulatorServer) -> None:
    config = sharing_sim.v3_config()
    config["merchant_private_key"] = private_pem(new_rsa_key())
    calls = WeChatProfitSharing(WeChatPayV3(**config))
    with pytest.raises(PaymentError) as refused:
        calls.add_receiver("MERCHANT_ID", MERCHANT, "某合作社")
    assert refused.value.code == "SIGN_ERROR"


def test_the_console_sets_a_receiver_and_shows_shares_beside_bank_transfers(  # type: ignore[no-untyped-def]
    client, session: Session, sharing_sim: SimulatorServer
) -> None:
    from tests.support.web import csrf_token

    s = desk.shop(session)
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    url = f"/township/money/{s.coop.id}"
    page = client.get(url)
    assert page.status_code == 200 and "微信分账接收方" in page.text
    bad = client.post(
        f"{url}/wechat-receiver",
        data={
            "csrf_token": csrf_token(page.text),
            "receiver_type": "MERCHANT_ID",
            "receiver_account": "12ab",
            "receiver_name": "",
        },
    )
    assert bad.status_code == 422
    assert 'id="receiver_account-error">商户号是 8 到 12 位数字' in bad.text
    assert 'value="12ab"' in bad.text and '<a href="#receiver_name">' in bad.text
    saved = client.post(
        f"{url}/wechat-receiver",
        data={
            "csrf_token": csrf_token(page.text),
            "receiver_type": "MERCHANT_ID",
            "receiver_account": MERCHANT,
            "receiver_name": s.coop.name,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.expire_all()
    order = _wechat_order(session, sharing_sim, s.sku)
    _settle(session)
    run_sharing(session)
    session.commit()
    shown = client.get(url).text
    (share,) = session.scalars(select(ProfitShare)).all()
    assert share.out_order_no in shown and "已分账" in shown
    assert f"¥{share.amount_fen // 100}.{share.amount_fen % 100:02d}" in shown
    assert order.number in shown  # the statement's payout line names the order
