"""The index follows the data through the outbox, on SQLite and PostgreSQL.

A product published, edited, delisted, sold out or belonging to a suspended cooperative is
reflected once the ``search.reflect`` job has run; drafts and delisted products never appear;
another process (a second in-memory index over the same database) catches up; facet counts
agree with SQL over the same data; ``farmgate search reindex`` rebuilds from the database.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from farmgate.catalog import service as catalog
from farmgate.catalog.schemas import SkuUpdate
from farmgate.cooperatives import service as cooperatives
from farmgate.models import (
    Cooperative,
    CooperativeStatus,
    OutboxJob,
    Product,
    ProductStatus,
    Role,
    SearchEntry,
    Sku,
    Township,
    Village,
)
from farmgate.search import service as search
from farmgate.search import store
from farmgate.search.backend import SearchFilters, SearchQuery
from tests.support import factories as f
from tests.support.logistics import run_jobs


def _ids(client, q: str, **params) -> list[int]:  # type: ignore[no-untyped-def]
    answer = client.get("/api/v1/search", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return [h["product"]["id"] for h in answer.json()["hits"]]


def _setup(session: Session):  # type: ignore[no-untyped-def]
    township = session.query(Township).first() or f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    admin = f.create_account(session, role=Role.ADMIN)
    return township, coop, staff, admin


def _reflect(session: Session) -> None:
    session.commit()
    assert set(run_jobs(session, "search.reflect")) <= {"done"}


def test_published_edited_delisted_and_drafts(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, _, staff, admin = _setup(session)
    village = f.first_village(session, township)
    chilli = f.create_product(session, staff, village, name="谭家场干红辣椒")
    draft = f.create_product(session, staff, village, name="剁辣椒", published=False)
    _reflect(session)
    assert session.query(OutboxJob).filter_by(job="search.reflect").count() >= 1
    assert _ids(client, "辣椒") == [chilli.id]  # the draft is not there
    assert _ids(client, "lajiao") == [chilli.id]

    catalog.update_product(session, admin, chilli.id, catalog.ProductUpdate(name="高山干辣椒"))  # type: ignore[attr-defined]
    _reflect(session)
    assert _ids(client, "高山") == [chilli.id] and _ids(client, "谭家场干红") == []

    catalog.delist(session, staff, chilli.id)
    _reflect(session)
    assert _ids(client, "辣椒") == []
    entry = session.get(SearchEntry, chilli.id)
    assert entry is not None and entry.body is None  # a tombstone, so other processes drop it
    assert session.get(Product, draft.id).status == ProductStatus.DRAFT


def test_sold_out_and_suspended(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, coop, staff, admin = _setup(session)
    village = f.first_village(session, township)
    rice = f.create_product(session, staff, village, name="稻花香大米", category="grain_oil")
    _reflect(session)
    assert _ids(client, "大米", in_stock="true") == [rice.id]
    sku = session.query(Sku).filter_by(product_id=rice.id).one()
    # Sold out through checkout's bulk UPDATE (not the ORM): checkout reports it.
    buyer = f.auth_headers(session, f.create_account(session))
    client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 10}, headers=buyer)
    from tests.support.factories import ADDRESS

    placed = client.post("/api/v1/checkout", json=ADDRESS, headers=buyer)
    assert placed.status_code == 201, placed.text
    _reflect(session)
    assert _ids(client, "大米", in_stock="true") == []
    assert _ids(client, "大米", in_stock="false") == [rice.id]
    # Stock back through the desk (the ORM).
    catalog.update_sku(session, staff, rice.id, sku.id, SkuUpdate(stock=5))
    _reflect(session)
    assert _ids(client, "大米", in_stock="true") == [rice.id]

    cooperatives.set_status(session, admin, coop.id, CooperativeStatus.SUSPENDED)
    _reflect(session)
    assert _ids(client, "大米") == []


def test_another_process_catches_up_and_reindex_rebuilds(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township, _, staff, _ = _setup(session)
    village = f.first_village(session, township)
    oil = f.create_product(session, staff, village, name="压榨山茶油", category="grain_oil")
    _reflect(session)
    other = store.EmbeddedStore()  # as in another worker process
    assert other.catch_up(session, force=True) == 1
    found = other.index.search(SearchQuery(q="茶油"))
    assert found.ids == [oil.id]
    fish = f.create_product(session, staff, village, name="辰溪稻花鱼", category="aquatic")
    _reflect(session)
    assert other.catch_up(session, force=True) == 1  # only what changed
    assert other.index.search(SearchQuery(q="稻花鱼")).ids == [fish.id]
    assert other.catch_up(session, force=True) == 0

    # An entry lost behind the app's back: the rebuild finds every published product again.
    session.query(SearchEntry).delete()
    session.commit()
    assert search.reindex(session) == 2
    session.commit()
    fresh = store.EmbeddedStore()
    fresh.catch_up(session, force=True)
    assert sorted(fresh.index.search(SearchQuery()).ids) == sorted([oil.id, fish.id])


def test_reindex_works_in_chunks(client, session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Reindexing sends bounded batches: PostgreSQL refuses a statement with more than 65,535
    bind parameters, which one IN list of every product id passed at that size."""
    township, _, staff, _ = _setup(session)
    village = f.first_village(session, township)
    made = [
        f.create_product(session, staff, village, name=f"示例干辣椒{n}号", category="grain_oil")
        for n in range(5)
    ]
    _reflect(session)
    session.query(SearchEntry).delete()
    session.commit()
    monkeypatch.setattr(search, "REINDEX_CHUNK", 2)
    assert search.reindex(session) == 5
    session.commit()
    fresh = store.EmbeddedStore()
    fresh.catch_up(session, force=True)
    assert sorted(fresh.index.search(SearchQuery()).ids) == sorted(p.id for p in made)
    versions = session.scalars(select(SearchEntry.version).distinct()).all()
    assert len(versions) == 3  # 2 + 2 + 1


def test_facets_agree_with_sql(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    township = f.create_township(session, villages=("谭家场", "高坪", "黄溪口"))
    villages = session.query(Village).filter_by(township_id=township.id).order_by(Village.id).all()
    assert len(villages) == 3
    coops = []
    for name in ("甲合作社", "乙合作社"):
        coop = f.create_cooperative(session, township, name=name)
        coops.append((coop, f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)))
    kinds = [
        ("干辣椒", "dried_goods", "ambient"),
        ("腊肉", "meat_eggs", "ambient"),
        ("稻花鱼", "aquatic", "chilled"),
        ("茶油", "grain_oil", "ambient"),
    ]
    for i in range(24):
        name, category, storage = kinds[i % 4]
        coop, staff = coops[i % 2]
        product = f.create_product(
            session,
            staff,
            villages[i % 3],
            name=f"{name}{i}号",
            category=category,
            storage_class=storage,
            published=i % 7 != 0,  # some drafts, which count nowhere
        )
        sku = session.query(Sku).filter_by(product_id=product.id).one()
        sku.stock = 0 if i % 5 == 0 else 10
        sku.price_fen = 1000 + 250 * i
    session.commit()
    search.reindex(session)
    session.commit()

    result = search.search(session, SearchQuery(page_size=100))
    live = (
        select(Product)
        .join(Cooperative, Cooperative.id == Product.cooperative_id)
        .where(Product.status == ProductStatus.PUBLISHED)
    )
    assert result.total == session.scalar(select(func.count()).select_from(live.subquery()))
    for column, facet in (
        (Product.category, "category"),
        (Product.village_id, "village_id"),
        (Product.cooperative_id, "cooperative_id"),
        (Product.storage_class, "storage_class"),
    ):
        counts = dict(
            session.execute(live.with_only_columns(column, func.count()).group_by(column)).all()
        )
        assert result.facets[facet] == counts, facet
    stocked = session.scalar(
        select(func.count()).select_from(
            live.where(
                select(Sku.id).where(Sku.product_id == Product.id, Sku.stock > 0).exists()
            ).subquery()
        )
    )
    assert result.facets["in_stock"].get(True, 0) == stocked
    # A filter and a price range, against SQL on the same data.
    narrowed = search.search(
        session,
        SearchQuery(
            filters=SearchFilters(category="dried_goods", price_min_fen=2000, price_max_fen=5000),
            page_size=100,
        ),
    )
    expected = session.scalars(
        live.with_only_columns(Product.id).where(
            Product.category == "dried_goods",
            select(func.min(Sku.price_fen))
            .where(Sku.product_id == Product.id, Sku.is_active)
            .scalar_subquery()
            .between(2000, 5000),
        )
    ).all()
    assert sorted(narrowed.ids) == sorted(expected) and expected
