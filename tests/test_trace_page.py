"""The public trace page behind every QR code, per-unit serials, counterfeit flags, labels."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

import zxingcpp
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from farmgate.config import settings
from farmgate.models import Role
from tests.support import factories as f
from tests.support.images import jpeg
from tests.support.labels import pdf_pages
from tests.support.trace import create_batch


def _path(batch: dict) -> str:  # type: ignore[type-arg]
    return batch["trace_url"].removeprefix(settings.public_base_url.rstrip("/"))


def _story(client, farm) -> dict:  # type: ignore[no-untyped-def, type-arg]
    batch = create_batch(client, farm, "TJC-2026/07", village_code=farm["village_code"])
    url = f"/api/v1/batches/{batch['id']}"
    client.post(
        f"{url}/inputs",
        json={
            "kind": "pesticide",
            "product_name": "苦参碱",
            "dose": "30 毫升/亩",
            "applied_on": str(date.today() - timedelta(days=20)),
            "preharvest_interval_days": 10,
        },
        headers=farm["staff"],
    )
    client.post(f"{url}/harvest", json={"harvest_date": str(date.today())}, headers=farm["staff"])
    client.post(
        f"{url}/inspections",
        json={
            "lab": "怀化市农产品质量检测中心",
            "report_no": "HH2026-0815",
            "inspected_on": str(date.today()),
            "items": [
                {"name": "毒死蜱", "result": "未检出", "limit": "≤0.02 mg/kg", "passed": True}
            ],
        },
        headers=farm["staff"],
    )
    return batch


def test_the_page_tells_the_story_and_offers_to_buy_again(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = _story(client, farm)
    assert "%2F" in batch["trace_url"]  # the lot's slash is percent-encoded in the link
    page = client.get(_path(batch))
    assert page.status_code == 200, page.text
    html = page.text
    for expected in ("鲜红辣椒", "TJC-2026/07", "苦参碱", "HH2026-0815", "未检出", "谭家场"):
        assert expected in html, expected
    assert "哈希链校验通过" in html and f'href="/products/{farm["fresh"]}"' in html
    assert "<script" not in html
    assert len(page.content) <= 50 * 1024


def test_unknown_lots_and_malformed_links_are_404(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    assert client.get(f"/01/{batch['gtin']}/10/NOPE").status_code == 404
    bad_check_digit = batch["gtin"][:-1] + str((int(batch["gtin"][-1]) + 1) % 10)
    assert client.get(f"/01/{bad_check_digit}/10/{batch['lot_code']}").status_code == 404


def test_a_broken_chain_and_a_recall_show_on_the_page(client, session: Session, farm) -> None:  # type: ignore[no-untyped-def]
    batch = _story(client, farm)
    session.execute(
        text("UPDATE trace_event SET kind = 'packing' WHERE batch_id = :b AND seq = 2"),
        {"b": batch["id"]},
    )
    session.commit()
    html = client.get(_path(batch)).text
    assert "校验未通过" in html and "第 2 条" in html
    client.post(
        f"/api/v1/batches/{batch['id']}/recall",
        json={"reason": "包装破损受潮"},
        headers=farm["admin"],
    )
    html = client.get(_path(batch)).text
    assert "该批次已召回" in html and "包装破损受潮" in html
    assert "再买一份" not in html


def test_serials_are_signed_and_copies_are_flagged(client, farm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    issued = client.post(
        f"/api/v1/batches/{batch['id']}/serials", json={"count": 3}, headers=farm["staff"]
    )
    assert issued.status_code == 201 and (issued.json()["first"], issued.json()["last"]) == (1, 3)
    more = client.post(
        f"/api/v1/batches/{batch['id']}/serials", json={"count": 2}, headers=farm["staff"]
    ).json()
    assert more["first"] == 4 and len(set(issued.json()["urls"] + more["urls"])) == 5
    theirs = client.post(
        f"/api/v1/batches/{batch['id']}/serials", json={"count": 1}, headers=farm["rival"]
    )
    assert theirs.status_code == 404

    unit = issued.json()["urls"][0].removeprefix(settings.public_base_url.rstrip("/"))
    assert client.get(unit).status_code == 200
    serial = unit.rsplit("/", 1)[1]
    forged = unit[: -len(serial)] + serial[:-1] + ("A" if serial[-1] != "A" else "B")
    response = client.get(forged)
    assert response.status_code == 404 and "假冒" in response.text

    monkeypatch.setattr(settings, "scan_alert_clients", 3)
    for _ in range(8):  # one client reloading: never "copied", however often
        assert "疑似被复制" not in client.get(unit).text
    from farmgate.db import session_scope
    from farmgate.trace import scans

    with session_scope() as session:  # two more phones in the same window: 3, not more
        for ip in ("10.0.0.2", "10.0.0.3"):
            scans.record(session, batch["id"], serial, ip)
    assert "疑似被复制" not in client.get(unit).text
    with session_scope() as session:
        scans.record(session, batch["id"], serial, "10.0.0.4")
    assert "4 台不同设备" in client.get(unit).text  # a fourth: more than the limit of 3
    lot_page = client.get(_path(batch))
    assert "疑似被复制" not in lot_page.text  # lot codes are shared by every package


def test_qr_codes_and_label_sheets_decode_to_the_trace_links(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    png = client.get(f"/api/v1/batches/{batch['id']}/qr.png", headers=farm["staff"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(BytesIO(png.content)))
    assert [d.text for d in decoded] == [batch["trace_url"]]
    svg = client.get(f"/api/v1/batches/{batch['id']}/qr.svg", headers=farm["staff"])
    assert svg.text.lstrip().startswith(("<?xml", "<svg")) and "鲜红辣椒" in svg.text
    assert (
        client.get(f"/api/v1/batches/{batch['id']}/qr.png", headers=farm["rival"]).status_code
        == 404
    )

    too_many = client.get(
        f"/api/v1/batches/{batch['id']}/labels.pdf?count=4", headers=farm["staff"]
    )
    assert too_many.status_code == 422  # no serials issued yet
    pages = client.get(
        f"/api/v1/batches/{batch['id']}/labels.pdf?count=51&columns=1&rows=1&serials=false",
        headers=farm["staff"],
    )
    assert pages.status_code == 422 and "50 页" in pages.json()["error"]["message"]
    assert pages.json()["error"]["fields"]["count"] == "每页 1 个时，一次最多 50 个"
    urls = client.post(
        f"/api/v1/batches/{batch['id']}/serials", json={"count": 6}, headers=farm["staff"]
    ).json()["urls"]
    pdf = client.get(
        f"/api/v1/batches/{batch['id']}/labels.pdf?count=6&columns=3&rows=2", headers=farm["staff"]
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    found = [d.text for _, page in pdf_pages(pdf.content) for d in zxingcpp.read_barcodes(page)]
    assert sorted(found) == sorted(urls)


def test_the_product_page_links_to_its_newest_harvested_lot(client, farm) -> None:  # type: ignore[no-untyped-def]
    assert "查看溯源" not in client.get(f"/products/{farm['fresh']}").text
    batch = _story(client, farm)
    page = client.get(f"/products/{farm['fresh']}").text
    assert f'href="{_path(batch)}"' in page
    client.post(
        f"/api/v1/batches/{batch['id']}/recall", json={"reason": "召回"}, headers=farm["staff"]
    )
    assert "查看溯源" not in client.get(f"/products/{farm['fresh']}").text


def test_the_home_page_puts_this_seasons_harvest_and_best_sellers_first(
    client, session: Session, farm
) -> None:  # type: ignore[no-untyped-def]
    from farmgate.models import Order, Sku
    from farmgate.orders import service as orders
    from tests.support.factories import ADDRESS

    home = client.get("/").text
    assert "当季新采" not in home and "乡亲们都在买" not in home
    _story(client, farm)  # harvested today
    buyer = f.auth_headers(session, f.create_account(session))
    sku = session.query(Sku).filter_by(product_id=farm["fresh"]).first()
    client.post("/api/v1/cart/items", json={"sku_id": sku.id, "quantity": 2}, headers=buyer)
    client.post("/api/v1/checkout", json=ADDRESS, headers=buyer)
    orders.mark_paid(session, session.query(Order).one())
    session.commit()
    home = client.get("/").text
    seasonal = home.split("当季新采", 1)[1].split("</section>", 1)[0]
    assert "鲜红辣椒" in seasonal and "采收" in seasonal
    sellers = home.split("乡亲们都在买", 1)[1].split("</section>", 1)[0]
    assert "鲜红辣椒" in sellers and "售出 2" in sellers
    assert "当季新采" not in client.get("/?category=aquatic").text  # only on the front page


def _committed_lot() -> int:
    """A cooperative's lot, committed (for the scan buffer's own sessions); its id."""
    from decimal import Decimal

    from farmgate.db import pk, session_scope
    from farmgate.trace import service
    from farmgate.trace.schemas import BatchIn

    with session_scope() as session:
        township = f.create_township(session)
        coop = f.create_cooperative(session, township)
        staff = f.create_account(session, role=Role.COOPERATIVE, cooperative=coop)
        product = f.create_product(session, staff, f.first_village(session, township))
        lot = BatchIn(product_id=product.id, lot_code="B1", quantity=Decimal(1), unit="kg")
        return pk(service.create_batch(session, staff, lot))


def test_buffered_scan_counts_reach_the_database(committed_db) -> None:  # type: ignore[no-untyped-def]
    from farmgate.db import session_scope
    from farmgate.models import ScanCount
    from farmgate.trace import scans

    batch_id = _committed_lot()
    with session_scope() as session:
        for ip in ("10.1.2.3", "10.1.9.9", "172.16.0.1"):
            view = scans.record(session, batch_id, "S1", ip)
        assert (view.scans, len(view.places)) == (3, 2)  # two /16 areas
    assert scans.buffer.flush() == 1
    assert scans.buffer.flush() == 0  # nothing left waiting
    with session_scope() as session:
        scans.record(session, batch_id, "S1", "192.168.1.1")
    scans.buffer.flush()
    with session_scope() as session:
        row = session.query(ScanCount).filter_by(batch_id=batch_id, serial="S1").one()
        assert row.scans == 4 and sorted(row.places) == [
            "10.1.0.0/16",
            "172.16.0.0/16",
            "192.168.0.0/16",
        ]


def test_scans_being_written_still_count(committed_db) -> None:  # type: ignore[no-untyped-def]
    """A flush waiting for a lock (SQLite's write lock, a row lock) has taken the scans out of
    the waiting buffer; a page served meanwhile still counts them."""
    import threading
    import time

    from sqlalchemy import select

    from farmgate.db import session_scope
    from farmgate.models import ScanCount
    from farmgate.trace import scans

    batch_id = _committed_lot()
    with session_scope() as session:
        scans.record(session, batch_id, "S1", "10.1.2.3")
    assert scans.buffer.flush() == 1  # the row exists: one scan stored
    with session_scope() as session:
        for ip in ("10.2.0.1", "10.3.0.1"):
            scans.record(session, batch_id, "S1", ip)
    with session_scope() as holder:  # holds the lock the flush needs until the block ends
        holder.scalars(
            select(ScanCount).where(ScanCount.batch_id == batch_id).with_for_update()
        ).one()
        flusher = threading.Thread(target=scans.buffer.flush)
        flusher.start()
        for _ in range(500):
            if scans.buffer.pending(batch_id, "S1").scans and not scans.buffer._pending:
                break  # the flush has taken the two scans and waits for the lock
            time.sleep(0.01)
        assert flusher.is_alive() and not scans.buffer._pending
        view = scans.record(holder, batch_id, "S1", "10.4.0.1")
        assert view.scans == 4 and len(view.places) == 4
    flusher.join(timeout=30)
    assert not flusher.is_alive()
    assert scans.buffer.flush() == 1  # the scan served while the lock was held
    with session_scope() as session:
        row = session.scalars(select(ScanCount).where(ScanCount.batch_id == batch_id)).one()
        assert row.scans == 4 and len(row.places) == 4
        assert scans.buffer.pending(batch_id, "S1").scans == 0


def test_batch_photos_show_on_the_page_and_only_owners_upload(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = create_batch(client, farm)
    url = f"/api/v1/batches/{batch['id']}/photos"
    files = {"file": ("plot.jpg", jpeg(), "image/jpeg")}
    assert client.post(url, files=files, headers=farm["rival"]).status_code == 404
    text_file = {"file": ("plot.jpg", b"not an image", "image/jpeg")}
    assert client.post(url, files=text_file, headers=farm["staff"]).status_code == 422
    uploaded = client.post(url, files=files, headers=farm["staff"])
    assert uploaded.status_code == 201, uploaded.text
    page = client.get(_path(batch)).text
    key = uploaded.json()["key"]
    assert f"{key}-320.webp" in page and 'loading="lazy"' in page


def test_an_inspection_report_file_is_linked_from_the_page(client, farm) -> None:  # type: ignore[no-untyped-def]
    batch = _story(client, farm)
    detail = client.get(f"/api/v1/batches/{batch['id']}", headers=farm["staff"]).json()
    inspection_id = next(e for e in detail["events"] if e["kind"] == "inspecting")["data"][
        "inspection_id"
    ]
    url = f"/api/v1/batches/{batch['id']}/inspections/{inspection_id}/report"
    pdf = {"file": ("report.pdf", b"%PDF-1.4\n% sample report\n%%EOF\n", "application/pdf")}
    assert client.post(url, files=pdf, headers=farm["rival"]).status_code == 404
    junk = {"file": ("report.pdf", b"MZ not a report", "application/pdf")}
    assert client.post(url, files=junk, headers=farm["staff"]).status_code == 422
    stored = client.post(url, files=pdf, headers=farm["staff"])
    assert stored.status_code == 200 and stored.json()["report_file"].endswith(".pdf")
    page = client.get(_path(batch)).text
    assert "查看报告" in page and stored.json()["report_file"] in page
