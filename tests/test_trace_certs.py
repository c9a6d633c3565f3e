"""Certifications through the app: codes checked, 承诺达标合格证 complete, expired shown as
expired on the trace page. The code and date rules themselves are in test_certificates.py."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from tests.support.trace import create_batch


def test_the_page_shows_expired_certificates_as_expired(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
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


def test_a_lot_without_its_compliance_certificate_says_so(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    client.post(
        f"/api/v1/batches/{batch['id']}/harvest",
        json={"harvest_date": str(date.today())},
        headers=farm["staff"],
    )
    path = urlsplit(batch["trace_url"]).path
    assert "未登记承诺达标合格证" in client.get(path).text
    issued = client.post(
        f"/api/v1/batches/{batch['id']}/certifications",
        json={
            "kind": "compliance_cert",
            "issued_on": str(date.today()),
            "details": {
                "product_name": "干红辣椒",
                "quantity": "100",
                "unit": "kg",
                "origin": "湖南省辰溪县谭家场乡",
                "committer": "示例合作社",
                "contact": "13912345678",
                "basis": "self_test",
            },
        },
        headers=farm["staff"],
    )
    assert issued.status_code == 201, issued.text
    page = client.get(path).text
    assert "未登记承诺达标合格证" not in page and "承诺达标合格证" in page and "自行检测" in page
