"""Media files follow the rows that name them: written files go if their transaction does not
commit, dropped files go once it does, and the sweep removes old files no row names (and only
those), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from PIL import Image
from sqlalchemy import JSON, String
from sqlalchemy.orm import Session
from sqlmodel import SQLModel
from typer.testing import CliRunner

from farmgate.catalog import photos as album
from farmgate.cli import app
from farmgate.coldchain import shipments
from farmgate.db import utcnow
from farmgate.media import sweep
from farmgate.media.photos import registered
from farmgate.media.storage import get_storage
from farmgate.models import (
    Batch,
    ColdShipment,
    Fulfilment,
    Handoff,
    Inspection,
    OrderLine,
    Payout,
    ProductReview,
    RefundRequest,
    Role,
    Sku,
)
from farmgate.orders import cart as carts
from farmgate.orders import checkout
from farmgate.orders.schemas import CheckoutIn
from farmgate.trace import inspections
from tests.support import factories as f
from tests.support.factories import ADDRESS

LATER = timedelta(days=2)  # the sweep run this far ahead: every file counts as old


def _jpeg(color: tuple[int, int, int] = (10, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(out, "JPEG")
    return out.getvalue()


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _put(*keys: str, age: timedelta = timedelta(0)) -> None:
    """Files of one byte, last written ``age`` ago."""
    then = (utcnow() - age).timestamp()
    for key in keys:
        get_storage().save(key, b"x")
        os.utime(get_storage().root / key, (then, then))  # type: ignore[attr-defined]


def _staff_and_product(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    return coop, staff, product


def _batch(session: Session, coop_id: int, product_id: int, **fields: object) -> Batch:
    batch = Batch(
        cooperative_id=coop_id,
        product_id=product_id,
        lot_code="A1",
        gtin="06901234567892",
        quantity=Decimal(10),
        unit="kg",
        **fields,
    )
    session.add(batch)
    session.flush()
    return batch


def test_the_listeners_are_installed() -> None:
    assert registered()  # by farmgate.bootstrap.install(), as the app and the workers have them


def test_photos_of_a_transaction_that_does_not_commit_are_deleted(
    session: Session, media_dir: Path
) -> None:
    _coop, staff, product = _staff_and_product(session)
    session.commit()
    album.add_photos(session, staff, product.id, [("a.jpg", _jpeg())])
    assert len(_files(media_dir)) == 2  # 320 and 640 (400 px wide)
    session.rollback()
    assert _files(media_dir) == set()

    # Written inside a savepoint that was released: still the outer transaction's to commit.
    with session.begin_nested():
        album.add_photos(session, staff, product.id, [("a.jpg", _jpeg())])
    assert len(_files(media_dir)) == 2
    session.rollback()
    assert _files(media_dir) == set()

    album.add_photos(session, staff, product.id, [("a.jpg", _jpeg())])
    session.close()  # abandoned: no commit, no rollback called
    assert _files(media_dir) == set()

    album.add_photos(session, staff, product.id, [("a.jpg", _jpeg())])
    session.commit()
    kept = _files(media_dir)
    assert len(kept) == 2
    session.close()
    assert _files(media_dir) == kept  # committed: the files are the row's now


def test_a_removed_photos_files_go_only_once_the_removal_commits(
    session: Session, media_dir: Path
) -> None:
    _coop, staff, product = _staff_and_product(session)
    a, b = album.add_photos(session, staff, product.id, [("a.jpg", _jpeg())] * 2)
    session.commit()
    a_files = {f"{a.storage_key}-{w}.webp" for w in (320, 640)}
    assert a_files < _files(media_dir)

    album.remove_photo(session, staff, product.id, a.id)  # type: ignore[arg-type]
    assert a_files < _files(media_dir)  # not yet committed
    session.rollback()
    assert a_files < _files(media_dir)  # the row is back, and so are its files
    assert [p.id for p in album.album(session, product.id)] == [a.id, b.id]

    album.remove_photo(session, staff, product.id, a.id)  # type: ignore[arg-type]
    session.commit()
    assert not a_files & _files(media_dir)
    assert len(_files(media_dir)) == 2  # b's


def test_a_replaced_lab_report_or_handoff_photo_leaves_no_file_behind(
    session: Session, media_dir: Path
) -> None:
    coop, staff, product = _staff_and_product(session)
    batch = _batch(session, coop.id, product.id)
    report = Inspection(
        batch_id=batch.id,  # type: ignore[arg-type]
        lab="县检测站",
        report_no="R1",
        inspected_on=date(2026, 12, 1),
        passed=True,
    )
    shipment = ColdShipment(
        batch_id=batch.id,  # type: ignore[arg-type]
        cooperative_id=coop.id,  # type: ignore[arg-type]
        storage_class="chilled",
    )
    session.add_all([report, shipment])
    session.flush()
    handoff = Handoff(
        shipment_id=shipment.id,  # type: ignore[arg-type]
        from_party="合作社",
        to_party="冷链车",
        at=utcnow(),
        recorded_by=staff.id,
    )
    session.add(handoff)
    session.commit()

    inspections.attach_report(session, batch, report.id, _jpeg())  # type: ignore[arg-type]
    session.commit()
    # Only the sharpest copy of a photographed report is kept: nothing shows another.
    assert _files(media_dir) == {report.report_file}
    assert re.fullmatch(rf"inspections/{report.id}/[0-9a-f]{{16}}-1280\.webp", report.report_file)
    first = report.report_file
    inspections.attach_report(session, batch, report.id, b"%PDF-1.4 the lab's scan")  # type: ignore[arg-type]
    session.commit()
    assert _files(media_dir) == {report.report_file} and report.report_file != first

    shipments.add_handoff_photo(session, staff, shipment, handoff.id, _jpeg())  # type: ignore[arg-type]
    session.commit()
    first_photo = handoff.photo
    shipments.add_handoff_photo(session, staff, shipment, handoff.id, _jpeg((200, 0, 0)))  # type: ignore[arg-type]
    session.rollback()  # the new photo never committed: the old one stays, the new one goes
    assert {k for k in _files(media_dir) if k.startswith("handoffs/")} == {
        f"{first_photo}-{w}.webp" for w in (320, 640)
    }
    shipments.add_handoff_photo(session, staff, shipment, handoff.id, _jpeg((200, 0, 0)))  # type: ignore[arg-type]
    session.commit()
    assert handoff.photo != first_photo
    assert {k for k in _files(media_dir) if k.startswith("handoffs/")} == {
        f"{handoff.photo}-{w}.webp" for w in (320, 640)
    }


def test_every_column_that_names_a_stored_file_is_read_by_the_sweep() -> None:
    """A new column holding media keys must be added to ``sweep.SOURCES``, or the sweep would
    delete its files."""
    naming = re.compile(r"photo|file|_key$")
    columns = {
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if naming.search(column.name)
        # text or JSON (sqlmodel's AutoString wraps String), not the private vouchers' bytes
        and isinstance(getattr(column.type, "impl", column.type), String | JSON)
    }
    swept = {(c.expression.table.name, c.expression.name) for c, _kind in sweep.SOURCES}
    assert columns == swept


def test_the_sweep_removes_old_files_that_no_row_names_and_nothing_else(
    session: Session, media_dir: Path
) -> None:
    coop, staff, product = _staff_and_product(session)
    photo = album.add_photos(session, staff, product.id, [("a.jpg", _jpeg())])[0]
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    buyer = f.create_account(session)
    ref = carts.get_cart(session, buyer, None, create=True)
    assert ref is not None
    carts.set_quantity(session, ref.cart, sku.id, 1)  # type: ignore[arg-type]
    order = checkout.checkout(session, ref.cart, CheckoutIn(**ADDRESS), buyer)
    line = session.query(OrderLine).filter_by(order_id=order.id).one()
    part = session.query(Fulfilment).filter_by(order_id=order.id).one()
    entry = {"key": "batches/1/b", "width": 10, "height": 10, "widths": [320]}
    batch = _batch(session, coop.id, product.id, photos=[entry])
    shipment = ColdShipment(batch_id=batch.id, cooperative_id=coop.id, storage_class="chilled")  # type: ignore[arg-type]
    session.add(shipment)
    session.flush()
    session.add_all(
        [
            Handoff(
                shipment_id=shipment.id,  # type: ignore[arg-type]
                from_party="a",
                to_party="b",
                at=utcnow(),
                photo="handoffs/1/h",
            ),
            Inspection(
                batch_id=batch.id,  # type: ignore[arg-type]
                lab="县检测站",
                report_no="R1",
                inspected_on=date(2026, 12, 1),
                passed=True,
                report_file="inspections/1/r.pdf",
            ),
            Payout(cooperative_id=coop.id, amount_fen=100, voucher_key="vouchers/v.webp"),  # type: ignore[arg-type]
            ProductReview(
                order_line_id=line.id,  # type: ignore[arg-type]
                order_id=order.id,  # type: ignore[arg-type]
                product_id=product.id,  # type: ignore[arg-type]
                account_id=buyer.id,  # type: ignore[arg-type]
                stars=5,
                photos=[{"key": "reviews/1/r", "width": 10, "height": 10, "widths": [320]}],
            ),
            RefundRequest(
                order_id=order.id,  # type: ignore[arg-type]
                fulfilment_id=part.id,  # type: ignore[arg-type]
                cooperative_id=coop.id,  # type: ignore[arg-type]
                photos=["after-sales/1/s"],
            ),
        ]
    )
    session.commit()
    named = {
        *(f"{photo.storage_key}-{w}.webp" for w in (320, 640)),
        "batches/1/b-320.webp",
        "batches/1/b-1280.webp",  # a variant the row's widths do not list: still its photo's
        "handoffs/1/h-320.webp",
        "inspections/1/r.pdf",
        "vouchers/v.webp",
        "reviews/1/r-320.webp",
        "after-sales/1/s-640.webp",
    }
    unnamed = {
        "products/9/gone-320.webp",  # a photo whose row was deleted
        "inspections/1/r-320.webp",  # a whole-file name does not name its "variants"
        "handoffs/1/h.webp",
        "reviews/1/r-320.webp.bak",
        "products/1/.upload-abc123",  # a write the process died in
    }
    not_ours = {".gitkeep", ".restore-x/products/1/a-320.webp"}  # infra/restore.sh's staging
    _put(*(named - _files(media_dir)), *unnamed, *not_ours)
    assert _files(media_dir) == named | unnamed | not_ours

    # Young files are kept whatever names them: an upload not yet committed is named by nothing.
    fresh = sweep.sweep(session)
    assert (fresh.young, fresh.removed, fresh.named) == (5, 0, len(named))

    dry = sweep.sweep(session, now=utcnow() + LATER, dry_run=True)
    assert set(dry.unnamed) == unnamed and dry.removed == 0 and dry.unnamed_bytes == 5
    assert _files(media_dir) == named | unnamed | not_ours

    done = sweep.sweep(session, now=utcnow() + LATER)
    assert done.removed == 5 and _files(media_dir) == named | not_ours
    assert sweep.sweep(session, now=utcnow() + LATER).removed == 0


def test_the_sweep_refuses_to_remove_most_files_unless_forced(
    session: Session, media_dir: Path
) -> None:
    """A media directory pointed at the wrong (or an empty) database would lose every photo."""
    _staff_and_product(session)
    session.commit()
    strays = [f"products/{n}/p-320.webp" for n in range(30)]
    _put(*strays, age=LATER)
    refused = sweep.sweep(session)
    assert refused.refused and refused.removed == 0 and len(refused.unnamed) == 30
    assert len(_files(media_dir)) == 30

    result = CliRunner().invoke(app, ["media", "sweep"])
    assert result.exit_code == 1 and "Refused" in result.output, result.output
    assert len(_files(media_dir)) == 30

    result = CliRunner().invoke(app, ["media", "sweep", "--force"])
    assert result.exit_code == 0 and "removed 30" in result.output, result.output
    assert _files(media_dir) == set()
