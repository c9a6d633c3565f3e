"""The desk's lot helpers: lot codes, the pre-harvest verdict, unit codes and the 合格证."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from farmgate.errors import Conflict, ValidationFailed
from farmgate.models import Role
from farmgate.rendering.compliance import certificate_pdf
from farmgate.trace import lots, service
from farmgate.trace.certificates import ComplianceCertificate
from farmgate.trace.schemas import BatchIn, InputIn
from tests.support import factories as f
from tests.support.labels import pdf_pages

DAY = date(2026, 12, 5)
CERT = ComplianceCertificate(
    "鲜红辣椒", "500", "公斤", "谭家场乡", DAY, "红辣椒合作社", "13800000001", "self_test"
)


def _lot(session: Session, lot_code: str = "A1"):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township), name="鲜红辣椒")
    batch = service.create_batch(
        session,
        staff,
        BatchIn(product_id=product.id, lot_code=lot_code, quantity=Decimal(5), unit="公斤"),  # type: ignore[arg-type]
    )
    return staff, product, batch


def test_lot_codes_are_the_initials_the_month_and_the_next_free_letter(session: Session) -> None:
    staff, product, _batch = _lot(session, "XHLJ2612A")
    assert lots.suggest_lot_code(session, product, DAY) == "XHLJ2612B"
    assert lots.suggest_lot_code(session, product, date(2027, 1, 2)) == "XHLJ2701A"
    for letter in "BCDEFGHIJKLMNOPQRSTUVWXYZ":
        service.create_batch(
            session,
            staff,
            BatchIn(product_id=product.id, lot_code=f"XHLJ2612{letter}", quantity=1, unit="kg"),  # type: ignore[arg-type]
        )
    assert lots.suggest_lot_code(session, product, DAY) == "XHLJ2612AA"
    assert lots._initials("Abc 辰溪稻花鱼") == "ABCC"
    assert lots._initials("！！") == ""


def test_the_verdict_names_the_first_day_a_pesticide_allows(session: Session) -> None:
    staff, _product, batch = _lot(session)
    assert lots.release_verdict(session, batch, DAY).ok
    service.add_input(
        session,
        staff,
        batch,
        InputIn(kind="pesticide", product_name="吡虫啉", dose="50 毫升/亩",
                applied_on=DAY - timedelta(days=3), preharvest_interval_days=10),
    )  # fmt: skip
    waiting = lots.release_verdict(session, batch, DAY)
    assert not waiting.ok and waiting.ready_on == date(2026, 12, 12)
    assert waiting.message.startswith("安全间隔期未满：最早 2026-12-12 可采收/放行")
    assert lots.release_verdict(session, batch, date(2026, 12, 12)).ok  # that day included
    with pytest.raises(Conflict, match="请先登记采收"):
        lots.issue_compliance(session, staff, batch, CERT)


def test_unit_codes_are_issued_in_runs_and_capped(session: Session) -> None:
    _staff, _product, batch = _lot(session)
    assert lots.issue_serials(session, batch, 20) == (1, 20)
    assert lots.issue_serials(session, batch, 5) == (21, 25)
    for bad in (0, -1, lots.MAX_SERIALS_PER_ISSUE + 1):
        with pytest.raises(ValidationFailed):
            lots.issue_serials(session, batch, bad)
    assert batch.serial_count == 25


def test_a_certificate_may_rest_on_several_bases() -> None:
    several = replace(CERT, basis=("commissioned_test", "self_commitment"))
    assert several.validate(today=DAY) == {}
    assert several.bases == ("commissioned_test", "self_commitment")
    assert "至少选择一项" in replace(CERT, basis=()).validate(today=DAY)["basis"]
    assert "basis" in replace(CERT, basis=("self_test", "guess")).validate(today=DAY)
    old = ComplianceCertificate.from_details({"basis": "internal_control"})
    new = ComplianceCertificate.from_details({"bases": ["self_test", "internal_control"]})
    assert old.bases == ("internal_control",) and new.bases == ("self_test", "internal_control")


def test_the_certificate_pdf_is_one_a6_page_or_four_on_a4() -> None:
    several = replace(CERT, basis=("commissioned_test", "self_commitment"))
    [(_p, a6)] = pdf_pages(certificate_pdf(several, size="A6"))
    [(_p, a4)] = pdf_pages(certificate_pdf(several, size="A4", trace_url="https://x.cn/01/1"))
    assert a6.size == (1240, 1748) and a4.size == (2480, 3508)
    # Each A4 quarter is one certificate: the same ink as the A6 page, give or take cut lines.
    quarter = a4.crop((0, 0, 1240, 1754)).convert("L").histogram()[0]
    assert quarter > 0.9 * a6.convert("L").histogram()[0]
    with pytest.raises(ValueError, match="A6"):
        certificate_pdf(several, size="B5")
