"""Certification codes, validity (never showing an expired one as valid), 承诺达标合格证."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy.orm import Session

from farmgate.models import Role
from farmgate.trace import cert_codes
from farmgate.trace.cert_codes import CertificateInvalid, status, valid_until, validate_code
from tests import factories as f
from tests.test_trace import _batch

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("kind", "code", "normalised"),
    [
        ("green_food", "gf 431223 24 0017", "GF431223240017"),
        ("organic", "12345678901234567", "12345678901234567"),
        ("geo_indication", "agi02871", "AGI02871"),
    ],
)
def test_valid_codes_are_normalised(kind: str, code: str, normalised: str) -> None:
    assert validate_code(kind, code, today=TODAY) == normalised


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("green_food", "GB431223240017"),  # wrong prefix
        ("green_food", "GF43122324001"),  # 11 digits
        ("green_food", "GF991223240017"),  # no province 99
        ("green_food", "GF431223480017"),  # approved in 2048
        ("green_food", "GF4312232400A7"),
        ("organic", "1234567890123456"),
        ("organic", "1234567890123456X"),
        ("geo_indication", "AGI1234"),
        ("compliance_cert", "合格证"),
        ("halal", "X"),
    ],
)
def test_malformed_codes_are_refused(kind: str, code: str) -> None:
    with pytest.raises(CertificateInvalid):
        validate_code(kind, code, today=TODAY)


def test_validity_windows_and_the_expiry_boundary() -> None:
    issued = date(2023, 11, 29)
    until = valid_until("green_food", issued)
    assert until == date(2026, 11, 29)
    assert status(issued, until, until - timedelta(days=1)) == "valid"
    assert status(issued, until, until) == "valid"  # the last day still counts
    assert status(issued, until, until + timedelta(days=1)) == "expired"
    assert status(issued, until, issued - timedelta(days=1)) == "not_yet_valid"
    assert valid_until("organic", date(2024, 2, 29)) == date(2025, 2, 28)
    assert valid_until("organic", issued, date(2024, 6, 1)) == date(2024, 6, 1)
    assert valid_until("geo_indication", issued) is None


def test_compliance_certificate_fields() -> None:
    complete = {
        "product_name": "干红辣椒",
        "quantity": "200",
        "unit": "kg",
        "origin": "湖南省辰溪县谭家场乡",
        "committer": "谭家场辣椒专业合作社",
        "contact": "0745-5221234",
        "basis": "self_test",
    }
    assert cert_codes.compliance_errors(complete) == {}
    broken = {**complete, "quantity": "0", "contact": "12345", "basis": "trust_me", "origin": ""}
    assert set(cert_codes.compliance_errors(broken)) == {"quantity", "contact", "basis", "origin"}


@pytest.fixture
def farm(session: Session):  # type: ignore[no-untyped-def]
    township = f.create_township(session)
    coop = f.create_cooperative(session, township)
    staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
    product = f.create_product(session, staff, f.first_village(session, township))
    return {"staff": f.auth_headers(session, staff), "fresh": product.id}


def test_the_page_shows_expired_certificates_as_expired(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = _batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}/certifications"
    old = client.post(
        url,
        json={
            "kind": "green_food",
            "code": "GF431223200017",
            "issued_on": "2020-03-01",
            "scope": "product",
        },
        headers=farm["staff"],
    )
    assert old.status_code == 201, old.text
    assert (old.json()["status"], old.json()["status_label"]) == ("expired", "已过期")
    current = client.post(
        url,
        json={"kind": "geo_indication", "code": "AGI02871", "issued_on": "2019-01-01"},
        headers=farm["staff"],
    ).json()
    assert current["status"] == "valid"
    bad = client.post(
        url,
        json={"kind": "compliance_cert", "issued_on": str(date.today()), "details": {}},
        headers=farm["staff"],
    )
    assert bad.status_code == 422 and "basis" in bad.json()["error"]["fields"]
    wrong = client.post(
        url,
        json={"kind": "organic", "code": "123", "issued_on": "2026-01-01"},
        headers=farm["staff"],
    )
    assert wrong.status_code == 422 and "17" in wrong.json()["error"]["message"]
    page = client.get(urlsplit(batch["trace_url"]).path).text
    expired_item = page.split("GF431223200017", 1)[1].split("</li>", 1)[0]
    assert "已过期" in expired_item and "有效" not in expired_item.replace("有效期", "")
