"""A product's photo album: several uploaded at once, reordered, a cover chosen, deleted.

The first photo (lowest position) is the cover. Positions are renumbered 0..n-1 whenever the
order changes, so "move up" always swaps with the photo shown just before.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog.service import MAX_PHOTOS, get_owned_product
from farmgate.errors import NotFound, ValidationFailed
from farmgate.media.images import process_upload
from farmgate.media.photos import delete_after_commit, save_all, variant_files
from farmgate.models import Account, ProductPhoto


def album(session: Session, product_id: int) -> list[ProductPhoto]:
    query = (
        select(ProductPhoto)
        .where(col(ProductPhoto.product_id) == product_id)
        .order_by(col(ProductPhoto.position), col(ProductPhoto.id))
    )
    return list(session.scalars(query))


def add_photos(
    session: Session, actor: Account, product_id: int, files: Sequence[tuple[str, bytes]]
) -> list[ProductPhoto]:
    """Check every ``(filename, bytes)`` first; store them only if all pass (else none)."""
    product = get_owned_product(session, actor, product_id, lock=True)
    if not files:
        raise ValidationFailed("请选择要上传的照片", fields={"photos": "请选择要上传的照片"})
    existing = album(session, product_id)
    room = MAX_PHOTOS - len(existing)
    if len(files) > room:
        message = f"每个商品最多{MAX_PHOTOS}张照片，已有{len(existing)}张，这次最多还能上传{room}张"
        raise ValidationFailed(message, code="too_many_photos", fields={"photos": message})
    processed = []
    for number, (name, data) in enumerate(files, start=1):
        try:
            processed.append(process_upload(data))
        except ValidationFailed as exc:
            label = f"第{number}张（{name}）" if name else f"第{number}张"
            message = f"{label}：{exc.message}"
            raise ValidationFailed(message, code=exc.code, fields={"photos": message}) from None
    photos = []
    for offset, stored in enumerate(save_all(session, f"products/{product.id}", processed)):
        photo = ProductPhoto(
            product_id=product.id,  # type: ignore[arg-type]
            position=len(existing) + offset,
            storage_key=stored.key,
            width=stored.width,
            height=stored.height,
            widths=",".join(str(w) for w in stored.widths),
        )
        session.add(photo)
        photos.append(photo)
    session.flush()
    return photos


def _owned_photo(
    session: Session, actor: Account, product_id: int, photo_id: int
) -> list[ProductPhoto]:
    """The product's album, after checking ``photo_id`` is in it."""
    get_owned_product(session, actor, product_id, lock=True)
    photos = album(session, product_id)
    if not any(p.id == photo_id for p in photos):
        raise NotFound("图片不存在")
    return photos


def _renumber(session: Session, photos: list[ProductPhoto]) -> None:
    for position, photo in enumerate(photos):
        if photo.position != position:
            photo.position = position
            session.add(photo)
    session.flush()


def move_photo(session: Session, actor: Account, product_id: int, photo_id: int, step: int) -> None:
    """Move a photo one place earlier (``step=-1``) or later (``step=1``)."""
    photos = _owned_photo(session, actor, product_id, photo_id)
    index = next(i for i, p in enumerate(photos) if p.id == photo_id)
    target = index + (1 if step > 0 else -1)
    if 0 <= target < len(photos):
        photos[index], photos[target] = photos[target], photos[index]
    _renumber(session, photos)


def make_cover(session: Session, actor: Account, product_id: int, photo_id: int) -> None:
    """Put a photo first: the cover shown in lists and at the top of the product page."""
    photos = _owned_photo(session, actor, product_id, photo_id)
    chosen = next(p for p in photos if p.id == photo_id)
    _renumber(session, [chosen, *(p for p in photos if p.id != photo_id)])


def remove_photo(session: Session, actor: Account, product_id: int, photo_id: int) -> None:
    """Delete the row, and its files once this commits (kept if it rolls back)."""
    photos = _owned_photo(session, actor, product_id, photo_id)
    photo = next(p for p in photos if p.id == photo_id)
    session.delete(photo)
    session.flush()
    _renumber(session, [p for p in photos if p.id != photo_id])
    widths = [int(w) for w in photo.widths.split(",") if w]
    delete_after_commit(session, variant_files(photo.storage_key, widths))
