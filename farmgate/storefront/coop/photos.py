"""The desk's photo pages: upload several at once, reorder, choose the cover, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from farmgate.catalog import photos as album
from farmgate.catalog import service, views
from farmgate.config import settings
from farmgate.errors import FarmgateError, NotFound
from farmgate.models import Account
from farmgate.storefront.coop.deps import (
    DeskStaff,
    FormValues,
    Multipart,
    SessionDep,
    check_csrf,
)
from farmgate.storefront.coop.forms import Errors, desk_page

router = APIRouter(include_in_schema=False)

DONE = {
    "uploaded": "照片已上传。",
    "moved": "顺序已调整。",
    "cover": "封面已更换。",
    "deleted": "照片已删除。",
}


def _page(
    request: Request,
    session: Session,
    staff: Account,
    product_id: int,
    errors: Errors | None = None,
    notice: str | None = None,
) -> Response:
    product = service.get_owned_product(session, staff, product_id)
    return desk_page(
        request,
        session,
        staff,
        "coop/photos.html",
        product=product,
        photos=[views.photo_public(p) for p in album.album(session, product_id)],
        max_photos=service.MAX_PHOTOS,
        max_mb=settings.max_upload_bytes // 1024 // 1024,
        max_request_mb=settings.max_request_bytes // 1024 // 1024,
        max_bytes=settings.max_upload_bytes,
        # What a whole upload may weigh, less room for the form's other parts.
        max_request_bytes=settings.max_request_bytes - 64 * 1024,
        errors=errors or Errors(),
        notice=notice,
    )


@router.get("/coop/products/{product_id:int}/photos", response_class=HTMLResponse)
def photos_page(
    product_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    return _page(request, session, staff, product_id, notice=DONE.get(done))


@router.post("/coop/products/{product_id:int}/photos", response_class=HTMLResponse)
def upload_photos(
    product_id: int, request: Request, form: Multipart, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    service.get_owned_product(session, staff, product_id)
    files = []
    for upload in form.getlist("photos"):
        if not isinstance(upload, UploadFile):
            continue
        # Read one byte past the limit: enough for the check to refuse it, never the whole file.
        data = upload.file.read(settings.max_upload_bytes + 1)
        if upload.filename or data:  # an empty file input still sends an empty part
            files.append((upload.filename or "", data))
    try:
        album.add_photos(session, staff, product_id, files)
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        errors = Errors()
        errors.absorb(exc, {"photos": "photos"}, "photos")
        return _page(request, session, staff, product_id, errors)
    return RedirectResponse(f"/coop/products/{product_id}/photos?done=uploaded", status_code=303)


def _photo_action(
    product_id: int,
    photo_id: int,
    action: str,
    request: Request,
    form: dict[str, str],
    session: Session,
    staff: Account,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    if action == "cover":
        album.make_cover(session, staff, product_id, photo_id)
    elif action in ("up", "down"):
        album.move_photo(session, staff, product_id, photo_id, -1 if action == "up" else 1)
    else:
        album.remove_photo(session, staff, product_id, photo_id)  # its files after the commit
    done = {"cover": "cover", "delete": "deleted"}.get(action, "moved")
    return RedirectResponse(f"/coop/products/{product_id}/photos?done={done}", status_code=303)


@router.post("/coop/products/{product_id:int}/photos/{photo_id:int}/{action}")
def photo_action(
    product_id: int,
    photo_id: int,
    action: str,
    request: Request,
    form: FormValues,
    session: SessionDep,
    staff: DeskStaff,
) -> Response:
    if action not in ("cover", "up", "down", "delete"):
        raise NotFound("页面不存在")
    return _photo_action(product_id, photo_id, action, request, form, session, staff)


@router.get(
    "/coop/products/{product_id:int}/photos/{photo_id:int}/delete", response_class=HTMLResponse
)
def confirm_delete(
    product_id: int, photo_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    product = service.get_owned_product(session, staff, product_id)
    photo = next((p for p in album.album(session, product_id) if p.id == photo_id), None)
    if photo is None:
        raise NotFound("图片不存在")
    return desk_page(
        request,
        session,
        staff,
        "coop/photo_delete.html",
        product=product,
        photo=views.photo_public(photo),
    )
