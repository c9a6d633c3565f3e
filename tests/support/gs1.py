"""One lot's story recorded through the API, for the GS1 (EPCIS, Digital Link) tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.support.trace import create_batch

VILLAGE = "431223100201"  # a 12-digit statistical code of a village


def lot_story(client, farm) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two harvested lots of ``farm``: inspected, certified, packed, one corrected, both
    dried into a third lot. Returns the three batches' JSON."""
    h = farm["staff"]
    today = date.today()
    a = create_batch(client, farm, "GS1-A", village_code=VILLAGE)
    b = create_batch(client, farm, "GS1-B", village_code=VILLAGE)
    for batch in (a, b):
        url = f"/api/v1/batches/{batch['id']}"
        response = client.post(f"{url}/harvest", json={"harvest_date": str(today)}, headers=h)
        assert response.status_code == 201, response.text
    url = f"/api/v1/batches/{a['id']}"
    inspected = client.post(
        f"{url}/inspections",
        json={
            "lab": "怀化市检测中心",
            "report_no": "R-7",
            "inspected_on": str(today - timedelta(days=1)),
            "items": [{"name": "毒死蜱", "result": "未检出", "passed": True}],
        },
        headers=h,
    )
    assert inspected.status_code == 201, inspected.text
    certified = client.post(
        f"{url}/certifications",
        json={
            "kind": "green_food",
            "code": "GF431223260001",
            "issuer": "中国绿色食品发展中心",
            "issued_on": str(today - timedelta(days=40)),
        },
        headers=h,
    )
    assert certified.status_code == 201, certified.text
    client.post(f"{url}/events", json={"step": "packing", "place": "谭家场村服务站"}, headers=h)
    client.post(
        f"{url}/corrections",
        json={"seq": 1, "note": "数量有误", "corrected": {"quantity": "480"}},
        headers=h,
    )
    merged = client.post(
        "/api/v1/transformations",
        json={
            "inputs": [
                {"batch_id": a["id"], "quantity": "100", "unit": "kg"},
                {"batch_id": b["id"], "quantity": "50", "unit": "kg"},
            ],
            "output": {
                "product_id": farm["dried"],
                "lot_code": "GS1-DRY",
                "quantity": "30",
                "unit": "kg",
            },
            "process": "晒干",
        },
        headers=h,
    )
    assert merged.status_code == 201, merged.text
    return {"a": a, "b": b, "merged": merged.json()}
