"""Certifications a batch, product or cooperative can hold, and whether each is valid today.

- 绿色食品 (green food): product code ``GF`` + 12 digits = the 6-digit administrative code of the
  county, the 2-digit year of approval and a 4-digit serial. Valid 3 years from issue.
- 有机产品 (organic): the 17-digit 有机码 printed on each package. Its digits encode the
  certification body, the year and a random part; here only the form is checked. A
  certificate is valid 1 year unless it states otherwise.
- 农产品地理标志 (agricultural geographical indication): registration ``AGI`` + 5 digits; it
  does not expire.
- 承诺达标合格证 (compliance commitment certificate): issued by the producer per batch (required
  since 2026-02-01) with product, quantity, origin, issue date, the committing party and its
  contact, the commitment and its basis: self-test, commissioned test or internal quality
  control.

An expired certificate is always shown as expired, never as valid.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from farmgate.validators import normalize_mobile

Kind = Literal["green_food", "organic", "geo_indication", "compliance_cert"]
Status = Literal["valid", "expired", "not_yet_valid"]

LABELS: dict[str, str] = {
    "green_food": "绿色食品",
    "organic": "有机产品",
    "geo_indication": "农产品地理标志",
    "compliance_cert": "承诺达标合格证",
}
STATUS_LABELS: dict[str, str] = {"valid": "有效", "expired": "已过期", "not_yet_valid": "未生效"}
BASIS_LABELS = {
    "self_test": "自行检测合格",
    "commissioned_test": "委托检测合格",
    "internal_control": "内部质量控制合格",
}
COMMITMENT = "不使用禁用农药兽药、停用兽药和非法添加物，常规农药兽药残留不超标，对承诺的真实性负责"
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


class CertificateInvalid(ValueError):
    """A certification code or record that does not have the official form (message in 中文)."""


def validate_code(kind: str, code: str, *, today: date | None = None) -> str:
    """The normalised code, or ``CertificateInvalid`` saying what is wrong."""
    value = re.sub(r"\s+", "", code or "").upper()
    if kind == "green_food":
        match = re.fullmatch(r"GF(\d{6})(\d{2})(\d{4})", value)
        if not match:
            raise CertificateInvalid(
                "绿色食品编号应为 GF 加 12 位数字（县级行政区划代码、年份、序号）"
            )
        county, year = match.group(1), int(match.group(2))
        if not 11 <= int(county[:2]) <= 82 or county[2:] == "0000":
            raise CertificateInvalid("绿色食品编号中的县级行政区划代码无效")
        this_year = (today or date.today()).year % 100
        if year > this_year + 1 and year < 90:
            raise CertificateInvalid("绿色食品编号中的年份无效")
        return value
    if kind == "organic":
        if not re.fullmatch(r"\d{17}", value):
            raise CertificateInvalid("有机码应为 17 位数字")
        return value
    if kind == "geo_indication":
        if not re.fullmatch(r"AGI\d{5}", value):
            raise CertificateInvalid("农产品地理标志登记证书编号应为 AGI 加 5 位数字")
        return value
    if kind == "compliance_cert":
        if value and not re.fullmatch(r"[0-9A-Z-]{1,40}", value):
            raise CertificateInvalid("合格证编号只能包含字母、数字和 -")
        return value
    raise CertificateInvalid(f"不支持的认证类型：{kind}")


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def valid_until(kind: str, issued_on: date, stated: date | None = None) -> date | None:
    """The last day the certificate is valid: the stated expiry, else the kind's rule."""
    if stated is not None:
        return stated
    if kind == "green_food":
        return add_years(issued_on, 3)
    if kind == "organic":
        return add_years(issued_on, 1)
    return None  # geographical indications and per-batch commitments do not expire


def status(issued_on: date, expires_on: date | None, today: date) -> Status:
    if today < issued_on:
        return "not_yet_valid"
    if expires_on is not None and today > expires_on:
        return "expired"
    return "valid"


def compliance_errors(details: dict[str, Any]) -> dict[str, str]:
    """Field -> Chinese message for a 承诺达标合格证's details (empty when complete)."""
    errors: dict[str, str] = {}
    for name, label in (
        ("product_name", "产品名称"),
        ("origin", "产地"),
        ("committer", "承诺主体"),
    ):
        if not str(details.get(name) or "").strip():
            errors[name] = f"请填写{label}"
    try:
        if float(details.get("quantity") or 0) <= 0:
            errors["quantity"] = "数量须大于 0"
    except (TypeError, ValueError):
        errors["quantity"] = "数量须为数字"
    if not str(details.get("unit") or "").strip():
        errors["unit"] = "请填写单位"
    contact = str(details.get("contact") or "").strip()
    try:
        normalize_mobile(contact)
    except ValueError:
        if not _LANDLINE.match(contact):
            errors["contact"] = "请填写有效的手机号或固定电话"
    if details.get("basis") not in BASIS_LABELS:
        errors["basis"] = "开具依据须为：自行检测、委托检测或内部质量控制"
    return errors
