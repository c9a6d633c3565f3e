"""Catalogue rules, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from farmgate.catalog import service
from farmgate.catalog.schemas import ProductUpdate, SkuCreate, SkuUpdate
from farmgate.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from farmgate.models import CooperativeStatus, ProductStatus, Role, Sku
from tests.support import factories as f


@pytest.fixture
def world(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    village = f.first_village(session, township)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    admin = f.create_account(session, role=Role.ADMIN)
    return township, village, coop, staff, admin


def test_product_lifecycle_draft_review_publish_delist(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    _, village, _, staff, admin = world
    product = f.create_product(session, staff, village, published=False)
    assert product.status == ProductStatus.DRAFT

    service.submit_for_review(session, staff, product.id)
    assert product.status == ProductStatus.PENDING_REVIEW
    assert service.review_queue(session, admin) == [product]

    service.approve(session, admin, product.id)
    assert product.status == ProductStatus.PUBLISHED
    assert product.published_at is not None
    assert service.get_public(session, product.id) is product

    service.delist(session, staff, product.id)
    assert product.status == ProductStatus.DELISTED
    with pytest.raises(NotFound):
        service.get_public(session, product.id)


def test_invalid_transitions_are_errors(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    _, village, _, staff, admin = world
    product = f.create_product(session, staff, village, published=False)
    with pytest.raises(InvalidTransition):
        service.approve(session, admin, product.id)  # a draft was never submitted
    with pytest.raises(InvalidTransition):
        service.delist(session, staff, product.id)
    service.submit_for_review(session, staff, product.id)
    with pytest.raises(InvalidTransition):
        service.submit_for_review(session, staff, product.id)
    assert product.status == ProductStatus.PENDING_REVIEW


def test_only_admin_reviews_and_rejection_needs_a_reason(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    _, village, _, staff, admin = world
    product = f.create_product(session, staff, village, published=False)
    service.submit_for_review(session, staff, product.id)
    with pytest.raises(PermissionDenied):
        service.approve(session, staff, product.id)
    with pytest.raises(ValidationFailed):
        service.reject(session, admin, product.id, "  ")
    service.reject(session, admin, product.id, "图片不清晰")
    assert product.status == ProductStatus.DRAFT
    assert product.review_note == "图片不清晰"


def test_submit_needs_an_approved_cooperative_and_an_active_sku(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    township, village, _, _, _ = world
    pending = f.create_cooperative(session, township, status=CooperativeStatus.PENDING)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=pending)
    product = f.create_product(session, staff, village, published=False)
    with pytest.raises(PermissionDenied):
        service.submit_for_review(session, staff, product.id)

    pending.status = CooperativeStatus.APPROVED
    empty = f.create_product(session, staff, village, published=False, name="空商品", skus=[])
    with pytest.raises(ValidationFailed):
        service.submit_for_review(session, staff, empty.id)


def test_editing_a_published_product_sends_it_back_to_review(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    _, village, _, staff, _ = world
    product = f.create_product(session, staff, village)
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    # Price and stock changes go live at once ...
    service.update_sku(session, staff, product.id, sku.id, SkuUpdate(price_fen=3600, stock=5))
    assert product.status == ProductStatus.PUBLISHED
    assert (sku.price_fen, sku.stock) == (3600, 5)
    # ... a new description has to be reviewed again.
    service.update_product(session, staff, product.id, ProductUpdate(description="新的描述"))
    assert product.status == ProductStatus.PENDING_REVIEW


def test_public_listing_hides_drafts_and_suspended_cooperatives(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    township, village, _coop, staff, _ = world
    live = f.create_product(session, staff, village, name="上架商品")
    f.create_product(session, staff, village, published=False, name="草稿商品")
    other = f.create_cooperative(session, township, name="另一个合作社")
    other_staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=other)
    f.create_product(session, other_staff, village, name="被暂停合作社的商品")
    other.status = CooperativeStatus.SUSPENDED
    session.flush()

    items, total = service.list_public(session, service.CatalogFilters())
    assert [i.id for i in items] == [live.id]
    assert total == 1


def test_filters_and_price_sorting(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    _township, village, _, staff, _ = world
    cheap = f.create_product(
        session,
        staff,
        village,
        name="便宜",
        skus=[SkuCreate(spec="a", price_fen=500, stock=0, weight_g=10)],
    )
    dear = f.create_product(
        session,
        staff,
        village,
        name="贵",
        category="grain_oil",
        skus=[
            SkuCreate(spec="a", price_fen=9000, stock=3, weight_g=10),
            SkuCreate(spec="b", price_fen=12000, stock=1, weight_g=10),
        ],
    )
    items, _ = service.list_public(session, service.CatalogFilters(sort="price_asc"))
    assert [i.id for i in items] == [cheap.id, dear.id]
    assert (items[1].price_min_fen, items[1].price_max_fen) == (9000, 12000)
    items, _ = service.list_public(session, service.CatalogFilters(price_min_fen=10000))
    assert [i.id for i in items] == [dear.id]
    items, _ = service.list_public(session, service.CatalogFilters(in_stock=True))
    assert [i.id for i in items] == [dear.id]
    items, _ = service.list_public(session, service.CatalogFilters(category="dried_goods"))
    assert [i.id for i in items] == [cheap.id]


def test_database_refuses_negative_stock_and_free_items(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    _, village, _, staff, _ = world
    product = f.create_product(session, staff, village)
    session.add(Sku(product_id=product.id, spec="bad", price_fen=100, stock=-1, weight_g=10))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_duplicate_spec_is_refused(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    _, village, _, staff, _ = world
    product = f.create_product(session, staff, village)
    with pytest.raises(Conflict):
        service.add_sku(
            session, staff, product.id, SkuCreate(spec="500g", price_fen=1, stock=1, weight_g=1)
        )
