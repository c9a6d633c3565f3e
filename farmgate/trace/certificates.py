"""Certifications a batch, product or cooperative can hold, and whether each is valid today.

The rules (codes, validity, the 合格证's fields) are pure; ``add_certification`` records one on a
lot and ``certification_view`` shows it with its validity today. Messages for people are in
Simplified Chinese.

- 绿色食品 (green food): the 企业信息码 printed with the label since 2009-08-01, ``GF`` + 12
  digits = the 6-digit administrative code of the county (GB/T 2260), the 2-digit year the
  enterprise was first approved and a 4-digit serial within that year (中国绿色食品发展中心's
  coding rule). The older product number ``LB-XX-XXXXXXXXXXA`` is not accepted. The licence
  (绿色食品标志使用证书) runs 3 years.
- 有机产品 (organic): the 17-digit 有机码 on each label (CNCA 国家有机产品认证标志编码规则):
  3 digits for the certification body (the serial of its approval number; foreign bodies
  9 + 2 digits), 2 for the year the label was issued, 12 random digits with no check digit.
  A certificate runs 1 year (有机产品认证实施规则).
- 农产品地理标志 (agricultural GI): the registration certificate number ``AGI`` + 5 digits
  (e.g. AGI01459), not the quality-control specification number ``AGI2014-02-1497``. The
  certificate does not expire (农产品地理标志管理办法: 长期有效).
- 承诺达标合格证 (compliance commitment certificate): issued by the producer per batch under
  农产品质量安全承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号, in force since 2026-02-01):
  product name, quantity, origin, issue date, committing party, contact and the commitment,
  issued on the basis of a commissioned test, a self-test, internal quality control or the
  producer's own commitment (承诺依据: one box or several ticked).

Validity periods follow 民法典 第二百零一、二百零二条: the issue day is not counted and a period
of N years ends on the same day N years later (the month's last day when there is none), that
day included: issued 2023-11-29 with 3 years, valid through 2026-11-29; issued 2024-02-29 with
1 year, through 2025-02-28. Many certificates print an earlier "有效期至" (the day before);
the stated expiry always wins, so record it when the certificate shows one. An expired
certificate is never reported as valid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.errors import ValidationFailed
from farmgate.models import Account, Batch, BatchStatus, Certification
from farmgate.models.evidence import CertificationKind
from farmgate.timeutil import local_today
from farmgate.trace import chain, facts
from farmgate.trace.schemas import CertificationIn
from farmgate.validators import normalize_mobile

Kind = Literal["green_food", "organic", "geo_indication", "compliance_cert"]
Status = Literal["valid", "expired", "not_yet_valid"]
Basis = Literal["self_test", "commissioned_test", "internal_control", "self_commitment"]

LABELS: dict[str, str] = CertificationKind.labels()  # the words live on the enum
STATUS_LABELS: dict[str, str] = {"valid": "有效", "expired": "已过期", "not_yet_valid": "未生效"}
BASIS_LABELS: dict[str, str] = {
    "self_test": "自行检测合格",
    "commissioned_test": "委托检测合格",
    "internal_control": "内部质量控制合格",
    "self_commitment": "自我承诺",
}
COMMITMENT = "不使用禁用农药兽药、停用兽药和非法添加物，常规农药兽药残留不超标，对承诺的真实性负责"
VALIDITY_YEARS: dict[str, int] = {"green_food": 3, "organic": 1}
COMPLIANCE_REQUIRED_SINCE = date(2026, 2, 1)
# GB/T 2260 province-level codes (71 = Taiwan, 81/82 = Hong Kong/Macao).
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82".split()
)
# Printed prefixes people copy along with the code.
_PREFIXES = re.compile(r"^(企业信息码|有机码|登记证书编号|证书编号|合格证编号|编号)[:：]?")
# A landline with its area code (010, 02x, 0xxx) and an optional extension.
_LANDLINE = re.compile(r"^0(?:10|2\d|[3-9]\d{2})-?[2-9]\d{6,7}(?:(?:-|转)\d{1,6})?$")


class CertificateInvalid(ValueError):
    """A certification code or record that does not have the official form (message in 中文)."""


def _clean(code: str) -> str:
    text = unicodedata.normalize("NFKC", code or "").strip()
    text = _PREFIXES.sub("", text)
    return re.sub(r"\s+", "", text).upper()


def _year(two_digits: str, today: date, first: int) -> int | None:
    """The four-digit year of ``two_digits`` if it lies in ``first``..``today.year``."""
    value = int(two_digits)
    for century in (2000, 1900):
        if first <= century + value <= today.year:
            return century + value
    return None


def validate_code(kind: str, code: str, *, today: date | None = None) -> str:
    """The normalised code, or ``CertificateInvalid`` saying what is wrong."""
    value = _clean(code)
    today = today or date.today()
    if kind == "green_food":
        match = re.fullmatch(r"GF(\d{6})(\d{2})(\d{4})", value)
        if not match:
            raise CertificateInvalid(
                "绿色食品企业信息码应为 GF 加 12 位数字（县级行政区划代码、获证年份、序号）"
            )
        county, year, serial = match.groups()
        if county[:2] not in PROVINCES or county[2:] == "0000":
            raise CertificateInvalid("绿色食品企业信息码中的县级行政区划代码无效")
        if _year(year, today, 1990) is None:  # the green food mark dates from 1990
            raise CertificateInvalid("绿色食品企业信息码中的获证年份无效")
        if serial == "0000":
            raise CertificateInvalid("绿色食品企业信息码中的序号无效")
        return value
    if kind == "organic":
        if not re.fullmatch(r"\d{17}", value):
            raise CertificateInvalid("有机码应为 17 位数字")
        if value[:3] in ("000", "900"):
            raise CertificateInvalid("有机码前 3 位（认证机构代码）无效")
        if _year(value[3:5], today, 2011) is None:  # the coding rule dates from 2011
            raise CertificateInvalid("有机码第 4–5 位（标志发放年份）无效")
        return value
    if kind == "geo_indication":
        if re.fullmatch(r"AGI\d{4}-\d{2}-\d{3,5}", value):
            raise CertificateInvalid(
                "这是质量控制技术规范编号，请填写登记证书编号（AGI 加 5 位数字）"
            )
        if not re.fullmatch(r"AGI\d{5}", value) or value == "AGI00000":
            raise CertificateInvalid("农产品地理标志登记证书编号应为 AGI 加 5 位数字")
        return value
    if kind == "compliance_cert":
        # The certificate number is optional and free-form (the issuer's own numbering).
        if value and not re.fullmatch(r"[0-9A-Z-]{1,40}", value):
            raise CertificateInvalid("合格证编号只能包含字母、数字和 -，最多 40 位")
        return value
    raise CertificateInvalid(f"不支持的认证类型：{kind}")


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February (the month's last day)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def valid_until(kind: str, issued_on: date, stated_expiry: date | None = None) -> date | None:
    """The last day the certificate is valid: the stated expiry, else the kind's rule.

    ``None`` means it does not expire (geographical indications, per-batch commitments).
    """
    if stated_expiry is not None:
        return stated_expiry
    years = VALIDITY_YEARS.get(kind)
    return None if years is None else add_years(issued_on, years)


def status(kind: str, issued_on: date, expires_on: date | None, today: date) -> Status:
    """``valid`` / ``expired`` / ``not_yet_valid`` on ``today`` (both ends inclusive).

    Without a stated expiry the kind's rule applies, so a green food licence issued more than
    3 years ago is expired even when nobody recorded its expiry.
    """
    last_day = valid_until(kind, issued_on, expires_on)
    if last_day is not None and today > last_day:
        return "expired"
    if today < issued_on:
        return "not_yet_valid"
    return "valid"


def status_label(state: str) -> str:
    return STATUS_LABELS[state]


@dataclass(frozen=True)
class ComplianceCertificate:
    """承诺达标合格证: the fields the 管理办法 requires on each certificate."""

    product_name: str  # 产品名称
    quantity: Decimal | float | str  # 数量（重量）
    unit: str  # e.g. 公斤, 箱, 头
    origin: str  # 产地
    issued_on: date | None  # 开具日期
    committer: str  # 承诺主体: the producer (or the buyer who re-issues)
    contact: str  # 联系方式: a mainland mobile or a landline with area code
    # 承诺依据: one of BASIS_LABELS' keys, or several (the form has a box for each).
    basis: str | tuple[str, ...]
    commitment: str = COMMITMENT
    code: str = ""  # 合格证编号, optional

    @classmethod
    def from_details(
        cls, details: Mapping[str, Any], issued_on: date | None = None
    ) -> ComplianceCertificate:
        """From the ``details`` JSON a certification row keeps."""

        def text(name: str) -> str:
            return str(details.get(name) or "").strip()

        return cls(
            product_name=text("product_name"),
            quantity=details.get("quantity") or "",
            unit=text("unit"),
            origin=text("origin"),
            issued_on=issued_on,
            committer=text("committer"),
            contact=text("contact"),
            basis=_bases(details),
            commitment=text("commitment") or COMMITMENT,
            code=text("code"),
        )

    @property
    def own_commitment(self) -> str:
        """The committer's own commitment text ("" when it is the standard wording)."""
        text = (self.commitment or "").strip()
        return "" if text == COMMITMENT else text

    @property
    def bases(self) -> tuple[str, ...]:
        """Every 承诺依据 ticked, in the order given."""
        if isinstance(self.basis, str):
            return (self.basis,) if self.basis.strip() else ()
        return tuple(self.basis)

    def validate(self, *, today: date | None = None) -> dict[str, str]:
        """Field -> Chinese message (empty when the certificate is complete and well formed).

        ``issued_on`` is checked only when ``today`` is given (not missing, not in the future).
        """
        errors: dict[str, str] = {}
        for name, label, limit in (
            ("product_name", "产品名称", 50),
            ("unit", "单位", 10),
            ("origin", "产地", 100),
            ("committer", "承诺主体", 100),
            ("commitment", "承诺内容", 200),
        ):
            value = str(getattr(self, name) or "").strip()
            if not value:
                errors[name] = f"请填写{label}"
            elif len(value) > limit:
                errors[name] = f"{label}最多 {limit} 个字"
        quantity = str(self.quantity).strip()
        try:
            amount = Decimal(quantity)
            if not amount.is_finite() or amount <= 0:
                errors["quantity"] = "数量须大于 0"
        except InvalidOperation:
            errors["quantity"] = "数量须为数字" if quantity else "请填写数量"
        if not contact_ok(self.contact):
            errors["contact"] = "请填写有效的手机号或带区号的固定电话"
        if not self.bases:
            errors["basis"] = "请至少选择一项开具依据（承诺依据）"
        elif any(b not in BASIS_LABELS for b in self.bases):
            errors["basis"] = "开具依据须为：自行检测、委托检测或内部质量控制（或自我承诺）"
        if today is not None:
            if self.issued_on is None:
                errors["issued_on"] = "请填写开具日期"
            elif self.issued_on > today:
                errors["issued_on"] = "开具日期不能晚于今天"
        if self.code:
            try:
                validate_code("compliance_cert", self.code)
            except CertificateInvalid as exc:
                errors["code"] = str(exc)
        return errors


def _bases(details: Mapping[str, Any]) -> str | tuple[str, ...]:
    """``bases`` (a list, since more than one may apply) or the older single ``basis``."""
    many = details.get("bases")
    if isinstance(many, list | tuple):
        return tuple(str(b) for b in many)
    return str(details.get("basis") or "").strip()


def contact_ok(value: str) -> bool:
    """A mainland mobile (+86 optional) or a landline with its area code."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    try:
        normalize_mobile(text)
        return True
    except ValueError:
        pass
    text = re.sub(r"[\s()]", "", text)
    if text.startswith("+86"):
        text = "0" + text[3:].lstrip("-")
    return bool(_LANDLINE.fullmatch(text))


# --- recorded certifications ------------------------------------------------------------


def add_certification(
    session: Session, actor: Account, batch: Batch, data: CertificationIn
) -> Certification:
    """Attach a certification to the batch, its product, or its whole cooperative."""
    try:
        code = validate_code(data.kind, data.code)
    except CertificateInvalid as exc:
        raise ValidationFailed(str(exc), fields={"code": str(exc)}) from exc
    if data.kind == "compliance_cert":
        if data.scope != "batch":
            raise ValidationFailed("承诺达标合格证按批次开具", fields={"scope": "应为 batch"})
        compliance = ComplianceCertificate.from_details(data.details, data.issued_on)
        errors = compliance.validate(today=local_today())
        if errors:
            raise ValidationFailed("承诺达标合格证信息不完整", fields=errors)
    elif not code:
        raise ValidationFailed("请填写证书编号", fields={"code": "必填"})
    expires = valid_until(data.kind, data.issued_on, data.expires_on)
    if expires is not None and expires < data.issued_on:
        raise ValidationFailed("有效期不能早于发证日期", fields={"expires_on": "请核对日期"})
    cert = Certification(
        cooperative_id=batch.cooperative_id,
        product_id=batch.product_id if data.scope in ("batch", "product") else None,
        batch_id=batch.id if data.scope == "batch" else None,
        kind=data.kind,
        code=code,
        issuer=data.issuer,
        issued_on=data.issued_on,
        expires_on=expires,
        details=data.details,
    )
    session.add(cert)
    session.flush()
    # The certification belongs to the lots it covers: this lot's chain logs it, and a
    # product's or the cooperative's is logged in each of their active lots (a lot harvested
    # later logs it at harvest: service.log_covering_certifications).
    kind, event = facts.certification_event(cert)
    covered = [batch]
    if data.scope != "batch":
        query = select(Batch).where(
            col(Batch.cooperative_id) == batch.cooperative_id,
            col(Batch.status) == BatchStatus.ACTIVE,
            col(Batch.id) != batch.id,
        )
        if data.scope == "product":
            query = query.where(col(Batch.product_id) == batch.product_id)
        covered += list(session.scalars(query.order_by(col(Batch.id)).limit(MAX_COVERED_LOTS)))
    for lot in covered:
        chain.append(
            session,
            lot,
            kind,
            event,
            at=facts.day_time(data.issued_on) if data.scope == "batch" else None,
            actor_id=actor.id,
        )
    return cert


MAX_COVERED_LOTS = 500


def certifications_of_lot(session: Session, batch: Batch) -> list[Certification]:
    """The certifications that cover this lot: its own, and its product's and cooperative's
    when the lot's chain logged them. Another lot's 合格证 is never this lot's."""
    return list(
        session.scalars(
            select(Certification)
            .where(col(Certification.cooperative_id) == batch.cooperative_id)
            .where(
                or_(
                    col(Certification.batch_id) == batch.id,
                    col(Certification.batch_id).is_(None)
                    & or_(
                        col(Certification.product_id) == batch.product_id,
                        col(Certification.product_id).is_(None),
                    ),
                )
            )
            .order_by(col(Certification.issued_on), col(Certification.id))
        )
    )


def certification_view(cert: Certification, today: date | None = None) -> dict[str, Any]:
    state = status(cert.kind, cert.issued_on, cert.expires_on, today or local_today())
    summary = ""
    if cert.kind == "compliance_cert":
        d = cert.details
        basis = "、".join(
            BASIS_LABELS.get(b, b) for b in ComplianceCertificate.from_details(d).bases
        )
        commitment = str(d.get("commitment") or "").strip() or COMMITMENT
        summary = (
            f"{d.get('committer', '')}（{d.get('contact', '')}）承诺：{commitment}。"
            f"依据：{basis}。{d.get('product_name', '')} {d.get('quantity', '')}"
            f"{d.get('unit', '')}，产地 {d.get('origin', '')}，开具日期 {cert.issued_on}"
        )
    return {
        "kind": cert.kind,
        "label": LABELS.get(cert.kind, cert.kind),
        "code": cert.code,
        "issuer": cert.issuer,
        "issued_on": cert.issued_on,
        "expires_on": cert.expires_on,
        "status": state,
        "status_label": STATUS_LABELS[state],
        "summary": summary,
        "id": cert.id,
    }
