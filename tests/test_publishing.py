"""Only an approved cooperative publishes: trace pages, unit codes, labels, EPCIS (issue 15.2)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from farmgate.cooperatives.service import can_publish
from farmgate.models import Cooperative, CooperativeStatus
from tests.support.trace import create_batch


def _set_status(session: Session, coop: Cooperative, status: CooperativeStatus) -> None:
    coop.status = status
    session.add(coop)
    session.flush()


def test_only_an_approved_cooperative_can_publish() -> None:
    assert can_publish(Cooperative(status=CooperativeStatus.APPROVED))
    assert not can_publish(Cooperative(status=CooperativeStatus.PENDING))
    assert not can_publish(Cooperative(status=CooperativeStatus.SUSPENDED))
    assert not can_publish(None)


@pytest.mark.parametrize(
    ("status", "why"),
    [(CooperativeStatus.PENDING, "尚未通过"), (CooperativeStatus.SUSPENDED, "暂停")],
)
def test_an_unvetted_cooperative_publishes_nothing(  # type: ignore[no-untyped-def]
    client, session: Session, farm, status: CooperativeStatus, why: str
) -> None:
    # Prepared while approved, so codes exist; then the township suspends (or it is pending).
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}"
    issued = client.post(f"{url}/serials", json={"count": 2}, headers=farm["staff"])
    assert issued.status_code == 201
    page_path = batch["trace_url"].split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{page_path}").status_code == 200
    unit_path = issued.json()["urls"][0].split("://", 1)[1].split("/", 1)[1]

    _set_status(session, farm["coop"], status)

    for path in (f"/{page_path}", f"/{unit_path}"):
        page = client.get(path)
        assert page.status_code == 404
        assert why in page.text and "追溯信息暂不公开" in page.text
        assert batch["lot_code"] not in page.text.split("<main", 1)[-1]  # no lot data shown
        assert farm["coop"].name not in page.text

    more = client.post(f"{url}/serials", json={"count": 1}, headers=farm["staff"])
    assert more.status_code == 403
    assert more.json()["error"]["code"] == "cooperative_not_approved"
    for path in ("qr.png", "qr.svg", "labels.pdf?count=1", "epcis"):
        refused = client.get(f"{url}/{path}", headers=farm["staff"])
        assert refused.status_code == 403, path
        assert "审核" in refused.json()["error"]["message"]
    ranged = client.get(
        "/api/v1/epcis", params={"since": "2020-01-01T00:00:00+08:00"}, headers=farm["staff"]
    )
    assert ranged.status_code == 403
    # Preparing data is still allowed.
    assert client.get(url, headers=farm["staff"]).status_code == 200

    _set_status(session, farm["coop"], CooperativeStatus.APPROVED)
    assert client.get(f"/{page_path}").status_code == 200
