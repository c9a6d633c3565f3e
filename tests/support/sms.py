"""What the SMS tests share besides the simulator fixtures (tests/conftest.py): running the
send jobs, ageing codes, a guest order, and the storefront's code flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from farmgate.db import utcnow
from farmgate.jobs import runner
from farmgate.models import DeliveryMethod, Order, OutboxJob, SmsCode
from tests.support.web import csrf_token

_numbers = iter(range(10_000, 100_000))


def run_sms_jobs(session: Session) -> list[str]:
    """Run every waiting ``sms.send_code`` row now (a retry's back-off is skipped)."""
    session.commit()
    session.execute(
        update(OutboxJob)
        .where(OutboxJob.job == "sms.send_code", OutboxJob.status.in_(["pending", "retrying"]))
        .values(available_at=utcnow())
    )
    session.commit()
    rows = (
        session.query(OutboxJob)
        .filter(OutboxJob.job == "sms.send_code", OutboxJob.status.in_(["pending", "retrying"]))
        .order_by(OutboxJob.id)
        .all()
    )
    outcomes = [str(runner.execute(r.id).outcome) for r in rows]
    session.expire_all()
    return outcomes


def age_codes(session: Session, phone: str, seconds: float) -> None:
    """Move every code of ``phone`` ``seconds`` into the past (made and expiring earlier)."""
    delta = timedelta(seconds=seconds)
    session.commit()
    for row in session.query(SmsCode).filter_by(phone=phone).all():
        row.created_at -= delta
        row.expires_at -= delta
    session.commit()


def guest_order(session: Session, phone: str) -> Order:
    """An order placed without an account, with ``phone`` as its contact number."""
    order = Order(
        number=f"SMS{next(_numbers)}",
        recipient="王五",
        phone=phone,
        province="湖南省",
        city="怀化市",
        county="辰溪县",
        township="谭家场乡",
        address_detail="1组1号",
        delivery_method=DeliveryMethod.COURIER,
        items_fen=1000,
        shipping_fen=0,
        total_fen=1000,
        pay_by=utcnow() + timedelta(minutes=30),
    )
    session.add(order)
    session.commit()
    return order


def ask_code_on_page(client: Any, phone: str, path: str = "/login/code") -> Any:
    """Ask for a code through the storefront's form, as a browser would."""
    start = "/password/reset" if path.startswith("/password") else "/login/phone"
    token = csrf_token(client.get(start).text)
    return client.post(path, data={"phone": phone, "csrf_token": token}, follow_redirects=False)


def api_code(client: Any, session: Session, sim: Any, phone: str, purpose: str = "login") -> str:
    """Ask for a code through the API, send it, and read it from the simulator's inbox."""
    answer = client.post("/api/v1/auth/codes", json={"phone": phone, "purpose": purpose})
    assert answer.status_code == 202, answer.text
    assert run_sms_jobs(session) == ["done"]
    code = sim.latest_code(phone)
    assert code is not None
    return str(code)
