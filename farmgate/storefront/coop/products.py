"""The desk's products: the list, creating and editing a product, its SKUs, quick actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from farmgate import places
from farmgate.catalog import service, views
from farmgate.catalog.schemas import ProductCreate, ProductUpdate, SkuCreate
from farmgate.cooperatives import service as cooperatives
from farmgate.errors import FarmgateError
from farmgate.models import Account, ProductStatus
from farmgate.storefront.common import see_other
from farmgate.storefront.coop import labels
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, desk_page, sku_fields

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
NEW_SKU_ROWS = 3
DONE = {
    "created": "商品已保存为草稿。下一步：上传照片，然后提交审核。",
    "saved": "修改已保存。",
    "review": "修改已保存。商品已转为「待审核」，乡镇审核通过后重新上架。",
    "sku_added": "规格已添加。",
    "sku_saved": "规格已保存，价格和库存已生效。",
    "sku_off": "这个规格已停售，买家看不到它了。",
    "sku_on": "这个规格已恢复销售。",
    "submit": "已提交审核，乡镇审核通过后商品会上架。",
    "withdraw": "已撤回审核，商品回到草稿。",
    "delist": "商品已下架，买家看不到它了。",
    "imported": "表格里的商品已导入，现在都是草稿。请检查后逐个提交审核。",
}
# How the service names a product form's fields -> the ids on our page.
PRODUCT_FIELDS = {k: k for k in labels.FIELD_LABELS} | {"skus": "spec_1"}


def _choices(session: Session, staff: Account) -> dict[str, Any]:
    coop = cooperatives.get_for(session, staff, staff.cooperative_id or 0)
    return {
        "categories": list(labels.CATEGORIES.items()),
        "units": [(u, u) for u in labels.UNITS],
        "storages": list(labels.STORAGE_LABELS.items()),
        "villages": [(v.id, v.name) for v in places.list_villages(session, coop.township_id)],
    }


def stock_flag(stock: int) -> str:
    if stock <= 0:
        return "已售罄"
    return "库存不多" if stock <= labels.LOW_STOCK else ""


# --- the list ---------------------------------------------------------------------------


@router.get("/coop/products", response_class=HTMLResponse)
def product_list(
    request: Request, session: SessionDep, staff: DeskStaff, page: str = "1", done: str = ""
) -> Response:
    return _list(request, session, staff, page, notice=DONE.get(done))


def _list(
    request: Request,
    session: Session,
    staff: Account,
    page: str = "1",
    notice: str | None = None,
    problem: str = "",
) -> Response:
    products = service.list_own(session, staff)
    pages = max(1, -(-len(products) // PAGE_SIZE))
    page_no = min(pages, max(1, int(page))) if page.isdigit() else 1
    shown = products[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
    rows = [views.product_owner_view(session, p) for p in shown]
    return desk_page(
        request,
        session,
        staff,
        "coop/products.html",
        rows=rows,
        total=len(products),
        page=page_no,
        pages=pages,
        notice=notice,
        errors={"actions": problem} if problem else {},
        status_label=labels.status_label,
        stock_flag=stock_flag,
        status=409 if problem else 200,
    )


_TARGETS = {
    "submit": ProductStatus.PENDING_REVIEW,
    "withdraw": ProductStatus.DRAFT,
    "delist": ProductStatus.DELISTED,
}
_ACTIONS = {
    "submit": service.submit_for_review,
    "withdraw": service.withdraw,
    "delist": service.delist,
}


def _quick_action(
    action: str,
    product_id: int,
    request: Request,
    form: dict[str, str],
    session: Session,
    staff: Account,
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    product = service.get_owned_product(session, staff, product_id)
    back = f"/coop/products/{product_id}" if form.get("back") == "edit" else "/coop/products"
    if product.status == _TARGETS[action]:
        return see_other(f"{back}?done={action}")  # the same button pressed twice: done once
    try:
        _ACTIONS[action](session, staff, product_id)
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _list(request, session, staff, problem=exc.message)
    return see_other(f"{back}?done={action}")


@router.post("/coop/products/{product_id:int}/submit")
def submit(
    product_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    return _quick_action("submit", product_id, request, form, session, staff)


@router.post("/coop/products/{product_id:int}/withdraw")
def withdraw(
    product_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    return _quick_action("withdraw", product_id, request, form, session, staff)


@router.post("/coop/products/{product_id:int}/delist")
def delist(
    product_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    return _quick_action("delist", product_id, request, form, session, staff)


# --- creating ---------------------------------------------------------------------------


def _product_fields(
    values: dict[str, str], errors: Errors, choices: dict[str, Any]
) -> dict[str, object]:
    village_ids = {str(key) for key, _ in choices["villages"]}
    village = errors.read_choice(values, "village_id", "产地村", village_ids)
    return {
        "name": errors.read_text(values, "name", "商品名称", max_len=60),
        "category": errors.read_choice(values, "category", "类目", labels.CATEGORIES),
        "village_id": int(village) if village.isdigit() else 0,
        "unit": errors.read_choice(values, "unit", "单位", labels.UNITS),
        "shelf_life_days": errors.read_integer(
            values, "shelf_life_days", "保质期", low=1, high=3650, example="180"
        ),
        "storage_class": errors.read_choice(
            values, "storage_class", "储存方式", labels.STORAGE_LABELS
        ),
        "description": errors.read_text(
            values, "description", "商品介绍", max_len=5000, required=False
        ),
    }


def _new_form(
    request: Request, session: Session, staff: Account, values: dict[str, str], errors: Errors
) -> Response:
    return desk_page(
        request,
        session,
        staff,
        "coop/product_new.html",
        values=values,
        errors=errors,
        rows=range(1, NEW_SKU_ROWS + 1),
        **_choices(session, staff),
    )


@router.get("/coop/products/new", response_class=HTMLResponse)
def new_product_form(request: Request, session: SessionDep, staff: DeskStaff) -> Response:
    return _new_form(request, session, staff, {"storage_class": "ambient"}, Errors())


@router.post("/coop/products/new", response_class=HTMLResponse)
def create_product(
    request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    errors = Errors()
    fields = _product_fields(form, errors, _choices(session, staff))
    skus = []
    specs: dict[str, int] = {}
    for row in range(1, NEW_SKU_ROWS + 1):
        keys = (f"spec_{row}", f"price_{row}", f"stock_{row}", f"weight_g_{row}")
        if not any((form.get(k) or "").strip() for k in keys):
            continue  # a row left empty is not a SKU
        sku = sku_fields(form, errors, f"_{row}")
        spec = str(sku["spec"])
        if spec in specs:
            errors[f"spec_{row}"] = f"规格名称和第{specs[spec]}行重复"
        specs.setdefault(spec, row)
        skus.append(sku)
    name = str(fields["name"])
    if name and any(p.name == name for p in service.list_own(session, staff)):
        # Also what stops a double-tapped "save" from making the product twice.
        errors["name"] = f"已经有一件叫「{name}」的商品了，请换个名字，或在商品列表里修改它"
    if not skus and "spec_1" not in errors:
        errors["spec_1"] = "请至少填写一个规格（名称、价格、库存和重量）"
    for key, message in errors.items():
        number = key.rsplit("_", 1)[-1]
        if key.startswith(("spec_", "price_", "stock_", "weight_g_")) and number.isdigit():
            # Three rows share the field names: say which one, in the summary and beside it.
            errors[key] = f"规格 {number}：{message}"
    if not errors:
        try:
            data = ProductCreate(**fields, skus=[SkuCreate(**s) for s in skus])  # type: ignore[arg-type]
            product = service.create_product(session, staff, data)
        except ValidationError as exc:
            errors["name"] = "；".join(e["msg"] for e in exc.errors())
        except FarmgateError as exc:
            if exc.status == 403:
                raise
            session.rollback()
            errors.absorb(exc, PRODUCT_FIELDS, "name")
        else:
            return see_other(f"/coop/products/{product.id}?done=created")
    return _new_form(request, session, staff, form, errors)


# --- editing ----------------------------------------------------------------------------


def edit_page(
    request: Request,
    session: Session,
    staff: Account,
    product_id: int,
    *,
    values: dict[str, str] | None = None,
    new_sku: dict[str, str] | None = None,
    errors: Errors | None = None,
    notice: str | None = None,
) -> Response:
    product = service.get_owned_product(session, staff, product_id)
    view = views.product_owner_view(session, product)
    if values is None:
        values = {k: str(getattr(product, k)) for k in labels.FIELD_LABELS}
    return desk_page(
        request,
        session,
        staff,
        "coop/product_edit.html",
        product=view,
        values=values,
        new_sku=new_sku or {},
        errors=errors or Errors(),
        notice=notice,
        published=product.status == ProductStatus.PUBLISHED,
        reviewed=labels.reviewed_fields(),
        status_label=labels.status_label(product.status, product.review_note),
        stock_flag=stock_flag,
        **_choices(session, staff),
    )


@router.get("/coop/products/{product_id:int}", response_class=HTMLResponse)
def edit_product_form(
    product_id: int, request: Request, session: SessionDep, staff: DeskStaff, done: str = ""
) -> Response:
    return edit_page(request, session, staff, product_id, notice=DONE.get(done))


@router.post("/coop/products/{product_id:int}", response_class=HTMLResponse)
def update_product(
    product_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    product = service.get_owned_product(session, staff, product_id)
    was_published = product.status == ProductStatus.PUBLISHED
    errors = Errors()
    fields = _product_fields(form, errors, _choices(session, staff))
    if not errors:
        try:
            product = service.update_product(
                session,
                staff,
                product_id,
                ProductUpdate(**fields),  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            errors["name"] = "；".join(e["msg"] for e in exc.errors())
        except FarmgateError as exc:
            if exc.status == 404:
                raise
            session.rollback()
            errors.absorb(exc, PRODUCT_FIELDS, "name")
        else:
            sent_back = was_published and product.status == ProductStatus.PENDING_REVIEW
            return see_other(
                f"/coop/products/{product_id}?done={'review' if sent_back else 'saved'}"
            )
    return edit_page(request, session, staff, product_id, values=form, errors=errors)
