"""The township console's alerts, recalls, jobs and audit pages, through HTML forms alone."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate import audit
from farmgate.errors import NotFound
from farmgate.jobs import registry
from farmgate.models import (
    Alert,
    AuditEntry,
    BatchStatus,
    DeadJob,
    OutboxJob,
    OutboxStatus,
    Recall,
    RecallContact,
    Role,
    Sku,
)
from farmgate.orders import cart as carts
from tests.support import console as c
from tests.support import desk
from tests.support import factories as f
from tests.support.web import csrf_token


def _admin(client, session: Session):  # type: ignore[no-untyped-def]
    admin = f.create_account(session, role=Role.ADMIN)
    f.login_browser(client, session, admin)
    return admin


def _world(session: Session):  # type: ignore[no-untyped-def]
    """A shop with a paid order of its lot (packed lines say nothing: the product's orders)."""
    made = desk.shop(session)
    order = desk.order(session, made.sku)
    c.packed(session, made.owner, order, made.lot)
    return made, order


def _post(client, page_url: str, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get(page_url).text)
    return client.post(url, data={**data, "csrf_token": token})


def _audits(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return audit.entries(session, action=action)


GETS = [
    "/township/alerts",
    "/township/alerts/{alert}",
    "/township/batches/{batch}",
    "/township/recalls",
    "/township/jobs",
    "/township/audit",
]
POSTS = [
    "/township/alerts/{alert}/resolve",
    "/township/batches/{batch}/recall",
    "/township/jobs/dead/{dead}/redrive",
    "/township/jobs/redrive",
]


@pytest.mark.parametrize("role", [Role.CONSUMER, Role.COOPERATIVE, Role.COURIER, None])
def test_every_page_and_form_refuses_anyone_but_the_admin(
    client, session: Session, role: Role | None
) -> None:  # type: ignore[no-untyped-def]
    made, _o = _world(session)
    ids = {
        "alert": c.excursion(session, made.lot).id,
        "batch": made.lot.id,
        "dead": c.dead_job(session).id,
    }
    if role is not None:
        account = f.create_account(
            session, role=role, cooperative=made.coop if role == Role.COOPERATIVE else None
        )
        f.login_browser(client, session, account)
    session.commit()
    token = csrf_token(client.get("/login").text)
    for url in GETS:
        page = client.get(url.format(**ids))
        if role is None:
            assert page.url.path == "/login" or "登录" in page.text, url
        else:
            assert page.status_code == 403, url
    for url in POSTS:
        sent = client.post(
            url.format(**ids), data={"csrf_token": token, "note": "x", "reason": "变质了"}
        )
        assert sent.status_code in (401, 403) or sent.url.path == "/login", url
    session.expire_all()
    assert session.get(Alert, ids["alert"]).resolved_at is None  # type: ignore[union-attr]
    assert session.get(DeadJob, ids["dead"]).redriven_at is None  # type: ignore[union-attr]
    assert made.lot.status != BatchStatus.RECALLED
    assert audit.entries(session) == []


def test_alerts_list_three_kinds_and_a_resolved_one_leaves_the_list(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    made, order = _world(session)
    alert = c.excursion(session, made.lot)
    c.expired_certificate(session, made.lot)
    c.waybill_to_check(session, order)
    registry.periodic_jobs()["trace.find_alerts"].body(session)  # what the worker runs
    _admin(client, session)
    listing = client.get("/township/alerts")
    assert listing.status_code == 200 and len(listing.content) <= 30_000
    for words in ("冷链温度超标", "证书已过期仍在售", "运单待人工核对", "冷链运输 #7"):
        assert words in listing.text
    assert f'href="/township/batches/{made.lot.id}"' in listing.text

    # An empty note: the message on the same page, nothing changes.
    empty = _post(
        client,
        f"/township/alerts/{alert.id}",
        f"/township/alerts/{alert.id}/resolve",
        {"note": " "},
    )
    assert empty.status_code == 422 and 'id="note-error"' in empty.text
    assert '<a href="#note">' in empty.text
    session.expire_all()
    assert session.get(Alert, alert.id).resolved_at is None  # type: ignore[union-attr]

    page = client.get(f"/township/alerts/{alert.id}")
    token = csrf_token(page.text)
    for _ in range(2):  # sent twice: resolved once
        done = client.post(
            f"/township/alerts/{alert.id}/resolve",
            data={"note": "已通知合作社，该批冻品已封存", "csrf_token": token},
        )
        assert done.status_code == 200
    assert "之前已处理" in done.text and "冷链运输 #7" not in done.text
    session.expire_all()
    stored = session.get(Alert, alert.id)
    assert stored is not None and stored.resolution_note == "已通知合作社，该批冻品已封存"
    entries = _audits(session, "alert.resolve")
    assert len(entries) == 1 and entries[0].after == {
        "resolved": True,
        "note": "已通知合作社，该批冻品已封存",
    }
    resolved = client.get("/township/alerts?show=resolved")
    assert "已通知合作社，该批冻品已封存" in resolved.text
    only = client.get("/township/alerts?kind=waybill_check")
    assert "的运单是否已在快递公司生成" in only.text and "的证书（" not in only.text
    # A second visit does not store the derived alerts again.
    client.get("/township/alerts")
    session.expire_all()
    assert session.query(Alert).count() == 3


def test_a_recall_stops_the_product_lists_the_orders_and_is_followed_to_its_end(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    made, order = _world(session)
    _admin(client, session)
    lot_url = f"/township/batches/{made.lot.id}"
    page = client.get(lot_url)
    assert page.status_code == 200 and "发起召回" in page.text and len(page.content) <= 30_000

    empty = _post(client, lot_url, f"{lot_url}/recall", {"reason": ""})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.text
    session.expire_all()
    assert session.query(Recall).count() == 0 and made.lot.status != BatchStatus.RECALLED

    check = _post(client, lot_url, f"{lot_url}/recall", {"reason": "抽检农残超标"})
    assert check.status_code == 200 and "确认召回并停止销售" in check.text
    assert order.number in check.text
    session.expire_all()
    assert session.query(Recall).count() == 0  # only the confirmation so far

    token = csrf_token(check.text)
    for _ in range(2):  # the confirmation sent twice: one recall
        started = client.post(
            f"{lot_url}/recall",
            data={"reason": "抽检农残超标", "confirm": "yes", "csrf_token": token},
        )
    assert started.status_code == 200 and "该批次已在召回中" in started.text
    assert (
        order.number in started.text
        and f"tel:{order.phone}" in started.text
        and len(started.content) <= 30_000
    )
    session.expire_all()
    recall = session.query(Recall).one()
    assert made.lot.status == BatchStatus.RECALLED
    assert not session.get(Sku, made.sku.id).is_active  # type: ignore[union-attr]
    buyer_cart = carts.get_cart(session, f.create_account(session), None, create=True)
    assert buyer_cart is not None
    with pytest.raises(NotFound):
        carts.set_quantity(session, buyer_cart.cart, made.sku.id, 1)  # type: ignore[arg-type]
    assert len(_audits(session, "recall.start")) == 1

    url = f"/township/recalls/{recall.id}"
    for _ in range(2):
        _post(client, url, f"{url}/contacted", {"order_id": str(order.id)})
    session.expire_all()
    assert session.query(RecallContact).filter_by(recall_id=recall.id).count() == 1
    assert len(_audits(session, "recall.contact")) == 1
    assert "已联系" in client.get(url).text
    # An order the recall never reached is refused.
    stranger = desk.order(session, desk.shop(session, name="别家合作社", lot="OTHER1").sku)
    session.commit()
    assert _post(client, url, f"{url}/contacted", {"order_id": str(stranger.id)}).status_code == 404

    confirm = client.get(f"{url}/close")
    assert "确认结束召回" in confirm.text and "1 / 1" in confirm.text
    token = csrf_token(confirm.text)
    for _ in range(2):
        closed = client.post(f"{url}/close", data={"csrf_token": token})
    assert "之前已结束" in closed.text
    session.expire_all()
    assert session.get(Recall, recall.id).closed_at is not None  # type: ignore[union-attr]
    assert len(_audits(session, "recall.close")) == 1
    assert "批次 TJC2026A" in client.get("/township/recalls?show=closed").text
    assert "没有进行中的召回" in client.get("/township/recalls").text


def test_dead_letters_are_listed_with_their_error_and_redriven_once(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    one = c.dead_job(session, "sms.send", "短信网关超时")
    two = c.dead_job(session, "search.sync", "索引服务拒绝连接")
    three = c.dead_job(session, "search.sync", "索引服务拒绝连接")
    session.add(OutboxJob(job="report.build", queue="slow"))
    _admin(client, session)
    page = client.get("/township/jobs")
    assert page.status_code == 200 and len(page.content) <= 30_000
    assert "短信网关超时" in page.text and "slow：1" in page.text and "死信（3）" in page.text
    token = csrf_token(page.text)
    for _ in range(2):
        again = client.post(f"/township/jobs/dead/{one.id}/redrive", data={"csrf_token": token})
    assert "之前已重新投递" in again.text
    client.post("/township/jobs/redrive", data={"csrf_token": token, "job": "search.sync"})
    nothing = client.post(
        "/township/jobs/redrive", data={"csrf_token": token, "job": "search.sync"}
    )
    assert "没有需要重新投递" in nothing.text
    session.expire_all()
    for dead in (one, two, three):
        row = session.get(OutboxJob, dead.outbox_id)
        assert row is not None and row.status == OutboxStatus.PENDING
    entries = _audits(session, "job.redrive")
    assert sorted(e.target_id for e in entries) == sorted([one.id, two.id, three.id])  # type: ignore[type-var]


def test_the_audit_page_lists_who_did_what_and_filters(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    admin = _admin(client, session)
    audit.record(
        session, admin, "alert.resolve", "alert", 4, "处理预警：温度", before={"resolved": False}
    )
    audit.record(session, admin, "recall.start", "batch", 9, "发起召回：批次 A1", after={"x": 1})
    session.commit()
    page = client.get("/township/audit")
    assert page.status_code == 200 and len(page.content) <= 30_000
    assert "处理预警：温度" in page.text and "发起召回：批次 A1" in page.text
    assert (admin.display_name or admin.phone) in page.text and "resolved=False" in page.text
    only = client.get("/township/audit?action=recall")
    assert "发起召回" in only.text and "处理预警：温度" not in only.text
    by_target = client.get("/township/audit?target=alert&target_id=4")
    assert "处理预警：温度" in by_target.text and "批次 A1" not in by_target.text
    assert 'href="/township/batches/9"' in page.text
    assert client.get("/township/audit?target_id=abc&action=nope").status_code == 200


def test_unknown_records_are_not_found_not_errors(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _admin(client, session)
    for url in (
        "/township/alerts/999",
        "/township/batches/999",
        "/township/recalls/999",
        "/township/recalls/999/close",
    ):
        assert client.get(url).status_code == 404, url
    token = csrf_token(client.get("/township/alerts").text)
    for url in (
        "/township/alerts/999/resolve",
        "/township/recalls/999/close",
        "/township/jobs/dead/999/redrive",
    ):
        assert client.post(url, data={"csrf_token": token, "note": "好"}).status_code == 404, url
