"""What the logistics tests share besides the simulator fixtures (tests/conftest.py): a paid
order and a way to run the outbox jobs waiting for a job name."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.jobs import runner
from farmgate.logistics.simulator import CourierSimulatorServer
from farmgate.models import Order, OutboxJob, Role, Sku, Township
from farmgate.orders import service as orders
from tests.support import factories as f
from tests.support.factories import ADDRESS


def paid_order(client, session: Session, method: str = "courier") -> Order:  # type: ignore[no-untyped-def]
    township = session.query(Township).first() or f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    buyer = f.auth_headers(session, f.create_account(session))
    client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 2}, headers=buyer)
    data = client.post(
        "/api/v1/checkout", json={**ADDRESS, "delivery_method": method}, headers=buyer
    ).json()
    order = session.get(Order, data["id"])
    orders.mark_paid(session, order)
    session.commit()
    return order


def run_jobs(session: Session, job: str) -> list[str]:
    session.expire_all()
    rows = (
        session.query(OutboxJob)
        .filter(OutboxJob.job == job, OutboxJob.status.in_(["pending", "retrying"]))
        .all()
    )
    return [runner.execute(r.id).outcome for r in rows]


def deliver_push(client, sim: CourierSimulatorServer, index: int = -1):  # type: ignore[no-untyped-def]
    push = sim.state.deliveries[index]
    headers = {
        "Content-Type": push.headers.get("content-type", "application/x-www-form-urlencoded")
    }
    return client.post("/api/v1/logistics/kuaidi100/push", content=push.body, headers=headers)
