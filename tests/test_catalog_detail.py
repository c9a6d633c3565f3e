"""The public product detail (API and page) read in one statement, on both databases: it
answers what the ORM-built detail answers, SKUs cheapest first and photos in their order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from farmgate.api.catalog import _DETAIL
from farmgate.catalog import views
from farmgate.db import utcnow
from farmgate.errors import NotFound
from farmgate.models import Account, Product, ProductPhoto, ProductStatus, Role, Sku
from farmgate.trace import service as trace
from farmgate.trace.schemas import BatchIn, HarvestIn
from tests.support import factories as f


@pytest.fixture
def staff_and_product(session: Session) -> tuple[Account, Product]:
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    return staff, f.create_product(session, staff, f.first_village(session, township))


def _add_sku(session: Session, product: Product, spec: str, price: int, **kw: object) -> Sku:
    sku = Sku(product_id=product.id, spec=spec, price_fen=price, weight_g=500, **kw)  # type: ignore[arg-type]
    session.add(sku)
    session.flush()
    return sku


def _add_photo(session: Session, product: Product, position: int, key: str) -> ProductPhoto:
    photo = ProductPhoto(
        product_id=product.id,  # type: ignore[arg-type]
        position=position,
        storage_key=f"products/{product.id}/{key}",
        width=1600,
        height=1200,
        widths="320,640,1280",
        created_at=utcnow(),
    )
    session.add(photo)
    session.flush()
    return photo


def _same_as_orm(session: Session, product: Product) -> views.ProductDetail:
    """The one-statement detail, checked against the ORM-built one (JSON bytes too)."""
    detail = views.public_detail(session, product.id)  # type: ignore[arg-type]
    reference = views.product_detail(session, product)
    assert detail.model_dump() == reference.model_dump()
    assert _DETAIL.dump_json(detail) == _DETAIL.dump_json(reference)
    return detail


def test_skus_cheapest_first_photos_in_order_inactive_skus_left_out(
    session: Session, staff_and_product: tuple[Account, Product]
) -> None:
    _, product = staff_and_product  # its first SKU: "500g" at 3800
    second = _add_sku(session, product, "1kg", 2000, stock=3)
    third = _add_sku(session, product, "1kg礼盒", 2000, stock=0)  # same price: by id
    _add_sku(session, product, "试吃", 100, stock=9, is_active=False)
    back = _add_photo(session, product, 2, "back")
    front = _add_photo(session, product, 0, "front")
    side = _add_photo(session, product, 0, "side")  # same position: by id

    detail = _same_as_orm(session, product)

    assert [s.id for s in detail.skus][:2] == [second.id, third.id]
    assert [s.spec for s in detail.skus] == ["1kg", "1kg礼盒", "500g"]
    assert (detail.price_min_fen, detail.price_max_fen, detail.in_stock) == (2000, 3800, True)
    assert [p.id for p in detail.photos] == [front.id, side.id, back.id]
    assert detail.cover is not None and detail.cover.id == front.id
    assert detail.cover.urls[640] == f"/media/products/{product.id}/front-640.webp"


def test_no_active_sku_and_no_photo(
    session: Session, staff_and_product: tuple[Account, Product]
) -> None:
    _, product = staff_and_product
    for sku in session.query(Sku).filter_by(product_id=product.id):
        sku.is_active = False
    session.flush()

    detail = _same_as_orm(session, product)

    assert (detail.skus, detail.photos, detail.cover) == ([], [], None)
    assert (detail.price_min_fen, detail.price_max_fen, detail.in_stock) == (None, None, False)


def test_sold_out_and_not_on_sale(
    session: Session, staff_and_product: tuple[Account, Product]
) -> None:
    _, product = staff_and_product
    session.query(Sku).filter_by(product_id=product.id).update({"stock": 0})
    session.flush()
    session.expire_all()
    assert _same_as_orm(session, product).in_stock is False

    product.status = ProductStatus.DELISTED
    session.flush()
    with pytest.raises(NotFound):
        views.public_detail(session, product.id)  # type: ignore[arg-type]


def test_the_page_shows_the_current_lot_and_the_skus(
    client, session: Session, staff_and_product: tuple[Account, Product]
) -> None:  # type: ignore[no-untyped-def]
    staff, product = staff_and_product
    _add_sku(session, product, "1kg", 2000, stock=0)
    lot = trace.create_batch(
        session,
        staff,
        BatchIn(product_id=product.id, lot_code="LJ-07", quantity=Decimal(50), unit="斤"),  # type: ignore[arg-type]
    )
    trace.record_harvest(session, staff, lot, HarvestIn(harvest_date=date(2026, 9, 3)))
    session.commit()

    page = client.get(f"/products/{product.id}").text

    assert f'href="/01/{lot.gtin}/10/LJ-07"' in page
    assert "查看溯源：批次 LJ-07（2026-09-03 采收）" in page
    rows = page.index("<td>1kg</td><td>¥20.00</td><td>已售罄</td>")
    assert rows < page.index("<td>500g</td><td>¥38.00</td><td>10 斤</td>")
