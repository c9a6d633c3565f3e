"""A lot with every kind of fact its trace page shows, made through the API (issue 19)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from farmgate.config import settings
from farmgate.story import views
from tests.support.trace import create_batch

COMPLIANCE_DETAILS: dict[str, Any] = {
    "product_name": "鲜红辣椒",
    "quantity": "500",
    "unit": "公斤",
    "origin": "谭家场乡谭家场村",
    "committer": "示例合作社",
    "contact": "13800138000",
    "bases": ["commissioned_test", "self_commitment"],
}


def trace_path(batch: dict[str, Any]) -> str:
    return str(batch["trace_url"]).removeprefix(settings.public_base_url.rstrip("/"))


def page(client: Any, batch: dict[str, Any]) -> str:
    """The public page, freshly built (the story cache would hide a database edit for 10 s)."""
    views.clear_cache()
    response = client.get(trace_path(batch))
    assert response.status_code == 200, response.text
    return str(response.text)


def full_lot(client: Any, farm: dict[str, Any], lot: str = "FACTS-1") -> dict[str, Any]:
    """Input, harvest, inspection, a 合格证 and a product's green food licence, all logged."""
    batch = create_batch(client, farm, lot, village_code=farm["village_code"])
    url = f"/api/v1/batches/{batch['id']}"
    today = date.today()
    done = client.post(
        f"{url}/inputs",
        json={
            "kind": "pesticide",
            "product_name": "苦参碱",
            "dose": "30 毫升/亩",
            "applied_on": str(today - timedelta(days=20)),
            "preharvest_interval_days": 10,
        },
        headers=farm["staff"],
    )
    assert done.status_code == 201, done.text
    done = client.post(f"{url}/harvest", json={"harvest_date": str(today)}, headers=farm["staff"])
    assert done.status_code == 201, done.text
    done = client.post(
        f"{url}/inspections",
        json={
            "lab": "怀化市农产品质量检测中心",
            "report_no": "HH2026-0901",
            "inspected_on": str(today),
            "items": [{"name": "毒死蜱", "result": "0.5 mg/kg", "limit": "≤0.02", "passed": False}],
        },
        headers=farm["staff"],
    )
    assert done.status_code == 201, done.text
    done = client.post(
        f"{url}/certifications",
        json={
            "kind": "compliance_cert",
            "code": "HGZ-0901",
            "issued_on": str(today),
            "scope": "batch",
            "details": COMPLIANCE_DETAILS,
        },
        headers=farm["staff"],
    )
    assert done.status_code == 201, done.text
    return dict(batch)
