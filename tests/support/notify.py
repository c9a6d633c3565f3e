"""What the notification tests share: the notifications and jobs of an order, running them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate.jobs import runner
from farmgate.models import Notification, Order, OrderLine, OutboxJob, Parcel


def notes(session: Session, order: Order) -> list[Notification]:
    session.flush()
    return session.query(Notification).filter_by(order_id=order.id).order_by(Notification.id).all()


def kinds(session: Session, order: Order) -> list[str]:
    return [str(n.kind) for n in notes(session, order)]


def send_jobs(session: Session, note: Notification) -> list[OutboxJob]:
    session.flush()
    return session.query(OutboxJob).filter_by(key=f"notification:{note.id}").all()


def run_send(session: Session, note: Notification) -> list[str]:
    """Run the waiting ``notify.send`` rows of ``note`` now (a retry's back-off skipped)."""
    session.flush()
    outcomes = [
        str(runner.execute(job.id).outcome)  # type: ignore[arg-type]
        for job in send_jobs(session, note)
        if job.status in ("pending", "retrying")
    ]
    session.expire_all()
    return outcomes


def packed_from(session: Session, order: Order, lot_id: int) -> None:
    """Say every line of ``order`` was packed from the lot ``lot_id``."""
    for line in session.query(OrderLine).filter_by(order_id=order.id):
        line.batch_id = lot_id
        session.add(line)
    session.flush()


def parcel_of(session: Session, order: Order) -> Parcel:
    return session.query(Parcel).filter_by(order_id=order.id).one()
