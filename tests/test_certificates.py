"""Certification codes, validity windows and 承诺达标合格证 fields (farmgate.trace.certificates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from farmgate.trace.certificates import (
    COMMITMENT,
    COMPLIANCE_REQUIRED_SINCE,
    STATUS_LABELS,
    CertificateInvalid,
    ComplianceCertificate,
    add_years,
    contact_ok,
    status,
    status_label,
    valid_until,
    validate_code,
)

TODAY = date(2026, 11, 29)


# --- codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "normalised"),
    [
        ("green_food", "GF431223240017", "GF431223240017"),  # 辰溪县, 2024, No. 17
        ("green_food", "gf 431223 24 0017", "GF431223240017"),
        ("green_food", "企业信息码：GF431223240017", "GF431223240017"),
        ("green_food", "ＧＦ４３１２２３２４００１７", "GF431223240017"),  # full-width
        ("green_food", "GF431223980001", "GF431223980001"),  # approved in 1998
        ("green_food", "GF441900260003", "GF441900260003"),  # 东莞: a city without counties
        ("organic", "12326000000012345", "12326000000012345"),
        ("organic", "有机码 123 26 000000012345", "12326000000012345"),
        ("organic", "90311123456789012", "90311123456789012"),  # a foreign body, 2011
        ("geo_indication", "AGI01459", "AGI01459"),
        ("geo_indication", "agi 00423", "AGI00423"),
        ("geo_indication", "登记证书编号：AGI02871", "AGI02871"),
        ("compliance_cert", "", ""),
        ("compliance_cert", "hg-2026-0001", "HG-2026-0001"),
    ],
)
def test_valid_codes_are_normalised(kind: str, code: str, normalised: str) -> None:
    assert validate_code(kind, code, today=TODAY) == normalised


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("green_food", "GB431223240017", "GF 加 12 位数字"),  # wrong prefix
        ("green_food", "431223240017", "GF 加 12 位数字"),  # no prefix
        ("green_food", "GF43122324001", "GF 加 12 位数字"),  # 11 digits
        ("green_food", "GF4312232400170", "GF 加 12 位数字"),  # 13 digits
        ("green_food", "GF4312232400A7", "GF 加 12 位数字"),  # a letter
        ("green_food", "LB-15-2105010123A", "GF 加 12 位数字"),  # the old product number
        ("green_food", "GF991223240017", "行政区划代码"),  # no province 99
        ("green_food", "GF430000240017", "行政区划代码"),  # a province, not a county
        ("green_food", "GF431223270017", "获证年份"),  # 2027: in the future
        ("green_food", "GF431223850017", "获证年份"),  # 1985: before the mark existed
        ("green_food", "GF431223240000", "序号"),
        ("organic", "1232600000001234", "17 位数字"),  # 16 digits
        ("organic", "123260000000123456", "17 位数字"),  # 18 digits
        ("organic", "1232600000001234X", "17 位数字"),
        ("organic", "00026000000012345", "认证机构代码"),
        ("organic", "90026000000012345", "认证机构代码"),
        ("organic", "12310000000012345", "发放年份"),  # 2010: before the coding rule
        ("organic", "12327000000012345", "发放年份"),  # 2027: in the future
        ("geo_indication", "AGI1459", "AGI 加 5 位数字"),
        ("geo_indication", "AGI014590", "AGI 加 5 位数字"),
        ("geo_indication", "AG01459", "AGI 加 5 位数字"),
        ("geo_indication", "AGIO1459", "AGI 加 5 位数字"),  # letter O
        ("geo_indication", "AGI00000", "AGI 加 5 位数字"),
        ("geo_indication", "AGI2014-02-1497", "质量控制技术规范编号"),
        ("compliance_cert", "合格证", "字母、数字"),
        ("compliance_cert", "A" * 41, "最多 40 位"),
        ("halal", "X", "不支持的认证类型"),
    ],
)
def test_malformed_codes_are_refused_in_chinese(kind: str, code: str, message: str) -> None:
    with pytest.raises(CertificateInvalid, match=message):
        validate_code(kind, code, today=TODAY)


def test_certificate_invalid_is_a_value_error() -> None:
    assert issubclass(CertificateInvalid, ValueError)


def test_the_year_check_moves_with_today() -> None:
    assert validate_code("organic", "12327000000012345", today=date(2027, 1, 1))
    with pytest.raises(CertificateInvalid):
        validate_code("organic", "12327000000012345", today=date(2026, 12, 31))


# --- validity ------------------------------------------------------------------------------


def test_validity_periods() -> None:
    issued = date(2023, 11, 29)
    assert valid_until("green_food", issued) == date(2026, 11, 29)  # 3 years
    assert valid_until("organic", issued) == date(2024, 11, 29)  # 1 year
    assert valid_until("organic", date(2024, 2, 29)) == date(2025, 2, 28)
    assert valid_until("green_food", date(2024, 2, 29)) == date(2027, 2, 28)
    assert valid_until("geo_indication", issued) is None  # 长期有效
    assert valid_until("compliance_cert", issued) is None  # per batch
    # The date printed on the certificate wins, earlier or later.
    assert valid_until("organic", issued, date(2024, 11, 28)) == date(2024, 11, 28)
    assert valid_until("geo_indication", issued, date(2030, 1, 1)) == date(2030, 1, 1)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2023, 11, 28), "not_yet_valid"),  # the day before issue
        (date(2023, 11, 29), "valid"),  # the issue day
        (date(2026, 11, 28), "valid"),  # the day before expiry
        (date(2026, 11, 29), "valid"),  # the expiry day itself still counts
        (date(2026, 11, 30), "expired"),  # the day after
    ],
)
def test_green_food_status_around_its_boundaries(today: date, expected: str) -> None:
    issued = date(2023, 11, 29)
    assert status("green_food", issued, None, today) == expected
    assert status("green_food", issued, valid_until("green_food", issued), today) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2027, 1, 8), "valid"),
        (date(2027, 1, 9), "valid"),
        (date(2027, 1, 10), "expired"),
    ],
)
def test_a_stated_expiry_decides(today: date, expected: str) -> None:
    assert status("organic", date(2026, 1, 10), date(2027, 1, 9), today) == expected


def test_an_expired_certificate_is_never_valid() -> None:
    issued = date(2020, 3, 1)
    # Nobody recorded the expiry: the 3-year rule still applies.
    assert status("green_food", issued, None, TODAY) == "expired"
    assert status("organic", date(2025, 11, 28), None, TODAY) == "expired"
    # An expiry before the issue date (a typo) is expired, not valid.
    assert status("organic", date(2026, 1, 10), date(2026, 1, 1), date(2026, 1, 5)) == "expired"
    for kind in ("green_food", "organic"):
        last = valid_until(kind, issued)
        assert last is not None
        for days in range(1, 800, 7):
            assert status(kind, issued, None, last + timedelta(days=days)) == "expired"
    assert status("geo_indication", date(2012, 8, 3), None, date(2100, 1, 1)) == "valid"


def test_status_labels() -> None:
    assert [status_label(s) for s in ("valid", "expired", "not_yet_valid")] == [
        "有效",
        "已过期",
        "未生效",
    ]
    assert set(STATUS_LABELS) == {"valid", "expired", "not_yet_valid"}


# --- 承诺达标合格证 ------------------------------------------------------------------------

COMPLETE = ComplianceCertificate(
    product_name="辰溪稻花鱼",
    quantity=Decimal("200"),
    unit="公斤",
    origin="湖南省怀化市辰溪县谭家场乡",
    issued_on=date(2026, 11, 28),
    committer="辰溪县谭家场稻花鱼专业合作社",
    contact="13800138000",
    basis="self_test",
    code="HG-2026-0001",
)


def test_a_complete_certificate_has_no_errors() -> None:
    assert COMPLETE.validate(today=TODAY) == {}
    assert COMPLETE.commitment == COMMITMENT
    assert COMPLIANCE_REQUIRED_SINCE == date(2026, 2, 1)
    for basis in ("self_test", "commissioned_test", "internal_control"):
        assert replace(COMPLETE, basis=basis).validate(today=TODAY) == {}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"product_name": " "}, "product_name", "请填写产品名称"),
        ({"product_name": "鱼" * 51}, "product_name", "最多 50 个字"),
        ({"quantity": ""}, "quantity", "请填写数量"),
        ({"quantity": "0"}, "quantity", "大于 0"),
        ({"quantity": -3}, "quantity", "大于 0"),
        ({"quantity": "两百"}, "quantity", "数字"),
        ({"quantity": float("nan")}, "quantity", "大于 0"),
        ({"unit": ""}, "unit", "请填写单位"),
        ({"origin": ""}, "origin", "请填写产地"),
        ({"committer": ""}, "committer", "请填写承诺主体"),
        ({"commitment": ""}, "commitment", "请填写承诺内容"),
        ({"contact": ""}, "contact", "手机号或带区号的固定电话"),
        ({"contact": "12345"}, "contact", "手机号"),
        ({"contact": "5221234"}, "contact", "手机号"),  # a landline without its area code
        ({"contact": "12800138000"}, "contact", "手机号"),  # no mobile starts 12
        ({"basis": "trust_me"}, "basis", "自行检测、委托检测或内部质量控制"),
        ({"basis": ""}, "basis", "开具依据"),
        ({"issued_on": None}, "issued_on", "请填写开具日期"),
        ({"issued_on": date(2026, 11, 30)}, "issued_on", "不能晚于今天"),
        ({"code": "合格证一号"}, "code", "字母、数字"),
    ],
)
def test_missing_or_invalid_fields(changes: dict[str, Any], field: str, message: str) -> None:
    errors = replace(COMPLETE, **changes).validate(today=TODAY)
    assert list(errors) == [field]
    assert message in errors[field]


def test_several_problems_are_reported_together() -> None:
    broken = replace(COMPLETE, quantity="0", contact="12345", basis="x", origin="")
    assert set(broken.validate(today=TODAY)) == {"quantity", "contact", "basis", "origin"}


def test_the_issue_date_is_checked_only_against_a_given_today() -> None:
    assert replace(COMPLETE, issued_on=None).validate() == {}
    assert replace(COMPLETE, issued_on=TODAY).validate(today=TODAY) == {}


@pytest.mark.parametrize(
    "contact",
    [
        "13800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "0745-5221234",
        "07455221234",
        "010-62345678",
        "(0745)5221234",
        "0745-5221234-801",
        "0745-5221234转801",
        "+86-745-5221234",
        "０７４５－５２２１２３４",
    ],
)
def test_contacts_that_reach_someone(contact: str) -> None:
    assert contact_ok(contact)


@pytest.mark.parametrize(
    "contact",
    ["", "5221234", "0745-0221234", "010-12345678", "1380013800", "138001380001", "400-123-4567"],
)
def test_contacts_that_do_not(contact: str) -> None:
    assert not contact_ok(contact)


def test_from_the_stored_details() -> None:
    details = {
        "product_name": "干红辣椒",
        "quantity": "200",
        "unit": "kg",
        "origin": "湖南省辰溪县谭家场乡",
        "committer": "谭家场辣椒专业合作社",
        "contact": "0745-5221234",
        "basis": "commissioned_test",
    }
    cert = ComplianceCertificate.from_details(details, issued_on=date(2026, 11, 1))
    assert cert.commitment == COMMITMENT and cert.code == ""
    assert cert.validate(today=TODAY) == {}
    assert set(ComplianceCertificate.from_details({}).validate()) == {
        "product_name", "quantity", "unit", "origin", "committer", "contact", "basis",
    }  # fmt: skip
