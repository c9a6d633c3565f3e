"""What the transparency-log tests share: a lot with a story recorded through the API, the
app served by uvicorn on a free port (for verifiers in other processes), and RFC 9162's MTH
computed the long way."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from farmgate.simulation import LocalServer
from tests.support.trace import create_batch


def record_lot(client, farm, lot: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A batch with a harvest, an inspection and two steps: four trace events."""
    staff = farm["staff"]
    batch = create_batch(client, farm, lot=lot)
    url = f"/api/v1/batches/{batch['id']}"
    done = client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=staff)
    assert done.status_code == 201, done.text
    inspection = {
        "lab": "怀化市农产品质量检测中心",
        "report_no": f"HH-{lot}",
        "inspected_on": str(date.today()),
        "items": [{"name": "毒死蜱", "result": "未检出", "limit": "≤0.02 mg/kg", "passed": True}],
    }
    assert client.post(f"{url}/inspections", json=inspection, headers=staff).status_code == 201
    for step in ("packing", "storing"):
        assert client.post(f"{url}/events", json={"step": step}, headers=staff).status_code == 201
    return dict(batch)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 as written (the leaves' data, not their hashes)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


class AppServer(LocalServer):
    """The whole farmgate app on 127.0.0.1 (the database is whatever farmgate.db points at)."""

    name = "farmgate-app"

    def __init__(self) -> None:
        from farmgate.app import create_app

        super().__init__()
        self._serve(create_app(check_schema=False, run_jobs=False))
