"""Batches made through the API, as a cooperative's staff would record them."""

from __future__ import annotations

from typing import Any


def create_batch(client, farm, lot: str = "TJC2026A", product: str = "fresh", **extra):  # type: ignore[no-untyped-def]
    """Record a batch of ``farm[product]`` as ``farm["staff"]`` and return its JSON."""
    body: dict[str, Any] = {
        "product_id": farm[product],
        "lot_code": lot,
        "quantity": "500",
        "unit": "kg",
        "plot_name": "谭家场 3 号地",
        "latitude": 27.9,
        "longitude": 110.2,
        "area_mu": "4.5",
        "producer": "张三",
        **extra,
    }
    response = client.post("/api/v1/batches", json=body, headers=farm["staff"])
    assert response.status_code == 201, response.text
    return response.json()
