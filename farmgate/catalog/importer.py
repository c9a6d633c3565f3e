"""Bulk-loading a cooperative's products from a spreadsheet exported as CSV.

One row per SKU; rows sharing a product name form one product. Every row is checked before
anything is written, every problem is reported with its line number, and either everything is
imported or nothing is (the caller's transaction rolls back on the raised error).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.catalog import service
from farmgate.catalog.schemas import ProductCreate, SkuCreate
from farmgate.errors import ValidationFailed
from farmgate.messages import validation_fields
from farmgate.models import CATEGORIES, Account, Cooperative, Product, StorageClass, Village
from farmgate.validators import yuan_to_fen

MAX_ROWS = 5000

# Column -> accepted headers (Chinese first, as the template has them).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("商品名称", "name"),
    "category": ("类目", "category"),
    "village": ("产地村", "village"),
    "unit": ("单位", "unit"),
    "shelf_life_days": ("保质期天数", "shelf_life_days"),
    "storage_class": ("储存方式", "storage_class"),
    "description": ("商品描述", "description"),
    "spec": ("规格", "spec"),
    "price": ("价格（元）", "价格(元)", "价格", "price_yuan"),
    "stock": ("库存", "stock"),
    "weight_g": ("重量（克）", "重量(克)", "weight_g"),
}
REQUIRED = (
    "name",
    "category",
    "village",
    "unit",
    "shelf_life_days",
    "spec",
    "price",
    "stock",
    "weight_g",
)
PRODUCT_FIELDS = ("category", "village", "unit", "shelf_life_days", "storage_class", "description")

# Model fields -> the column a row's reader knows them by.
_LABELS = {
    **{k: names[0] for k, names in COLUMNS.items()},
    "village_id": COLUMNS["village"][0],
    "price_fen": COLUMNS["price"][0],
    "skus": COLUMNS["spec"][0],
}

_CATEGORY_BY_NAME = {**{v: k for k, v in CATEGORIES.items()}, **{k: k for k in CATEGORIES}}
_STORAGE_BY_NAME = {
    **{s.label: s.value for s in StorageClass},
    **{s.value: s.value for s in StorageClass},
}


@dataclass
class ImportResult:
    products: list[Product] = field(default_factory=list)
    skus: int = 0


def decode(data: bytes) -> str:
    """Excel saves CSV as UTF-8 with a BOM or, on Chinese Windows, as GBK; accept both."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("无法识别文件编码，请另存为 UTF-8 CSV", code="bad_encoding")


def _header_map(header: list[str]) -> dict[str, int]:
    cleaned = [h.strip() for h in header]
    found: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(cleaned):
            if h in names or h.lower() in names:
                found[key] = i
                break
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in found]
    if missing:
        raise ValidationFailed(
            "表头缺少列：" + "、".join(missing), code="bad_header", fields={"line 1": "缺少列"}
        )
    return found


def _messages(exc: ValidationError) -> str:
    fields = validation_fields(list(exc.errors()))
    return "；".join(f"{_LABELS.get(k, k)}：{message}" for k, message in fields.items())


def _int(value: str, label: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"{label}应为整数") from None


def import_products(session: Session, actor: Account, data: bytes) -> ImportResult:
    coop = session.get(Cooperative, service.require_staff(actor))
    assert coop is not None
    try:
        rows = list(csv.reader(io.StringIO(decode(data))))
    except csv.Error:  # e.g. a quote never closed, swallowing the rest of the file
        raise ValidationFailed(
            "CSV 格式有误（可能有未闭合的引号），请用 Excel 另存为 CSV 后重试", code="bad_csv"
        ) from None
    if not rows:
        raise ValidationFailed("文件是空的", code="empty_file")
    columns = _header_map(rows[0])
    if len(rows) - 1 > MAX_ROWS:
        raise ValidationFailed(f"一次最多导入{MAX_ROWS}行", code="too_many_rows")

    villages = {
        v.name: v.id
        for v in session.scalars(
            select(Village).where(col(Village.township_id) == coop.township_id)
        )
    }
    owned = select(col(Product.name)).where(col(Product.cooperative_id) == coop.id)
    existing = set(session.scalars(owned))

    errors: dict[str, str] = {}
    products: dict[str, dict[str, Any]] = {}  # name -> product fields + skus + first line
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = {k: (row[i].strip() if i < len(row) else "") for k, i in columns.items()}
        try:
            name = cell["name"]
            if not name:
                raise ValueError("商品名称不能为空")
            if name in existing:
                raise ValueError(f"已存在同名商品「{name}」")
            fields = {
                "category": _CATEGORY_BY_NAME.get(cell["category"]),
                "village_id": villages.get(cell["village"]),
                "unit": cell["unit"],
                "shelf_life_days": _int(cell["shelf_life_days"], "保质期天数"),
                "storage_class": _STORAGE_BY_NAME.get(cell.get("storage_class") or "常温"),
                "description": cell.get("description", ""),
            }
            if fields["category"] is None:
                raise ValueError(f"类目「{cell['category']}」无效")
            if fields["village_id"] is None:
                raise ValueError(f"产地村「{cell['village']}」不在本乡")
            if fields["storage_class"] is None:
                raise ValueError("储存方式应为 常温、冷藏 或 冷冻")
            sku = SkuCreate(
                spec=cell["spec"],
                price_fen=yuan_to_fen(cell["price"]),
                stock=_int(cell["stock"], "库存"),
                weight_g=_int(cell["weight_g"], "重量（克）"),
            )
            entry = products.get(name)
            if entry is None:
                products[name] = {"name": name, **fields, "skus": [sku], "line": line_no}
            else:
                clash = [k for k in fields if fields[k] != entry[k] and cell.get(k, "x") != ""]
                if clash:
                    raise ValueError(f"与第{entry['line']}行同名商品的信息不一致")
                if any(s.spec == sku.spec for s in entry["skus"]):
                    raise ValueError(f"规格「{sku.spec}」重复")
                entry["skus"].append(sku)
        except ValidationError as exc:
            errors[f"line {line_no}"] = _messages(exc)
        except ValueError as exc:
            errors[f"line {line_no}"] = str(exc)

    to_create: list[ProductCreate] = []
    for entry in products.values():
        try:
            to_create.append(ProductCreate(**{k: v for k, v in entry.items() if k != "line"}))
        except ValidationError as exc:
            errors[f"line {entry['line']}"] = _messages(exc)
    if errors:
        raise ValidationFailed(
            f"共有{len(errors)}行有错误，未导入任何商品", code="import_failed", fields=errors
        )
    if not to_create:
        raise ValidationFailed("文件中没有商品数据", code="empty_file")

    result = ImportResult()
    for data_in in to_create:
        result.products.append(service.create_product(session, actor, data_in))
        result.skus += len(data_in.skus)
    return result
