"""Daily reconciliation: the simulator's trade bill (v2 and v3) against our payments and refunds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from farmgate.config import settings
from farmgate.models import Alert, BillCheck, Cooperative, Role
from farmgate.payments import bills, reconciliation, tasks
from farmgate.payments.simulator import SimulatorServer
from farmgate.timeutil import local_today
from tests.support import factories as f
from tests.support.billing import paid_orders, refunded, use_simulator

SAMPLE = (
    "\ufeff交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"
    "`2026-12-04 16:33:45,`wx2421b1c4370ec43b,`10000100,`0,`,`4200001,`FG1001,`oUpF8,`NATIVE,"
    "`SUCCESS,`OTHERS,`CNY,`12.30,`0.00,`0,`0,`0.00,`0.00,`,`,`干辣椒, 500克,`,`0.07,`0.60%,"
    "`12.30,`0.00,`\r\n"
    "`2026-12-04 18:00:01,`wx2421b1c4370ec43b,`10000100,`0,`,`4200001,`FG1001,`oUpF8,`NATIVE,"
    "`REFUND,`OTHERS,`CNY,`0.00,`0.00,`5000001,`RF1001,`2.05,`0.00,`ORIGINAL,`SUCCESS,`干辣椒,"
    "`,`0.00,`0.60%,`0.00,`2.05,`\r\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
    "`2,`12.30,`2.05,`0.00,`0.07,`12.30,`2.05\r\n"
)


def test_the_documented_bill_format_is_read() -> None:
    pay, refund = bills.parse(SAMPLE)
    assert (pay.out_trade_no, pay.state, pay.amount_fen, pay.is_refund) == (
        "FG1001",
        "SUCCESS",
        1230,
        False,
    )
    assert (refund.number, refund.refund_fen, refund.refund_status) == ("RF1001", 205, "SUCCESS")
    assert pay.traded_at.isoformat() == "2026-12-04T16:33:45+08:00"
    assert bills.parse("") == []
    with pytest.raises(bills.BillUnreadable):
        bills.parse(SAMPLE.replace("`2,`12.30", "`3,`12.30"))  # the summary does not add up
    with pytest.raises(bills.BillUnreadable):
        bills.parse(SAMPLE.rsplit("总交易单数", 1)[0])  # cut short: no summary
    with pytest.raises(bills.BillUnreadable):
        bills.parse("a,b,c\r\n`1,`2,`3\r\n")


@pytest.fixture(params=["v2", "v3"])
def bill_sim(
    request: pytest.FixtureRequest, pay_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> SimulatorServer:
    """The simulator with no trades yet, the shop using it through API v2, then v3."""
    pay_sim.state.orders.clear()
    pay_sim.state.bill_edits = {}
    use_simulator(monkeypatch, pay_sim, request.param)
    return pay_sim


@pytest.fixture
def trades(client, session: Session, bill_sim: SimulatorServer):  # type: ignore[no-untyped-def]
    """Three paid orders, the third partly refunded: four lines on today's bill."""
    orders = paid_orders(client, session, bill_sim, 3)
    refund = refunded(client, session, orders[2], 100)
    return {"orders": orders, "refund": refund}


def _alerts(session: Session) -> list[Alert]:
    session.expire_all()
    return session.query(Alert).filter_by(kind=reconciliation.ALERT_KIND).order_by(Alert.id).all()


def test_a_clean_day_gives_no_alerts(session: Session, trades) -> None:  # type: ignore[no-untyped-def]
    result = reconciliation.reconcile_day(session, local_today())
    assert (result.lines, result.differences, result.new_alerts) == (4, [], 0)
    check = session.query(BillCheck).one()
    assert (check.bill_date, check.lines, check.differences) == (local_today(), 4, 0)
    assert _alerts(session) == []


def test_dropped_extra_and_altered_lines_give_exactly_three_alerts(
    client, session: Session, bill_sim: SimulatorServer, trades
) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = trades["orders"]
    refund = trades["refund"]
    edits = {
        "drop": [first["out_trade_no"]],
        "add": [{"out_trade_no": "STRANGER0001", "amount_fen": 990}],
        "alter": {refund.out_refund_no: {"refund_fen": refund.amount_fen + 50}},
    }
    bill_sim.edit_next_bill(**edits)
    result = reconciliation.reconcile_day(session, local_today())
    assert result.new_alerts == 3
    found = {(a.details["difference"], a.details["number"]) for a in _alerts(session)}
    assert found == {
        ("missing_theirs", first["out_trade_no"]),
        ("missing_ours", "STRANGER0001"),
        ("amount", refund.out_refund_no),
    }
    amount = next(a for a in _alerts(session) if a.details["difference"] == "amount")
    assert (amount.details["ours_fen"], amount.details["theirs_fen"]) == (100, 150)
    assert "金额不一致" in amount.message and amount.cooperative_id is None
    assert second["out_trade_no"] not in {a.details["number"] for a in _alerts(session)}

    # The same day checked again (the same bill, say) adds nothing it already said.
    bill_sim.edit_next_bill(**edits)
    again = reconciliation.reconcile_day(session, local_today())
    assert (len(again.differences), again.new_alerts) == (3, 0)
    assert len(_alerts(session)) == 3 and session.query(BillCheck).count() == 1

    # The township sees them: the API (admin only) and the console's alert list.
    admin = f.auth_headers(session, f.create_account(session, role=Role.ADMIN))
    listed = client.get("/api/v1/alerts", params={"kind": "bill_mismatch"}, headers=admin)
    assert listed.status_code == 200 and len(listed.json()) == 3
    buyer = first["headers"]
    assert client.get("/api/v1/alerts", headers=buyer).status_code == 403
    coop = session.query(Cooperative).first()
    staff = f.auth_headers(
        session, f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    )
    assert client.get("/api/v1/alerts", headers=staff).json() == []  # not a cooperative's
    admin_account = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin_account)
    console = client.get("/township/alerts", params={"kind": "bill_mismatch"})
    assert console.status_code == 200 and "STRANGER0001" in console.text
    assert first["out_trade_no"] in console.text and refund.out_refund_no in console.text
    one = client.get(f"/township/alerts/{amount.id}")
    assert "微信对账差异" in one.text and "¥1.00" in one.text and "¥1.50" in one.text


def test_a_refund_we_think_pending_is_a_state_difference(
    session: Session, bill_sim: SimulatorServer, trades
) -> None:  # type: ignore[no-untyped-def]
    refund = trades["refund"]
    refund.status = "requested"
    session.add(refund)
    session.flush()
    result = reconciliation.reconcile_day(session, local_today())
    assert [(d.kind, d.number) for d in result.differences] == [("state", refund.out_refund_no)]


def test_the_daily_job_checks_yesterday_once(
    session: Session, bill_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "bill_check_hour", 23)
    yesterday = local_today() - timedelta(days=1)
    from datetime import datetime

    if datetime.now(tasks.LOCAL_TZ).hour < 23:
        assert tasks.check_bill(session) is False  # before the bill is published
    monkeypatch.setattr(settings, "bill_check_hour", 0)
    assert tasks.check_bill(session) is True  # no trades yesterday: WeChat has no bill
    check = session.query(BillCheck).one()
    assert (check.bill_date, check.lines, check.differences) == (yesterday, 0, 0)
    assert tasks.check_bill(session) is False  # done for the day


def test_the_command_reports_the_differences(
    session: Session, bill_sim: SimulatorServer, trades
) -> None:  # type: ignore[no-untyped-def]
    from farmgate.cli import app

    bill_sim.edit_next_bill(add=[{"out_trade_no": "STRANGER0002", "amount_fen": 100}])
    today = local_today().isoformat()
    result = CliRunner().invoke(app, ["payments", "reconcile", "--date", today])
    assert result.exit_code == 0, result.output
    assert "5 bill lines" in result.output and "1 new alerts" in result.output
    assert "STRANGER0002" in result.output
    bad = CliRunner().invoke(app, ["payments", "reconcile", "--date", "2026-13-01"])
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output


def test_without_wechat_pay_the_command_says_so(session: Session) -> None:
    from farmgate.cli import app

    result = CliRunner().invoke(app, ["payments", "reconcile", "--date", "2026-12-01"])
    assert result.exit_code == 1 and "尚未配置" in result.output
