"""The catalogue's services behind the desk: a product's photo album and restocking."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from farmgate import places
from farmgate.catalog import photos as album
from farmgate.catalog import stock
from farmgate.errors import NotFound, ValidationFailed
from farmgate.models import Role, Sku
from tests.support import factories as f


def _jpeg(color: tuple[int, int, int] = (10, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(out, "JPEG")
    return out.getvalue()


def _setup(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    other = f.create_account(
        session,
        role=Role.COOPERATIVE,
        cooperative=f.create_cooperative(session, township, name="别家"),
    )
    product = f.create_product(session, staff, f.first_village(session, township))
    return staff, other, product


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_photos_are_all_stored_or_none(session: Session, media_dir: Path) -> None:
    staff, other, product = _setup(session)
    with pytest.raises(ValidationFailed) as refused:
        album.add_photos(
            session, staff, product.id, [("a.jpg", _jpeg()), ("b.pdf", b"%PDF-1.4 not a photo")]
        )
    assert refused.value.fields == {"photos": "第2张（b.pdf）：文件不是有效的图片"}
    assert album.album(session, product.id) == [] and _files(media_dir) == []

    stored = album.add_photos(session, staff, product.id, [("a.jpg", _jpeg())] * 3)
    assert [p.position for p in stored] == [0, 1, 2]
    with pytest.raises(ValidationFailed, match="已有3张，这次最多还能上传6张"):
        album.add_photos(session, staff, product.id, [("x.jpg", _jpeg())] * 7)
    with pytest.raises(NotFound):
        album.add_photos(session, other, product.id, [("a.jpg", _jpeg())])


def test_photos_move_become_the_cover_and_are_removed(session: Session) -> None:
    staff, other, product = _setup(session)
    a, b, c = album.add_photos(session, staff, product.id, [("p.jpg", _jpeg())] * 3)

    def order() -> list[int | None]:
        return [p.id for p in album.album(session, product.id)]

    album.move_photo(session, staff, product.id, c.id, -1)  # type: ignore[arg-type]
    assert order() == [a.id, c.id, b.id]
    album.move_photo(session, staff, product.id, a.id, -1)  # type: ignore[arg-type]  # first
    assert order() == [a.id, c.id, b.id]
    album.make_cover(session, staff, product.id, b.id)  # type: ignore[arg-type]
    assert order() == [b.id, a.id, c.id]
    album.remove_photo(session, staff, product.id, a.id)  # type: ignore[arg-type]
    assert order() == [b.id, c.id]
    assert [p.position for p in album.album(session, product.id)] == [0, 1]
    for action in (
        lambda: album.make_cover(session, other, product.id, b.id),  # type: ignore[arg-type]
        lambda: album.move_photo(session, other, product.id, b.id, 1),  # type: ignore[arg-type]
        lambda: album.remove_photo(session, other, product.id, b.id),  # type: ignore[arg-type]
        lambda: album.make_cover(session, staff, product.id, a.id),  # type: ignore[arg-type]
    ):
        with pytest.raises(NotFound):
            action()


def test_restocking_sets_changed_skus_and_refuses_others_or_stale_ones(session: Session) -> None:
    staff, other, product = _setup(session)
    sku = session.query(Sku).filter_by(product_id=product.id).one()
    assert stock.set_stocks(session, staff, {sku.id: 30}, {sku.id: 10}) == 1  # type: ignore[dict-item]
    assert sku.stock == 30
    assert stock.set_stocks(session, staff, {sku.id: 30}) == 0  # type: ignore[dict-item]
    # The same change sent twice: already so, not a conflict.
    assert stock.set_stocks(session, staff, {sku.id: 30}, {sku.id: 10}) == 0  # type: ignore[dict-item]
    with pytest.raises(ValidationFailed) as stale:
        stock.set_stocks(session, staff, {sku.id: 50}, {sku.id: 10})  # type: ignore[dict-item]
    assert stale.value.fields == {str(sku.id): "刚才有订单，库存已变为 30，请核对后重新填写"}
    with pytest.raises(NotFound):
        stock.set_stocks(session, other, {sku.id: 0})  # type: ignore[dict-item]
    with pytest.raises(ValidationFailed):
        stock.set_stocks(session, staff, {sku.id: -1})  # type: ignore[dict-item]
    session.refresh(sku)
    assert sku.stock == 30


def test_villages_of_a_given_township(session: Session) -> None:
    township = f.create_township(session, villages=("甲村", "乙村"))
    assert [v.name for v in places.list_villages(session, township.id)] == ["甲村", "乙村"]
