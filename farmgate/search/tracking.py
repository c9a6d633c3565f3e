"""The index follows the data: any committed change to what a product's document shows queues
one job to reflect it (``search.reflect``), through the outbox, in the same transaction.

One listener on every session (registered by ``farmgate.bootstrap.install()``) sees every path
that changes a product (the cooperative's desk, the CSV importer, the admin's review, a recall
stopping sales, a suspended cooperative), so no caller has to remember.
Stock changed by bulk UPDATEs (checkout's reservation) is reported by its caller with
``touch``, only when it matters to the index (a SKU sold out or back).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.db import listen_on_sessions, listening_on_sessions
from farmgate.models import Certification, Cooperative, Product, Sku
from farmgate.search.tasks import reflect

PENDING = "search_pending"
SKU_FIELDS = ("price_fen", "stock", "is_active", "spec", "product_id")
COOP_FIELDS = ("status", "name")


def touch(session: Session, product_ids: Iterable[int | None]) -> None:
    """Say that these products' documents changed in ways the ORM cannot see."""
    session.info.setdefault(PENDING, set()).update(i for i in product_ids if i is not None)


def _changed(session: Session, obj: Any, fields: Iterable[str]) -> bool:
    from sqlalchemy import inspect

    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    # Changes are read before the flush (history is gone after it); new rows get their ids in
    # the flush, so they are remembered as objects and resolved after it.
    ids: set[int] = set()
    new: list[Any] = []
    coops: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Product):
            if obj.id is None:
                new.append(obj)
            elif obj in session.deleted or session.is_modified(obj):
                ids.add(obj.id)
        elif isinstance(obj, Sku):
            if obj in session.new or obj in session.deleted or _changed(session, obj, SKU_FIELDS):
                ids.add(obj.product_id)
        elif isinstance(obj, Cooperative):
            if obj.id is not None and _changed(session, obj, COOP_FIELDS):
                coops.add(obj.id)
        elif isinstance(obj, Certification) and obj.batch_id is None:
            if obj.product_id is not None:
                ids.add(obj.product_id)
            elif obj.cooperative_id is not None:
                coops.add(obj.cooperative_id)
    if ids or new or coops:
        pending = session.info.setdefault(PENDING, set())
        pending.update(ids)
        session.info.setdefault(PENDING + "_new", []).extend(new)
        session.info.setdefault(PENDING + "_coops", set()).update(coops)


def _before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: see its changes now
    ids: set[int] = session.info.pop(PENDING, set())
    ids.update(p.id for p in session.info.pop(PENDING + "_new", []) if p.id is not None)
    coops = session.info.pop(PENDING + "_coops", set())
    if coops:
        ids.update(
            session.scalars(select(col(Product.id)).where(col(Product.cooperative_id).in_(coops)))
        )
    if ids:
        reflect.enqueue(session, {"product_ids": sorted(ids)})


def _after_rollback(session: Session) -> None:
    for key in (PENDING, PENDING + "_new", PENDING + "_coops"):
        session.info.pop(key, None)


LISTENERS = (
    ("before_flush", _before_flush),
    ("before_commit", _before_commit),
    ("after_rollback", _after_rollback),
)


def register() -> None:
    """Listen on every session (idempotent); called by ``farmgate.bootstrap.install()``."""
    listen_on_sessions(LISTENERS)


def registered() -> bool:
    return listening_on_sessions(LISTENERS)
