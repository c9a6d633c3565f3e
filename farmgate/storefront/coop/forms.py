"""Reading the desk's forms: numbers typed on a phone, prices in yuan, errors per field.

Every reader returns the parsed value or records a plain-Chinese message under the field's id
(the id the error summary links to), so one pass collects every problem on the form.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from farmgate.cooperatives import service as cooperatives
from farmgate.errors import FarmgateError
from farmgate.models import Account
from farmgate.storefront.common import render
from farmgate.storefront.coop import labels
from farmgate.validators import yuan_to_fen


def clean(value: str | None) -> str:
    """Full-width digits and signs (a Chinese keyboard's) to ASCII, spaces trimmed."""
    return unicodedata.normalize("NFKC", value or "").strip()


class Errors(dict[str, str]):
    """Field id -> message, in the order found (the error summary's order)."""

    def read_text(
        self, values: dict[str, str], key: str, label: str, *, max_len: int, required: bool = True
    ) -> str:
        value = (values.get(key) or "").strip()
        if required and not value:
            self[key] = f"请填写{label}"
        elif len(value) > max_len:
            self[key] = f"{label}不能超过{max_len}个字"
        return value

    def read_choice(self, values: dict[str, str], key: str, label: str, options: Any) -> str:
        value = values.get(key) or ""
        if value not in options:
            self[key] = f"请选择{label}"
        return value

    def read_integer(
        self,
        values: dict[str, str],
        key: str,
        label: str,
        *,
        low: int,
        high: int,
        example: str,
    ) -> int:
        text = clean(values.get(key))
        if not text:
            self[key] = f"请填写{label}，如 {example}"
            return 0
        if not text.lstrip("-").isdigit():
            self[key] = f"{label}只能填整数，如 {example}"
            return 0
        number = int(text)
        if number < low:
            self[key] = f"{label}不能小于 {low}"
        elif number > high:
            self[key] = f"{label}不能大于 {high}"
        return number

    def read_price(self, values: dict[str, str], key: str) -> int:
        text = clean(values.get(key))
        if not text:
            self[key] = "请填写价格（元），如 12.5"
            return 0
        try:
            return yuan_to_fen(text)
        except ValueError as exc:
            message = str(exc)
            if "格式" in message:
                message = "价格只能填数字，如 12.5"
            elif "两位" in message:
                message = "价格最多填到分（两位小数），如 12.50"
            self[key] = message
            return 0

    def absorb(self, exc: FarmgateError, names: dict[str, str], fallback: str) -> None:
        """A service's refusal: its field messages under our field ids, or one general line."""
        for field, message in exc.fields.items():
            key = names.get(field)
            if key:
                self[key] = message
        if not any(names.get(f) for f in exc.fields):
            self[fallback] = exc.message


def sku_fields(values: dict[str, str], errors: Errors, suffix: str = "") -> dict[str, object]:
    """One SKU's fields, read from ``spec{suffix}``, ``price{suffix}`` and so on."""
    return {
        "spec": errors.read_text(values, f"spec{suffix}", "规格名称", max_len=40),
        "price_fen": errors.read_price(values, f"price{suffix}"),
        "stock": errors.read_integer(
            values, f"stock{suffix}", "库存", low=0, high=10_000_000, example="100"
        ),
        "weight_g": errors.read_integer(
            values, f"weight_g{suffix}", "重量", low=1, high=100_000, example="550"
        ),
    }


def desk_page(
    request: Request,
    session: Session,
    staff: Account,
    template: str,
    *,
    section: str = "products",
    status: int = 200,
    **context: Any,
) -> Response:
    """A desk page: the cooperative's name, the sections, and the page's own context."""
    coop = cooperatives.get_for(session, staff, staff.cooperative_id or 0)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    response = render(
        request,
        template,
        staff,
        coop_name=coop.name,
        coop_standing=labels.standing(coop.status, coop.review_note),
        nav=labels.nav(staff),
        section=section,
        **context,
    )
    response.status_code = 422 if context["errors"] and status == 200 else status
    return response
