"""Many products at once: the CSV import (with its template) and the one-screen restock."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from farmgate.catalog import importer, service, stock, views
from farmgate.catalog.schemas import ProductOwnerView
from farmgate.config import settings
from farmgate.errors import FarmgateError
from farmgate.models import Account
from farmgate.storefront.coop import labels
from farmgate.storefront.coop.deps import (
    DeskStaff,
    FormValues,
    Multipart,
    SessionDep,
    check_csrf,
)
from farmgate.storefront.coop.forms import Errors, clean, desk_page
from farmgate.storefront.coop.products import stock_flag

router = APIRouter(include_in_schema=False)

TEMPLATE_NAME = "商品导入模板.csv"
RESTOCK_PAGE_SKUS = 40  # about 400 bytes of HTML each: a page stays well under 30 KB


# --- CSV import -------------------------------------------------------------------------


def _import_page(
    request: Request,
    session: Session,
    staff: Account,
    errors: Errors | None = None,
    lines: list[tuple[int | None, str]] | None = None,
    problem: str = "",
) -> Response:
    return desk_page(
        request,
        session,
        staff,
        "coop/import.html",
        errors=errors or Errors(),
        lines=lines or [],
        problem=problem,
        columns=[names[0] for names in importer.COLUMNS.values()],
        categories=list(labels.CATEGORIES.values()),
        max_mb=settings.max_upload_bytes // 1024 // 1024,
        status=422 if lines else 200,
    )


@router.get("/coop/products/import", response_class=HTMLResponse)
def import_form(request: Request, session: SessionDep, staff: DeskStaff) -> Response:
    return _import_page(request, session, staff)


@router.get("/coop/products/import/template.csv")
def import_template(staff: DeskStaff) -> Response:
    """The header row only: an example row left in would be imported as a product."""
    header = ",".join(names[0] for names in importer.COLUMNS.values())
    # With a BOM, so Excel and WPS open the Chinese headers as UTF-8.
    body = "\ufeff" + header + "\r\n"
    # An ASCII name for old browsers, the Chinese one (RFC 5987) for the rest.
    disposition = f"attachment; filename=\"products.csv\"; filename*=UTF-8''{quote(TEMPLATE_NAME)}"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


def _line_no(key: str) -> int | None:
    number = key.removeprefix("line ").strip()
    return int(number) if number.isdigit() else None


@router.post("/coop/products/import", response_class=HTMLResponse)
def import_upload(
    request: Request, form: Multipart, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, str(form.get("csrf_token") or ""))
    upload = form.get("file")
    data = (
        upload.file.read(settings.max_upload_bytes + 1) if isinstance(upload, UploadFile) else b""
    )
    errors = Errors()
    if not data:
        errors["file"] = "请选择填好的 CSV 文件"
    elif len(data) > settings.max_upload_bytes:
        errors["file"] = f"文件不能超过 {settings.max_upload_bytes // 1024 // 1024} MB"
    if errors:
        return _import_page(request, session, staff, errors)
    try:
        result = importer.import_products(session, staff, data)
    except FarmgateError as exc:
        if exc.status not in (409, 422):
            raise
        session.rollback()
        lines = sorted(
            ((_line_no(k), v) for k, v in exc.fields.items()), key=lambda item: item[0] or 0
        )
        if not lines:
            errors["file"] = exc.message
            return _import_page(request, session, staff, errors)
        errors["file"] = f"{exc.message}，请看下面的错误行"
        return _import_page(request, session, staff, errors, lines, exc.message)
    return RedirectResponse(
        f"/coop/products?done=imported&n={len(result.products)}", status_code=303
    )


# --- restock ----------------------------------------------------------------------------


def _restock_page(
    request: Request,
    session: Session,
    staff: Account,
    page: str,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    notice: str | None = None,
) -> Response:
    # Pages of whole products, each page up to RESTOCK_PAGE_SKUS active SKUs (or one product).
    chunks: list[list[ProductOwnerView]] = [[]]
    count = 0
    for product in service.list_own(session, staff):
        view = views.product_owner_view(session, product)
        active = sum(1 for s in view.skus if s.is_active)
        if not active:
            continue
        if chunks[-1] and count + active > RESTOCK_PAGE_SKUS:
            chunks.append([])
            count = 0
        chunks[-1].append(view)
        count += active
    pages = len(chunks)
    page_no = min(pages, max(1, int(page))) if page.isdigit() else 1
    names = {
        f"stock-{s.id}": f"{p.name} {s.spec}" for chunk in chunks for p in chunk for s in p.skus
    }
    if errors:
        # One form, many stock fields: each message names its product and SKU.
        errors = Errors({k: f"{names[k]}：{v}" if k in names else v for k, v in errors.items()})
    return desk_page(
        request,
        session,
        staff,
        "coop/restock.html",
        products=chunks[page_no - 1],
        page=page_no,
        pages=pages,
        values=values or {},
        errors=errors or Errors(),
        notice=notice,
        stock_flag=stock_flag,
    )


@router.get("/coop/products/restock", response_class=HTMLResponse)
def restock_form(
    request: Request, session: SessionDep, staff: DeskStaff, page: str = "1", done: str = ""
) -> Response:
    notice = "库存已更新。" if done else None
    return _restock_page(request, session, staff, page, notice=notice)


@router.post("/coop/products/restock", response_class=HTMLResponse)
def restock(request: Request, form: FormValues, session: SessionDep, staff: DeskStaff) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    errors = Errors()
    stocks: dict[int, int] = {}
    expected: dict[int, int] = {}
    for key in form:
        sku_id = key.removeprefix("stock-")
        if not key.startswith("stock-") or not sku_id.isdigit():
            continue
        value = errors.read_integer(form, key, "库存", low=0, high=10_000_000, example="100")
        was = clean(form.get(f"was-{sku_id}"))
        if key not in errors and str(value) != was:  # only what the person changed
            stocks[int(sku_id)] = value
            if was.isdigit():
                expected[int(sku_id)] = int(was)
    page = form.get("page", "1")
    if not errors:
        try:
            stock.set_stocks(session, staff, stocks, expected)
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors.absorb(exc, {k: f"stock-{k}" for k in exc.fields}, "stock")
        else:
            return RedirectResponse(f"/coop/products/restock?page={page}&done=1", status_code=303)
    # The hidden "was" values are dropped: the page shows the stock as it is now.
    kept = {k: v for k, v in form.items() if not k.startswith("was-")}
    return _restock_page(request, session, staff, page, values=kept, errors=errors)
